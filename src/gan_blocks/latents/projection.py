"""Projection of real images into a StyleGAN2's W space (NVlabs' `projector.py`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.backend import value_and_gradients
from gan_blocks.validation import check_int, check_number

# NVlabs' stylegan2-ada-pytorch `projector.py` schedule.
INITIAL_NOISE_FACTOR = 0.05
NOISE_RAMP_LENGTH = 0.75
LR_RAMPDOWN_LENGTH = 0.25
LR_RAMPUP_LENGTH = 0.05
# Images may overshoot the generator's [-1, 1] a little, no more.
_RANGE_LIMIT = 1.5
# Batch of z mapped at once when estimating w_std.
_MAPPING_BATCH = 1000


def project(
    model: Any,
    images: Any,
    steps: int = 1000,
    feature_extractor: Callable[[Any], Any] | None = None,
    w_plus: bool = False,
    learning_rate: float = 0.1,
    noise_regularization: float = 1e5,
    pixel_weight: float = 1.0,
    seed: int = 0,
    verbose: bool = False,
    w_samples: int = 10000,
    batch_size: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Finds the W that makes a trained StyleGAN2 reproduce each image.

    Follows NVlabs' stylegan2-ada-pytorch `projector.py`: w starts at the W
    average the model tracked in training (`MappingNetwork.w_average` of the
    EMA generator when it has one), and Adam (betas 0.9, 0.999) optimises it
    for `steps` steps, with NVlabs' schedule:

    - **Learning rate**: `learning_rate` ramped up linearly over the first 5%
      of the steps and down with a cosine over the last 25%.
    - **Noise on w**: each step adds Gaussian noise of standard deviation
      `w_std * 0.05 * max(0, 1 - t / 0.75) ** 2` (`t`: the fraction of the
      steps done) to w before synthesis, so the search starts broad. `w_std`
      is the spread of W around the average, `sqrt(sum((w - w_avg)^2) / N)`
      over `w_samples` mapped random z.
    - **Noise images**: the synthesis network runs with its
      `gb.layers.NoiseInjection` layers in noise mode `"const"`, and their
      `const_noise` images are optimised too, from standard-normal draws,
      regularised towards white noise (`noise_regularization` times the
      sum, over every noise image and its 2x downsamplings down to 8x8, of
      the squared mean products of the image with itself shifted by one
      pixel, horizontally and vertically), and renormalised to zero mean and
      unit variance after each step. The images of one batch share them
      (the layer has one noise image for all samples): `batch_size=1`, the
      default, gives each image its own, as NVlabs.

    The distance to the target is `pixel_weight` times the mean squared
    pixel error plus the mean squared distance of the images' features. NVlabs
    uses LPIPS (VGG16 features), which gan-blocks does not ship: the features
    are those of `feature_extractor` when given (any Keras model or callable
    from a batch of images to feature vectors, which must treat the images
    of a batch independently), else the model's own discriminator minus its
    logit: the output of its layer `"b4_fc"` (as `gb.architectures.stylegan2_discriminator`
    builds), computed one image at a time so its minibatch standard
    deviation does not mix the images. A discriminator without a layer
    `"b4_fc"` (or one that is not a functional model) gives no features:
    the distance is then the pixel error alone. A discriminator is a weak
    perceptual metric, and an untrained one none: with a well-matched
    generator, `pixel_weight` carries most of the fit.

    The model is left as it was: its weights, noise images and noise modes
    are restored when `project` returns (or raises).

    Args:
        model: A `gb.models.StyleGAN2` (trained, for meaningful results).
        images: Real images `(n, *model.image_shape)` scaled like the
            generator's output, in [-1, 1] (values beyond [-1.5, 1.5] are
            refused).
        steps: Optimisation steps per batch (NVlabs: 1000).
        feature_extractor: Callable mapping images `(batch, *image_shape)`
            to features `(batch, ...)`; `None`: the discriminator's `"b4_fc"`
            features (see above).
        w_plus: Optimise one w per style row (W+, `(num_ws, w_dim)` per
            image) instead of one w broadcast to every row (W).
        learning_rate: Peak learning rate of Adam (NVlabs: 0.1).
        noise_regularization: Weight of the noise images' regularisation
            (NVlabs: 1e5).
        pixel_weight: Weight of the mean squared pixel error (>= 0).
        seed: Seed of the z samples, the initial noise images and the noise
            added to w (numpy draws: the same on every backend).
        verbose: Print the distance and loss every tenth of the steps.
        w_samples: Number of random z mapped to estimate `w_std` (NVlabs:
            10000).
        batch_size: Images projected together (they share the optimised
            noise images); 1 projects each image on its own.

    Returns:
        `(latents, reconstructions)`, numpy float32. `latents` has shape
        `(n, num_ws, w_dim)`, in W+ form even when `w_plus=False` (then
        every row of an image is the same w), ready for
        `model.synthesize(latents, noise_mode="const")`. `reconstructions`
        has shape `(n, *image_shape)`: the synthesis network's images of
        `latents` in noise mode `"const"` with the noise images optimised
        for each image's batch. Those noise images are not kept:
        synthesising `latents` afterwards uses the model's own `const_noise`
        (or random noise), which gives the same images only where the noise
        strengths are zero.

    Raises:
        TypeError: `model` is not a `gb.models.StyleGAN2`.
        ValueError: `images` of the wrong rank or shape, non-finite, or
            outside [-1.5, 1.5]; `steps` < 1; a distance with nothing to
            measure (`pixel_weight=0` without features).

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> generator = gb.architectures.stylegan2_generator(8, channels=1, preset="tiny")
    >>> discriminator = gb.architectures.stylegan2_discriminator(8, channels=1, preset="tiny")
    >>> model = gb.models.StyleGAN2(generator, discriminator, seed=0)
    >>> images = np.zeros((2, 8, 8, 1), "float32")
    >>> latents, reconstructions = gb.latents.project(model, images, steps=2, w_samples=64)
    >>> latents.shape, reconstructions.shape
    ((2, 4, 32), (2, 8, 8, 1))

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020 (section 5, projection of images to latent
        space); NVlabs, stylegan2-ada-pytorch, `projector.py`.
    """
    from gan_blocks.models.stylegan2 import StyleGAN2, noise_mode_of

    if not isinstance(model, StyleGAN2):
        raise TypeError(
            "gb.latents.project projects images into the W space of a gb.models.StyleGAN2 "
            "(a mapping network to W and a synthesis network, e.g. built from "
            "gb.architectures.stylegan2_generator). Received a model of type "
            f"{type(model).__name__}."
        )
    images = _check_images(images, tuple(model.image_shape))
    steps = check_int("steps", steps, minimum=1)
    w_samples = check_int("w_samples", w_samples, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    learning_rate = check_number("learning_rate", learning_rate, minimum=0.0, exclusive=True)
    noise_regularization = check_number("noise_regularization", noise_regularization, minimum=0.0)
    pixel_weight = check_number("pixel_weight", pixel_weight, minimum=0.0)
    if feature_extractor is not None and not callable(feature_extractor):
        raise TypeError(
            "`feature_extractor` must be a callable (e.g. a keras.Model) from images to "
            f"features, or None. Received: feature_extractor={feature_extractor!r}"
        )

    per_image = False
    if feature_extractor is None:
        feature_extractor = _discriminator_features(model.discriminator)
        per_image = True
    if feature_extractor is None and pixel_weight == 0.0:
        raise ValueError(
            "`pixel_weight=0` leaves nothing to match: the discriminator has no layer "
            '"b4_fc" to take features from and no `feature_extractor` was given.'
        )

    rng = np.random.default_rng(seed)
    mapping = model.mapping_network(use_ema=True)
    synthesis = model.synthesis_network(use_ema=True)
    w_average = np.asarray(ops.convert_to_numpy(mapping.w_average), "float64")
    w_std = _w_std(mapping, w_average, model.latent_dim, w_samples, rng)
    num_ws = int(synthesis.inputs[0].shape[1])
    noise_variables = [layer.const_noise for layer in _noise_layers(synthesis)]
    saved = [np.array(ops.convert_to_numpy(variable.value)) for variable in noise_variables]

    def features(x: Any) -> Any:
        if per_image:
            x = ops.concatenate(
                [feature_extractor(x[i : i + 1]) for i in range(x.shape[0])], axis=0
            )
        else:
            x = feature_extractor(x)
        x = ops.cast(x, "float32")
        return ops.reshape(x, (ops.shape(x)[0], -1))

    settings = {
        "steps": steps,
        "w_plus": w_plus,
        "learning_rate": learning_rate,
        "noise_regularization": noise_regularization,
        "pixel_weight": pixel_weight,
        "verbose": verbose,
        "num_ws": num_ws,
        "w_std": w_std,
    }
    latents, reconstructions = [], []
    try:
        with noise_mode_of(synthesis, "const"):
            for start in range(0, len(images), batch_size):
                w, reconstruction, _ = _project_batch(
                    synthesis,
                    None if feature_extractor is None else features,
                    images[start : start + batch_size],
                    w_average,
                    noise_variables,
                    rng,
                    settings,
                )
                latents.append(w)
                reconstructions.append(reconstruction)
    finally:
        for variable, value in zip(noise_variables, saved):
            variable.assign(value)
    return np.concatenate(latents), np.concatenate(reconstructions)


def _discriminator_features(discriminator: Any) -> keras.Model | None:
    """The discriminator up to its layer `"b4_fc"`, or `None` where it has none.

    Args:
        discriminator: A functional discriminator such as
            `gb.architectures.stylegan2_discriminator` builds.

    Returns:
        A `keras.Model` from the discriminator's inputs to that layer's
        output, or `None` when the discriminator has no such layer or is not
        a functional model.
    """
    try:
        layer = discriminator.get_layer("b4_fc")
        return keras.Model(discriminator.inputs, layer.output)
    except (ValueError, AttributeError, TypeError):
        return None


def _noise_layers(network: Any) -> list:
    from gan_blocks.models.stylegan2 import _noise_layers

    return _noise_layers(network)


def _check_images(images: Any, image_shape: tuple) -> np.ndarray:
    try:
        images = np.asarray(ops.convert_to_numpy(images))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`images` must be an array of shape (n, {', '.join(map(str, image_shape))}). "
            f"It could not be converted: {error}"
        ) from None
    expected = f"(n, {', '.join(map(str, image_shape))})"
    if images.ndim != len(image_shape) + 1 or tuple(images.shape[1:]) != image_shape:
        hint = " For one image, pass `images[None]`." if images.shape == image_shape else ""
        raise ValueError(
            f"`images` must have shape {expected}, the model's image shape with a leading "
            f"batch axis. Received an array of shape {images.shape}.{hint}"
        )
    if len(images) == 0:
        raise ValueError(f"`images` is empty: shape {images.shape}. Pass at least one image.")
    if images.dtype.kind not in "iuf":
        raise ValueError(
            f"`images` must hold numbers scaled to [-1, 1]. Received dtype {images.dtype}."
        )
    images = images.astype("float32")
    if not np.isfinite(images).all():
        raise ValueError(
            "`images` contain NaN or infinite values; replace them (e.g. with np.nan_to_num)."
        )
    low, high = float(images.min()), float(images.max())
    if low < -_RANGE_LIMIT or high > _RANGE_LIMIT:
        raise ValueError(
            f"`images` must be scaled like the generator's output, to [-1, 1]. Received "
            f"values in [{low:.4g}, {high:.4g}]. Scale uint8 pixels with "
            "gb.data.to_tanh_range (images / 127.5 - 1)."
        )
    return images


def _w_std(mapping: Any, w_average: np.ndarray, latent_dim: int, count: int, rng: Any) -> float:
    """`sqrt(sum((w - w_avg)^2) / N)` over `count` mapped standard-normal z (NVlabs)."""
    total = 0.0
    for start in range(0, count, _MAPPING_BATCH):
        size = min(_MAPPING_BATCH, count - start)
        z = rng.standard_normal((size, latent_dim)).astype("float32")
        ws = np.asarray(ops.convert_to_numpy(mapping(z, training=False)), "float64")
        w = ws[:, 0] if ws.ndim == 3 else ws
        total += float(np.sum(np.square(w - w_average)))
    return math.sqrt(total / count)


def _learning_rate_ramp(t: float) -> float:
    """NVlabs' learning-rate factor at `t` (fraction of the steps done, in [0, 1))."""
    ramp = min(1.0, (1.0 - t) / LR_RAMPDOWN_LENGTH)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return ramp * min(1.0, t / LR_RAMPUP_LENGTH)


def _noise_regularization(noise_images: list) -> Any:
    """Sum of squared one-pixel autocorrelations of each noise image and its downsamplings.

    NVlabs' `reg_loss`: for each `(height, width, 1)` image, the squared
    mean of the image times itself rolled by one pixel, horizontally and
    vertically; then the image is average-pooled by 2 and the same is added,
    down to 8x8 (an image of 8x8 or less counts once).
    """
    total = ops.convert_to_tensor(0.0)
    for noise in noise_images:
        noise = ops.cast(noise, "float32")
        while True:
            total = total + ops.square(ops.mean(noise * ops.roll(noise, 1, axis=1)))
            total = total + ops.square(ops.mean(noise * ops.roll(noise, 1, axis=0)))
            height, width = noise.shape[0], noise.shape[1]
            if height <= 8 or height % 2 or width % 2:
                break
            noise = ops.reshape(noise, (height // 2, 2, width // 2, 2))
            noise = ops.reshape(ops.mean(noise, axis=(1, 3)), (height // 2, width // 2, 1))
    return total


def _project_batch(
    synthesis: Any,
    features: Callable[[Any], Any] | None,
    targets: np.ndarray,
    w_average: np.ndarray,
    noise_variables: list,
    rng: Any,
    settings: dict,
) -> tuple[np.ndarray, np.ndarray, list]:
    """Projects one batch; returns `(latents, reconstructions, noise images)` as numpy.

    Writes the optimised noise images into `noise_variables` (the caller
    restores them).
    """
    count, w_dim, num_ws = len(targets), w_average.shape[-1], settings["num_ws"]
    rows = num_ws if settings["w_plus"] else 1
    start = np.broadcast_to(w_average.astype("float32"), (count, rows, w_dim))
    w = keras.Variable(np.array(start), name="projected_w")
    noises = [
        keras.Variable(
            rng.standard_normal(tuple(variable.shape)).astype("float32"), name="projected_noise"
        )
        for variable in noise_variables
    ]
    optimizer = keras.optimizers.Adam(
        learning_rate=settings["learning_rate"], beta_1=0.9, beta_2=0.999, epsilon=1e-8
    )
    target_tensor = ops.convert_to_tensor(targets)
    target_features = None if features is None else features(target_tensor)
    pixel_weight = settings["pixel_weight"]
    regularization = settings["noise_regularization"]
    steps = settings["steps"]

    def synthesise(w_value: Any) -> Any:
        ws = ops.broadcast_to(w_value, (count, num_ws, w_dim))
        return ops.cast(synthesis(ws, training=False), "float32")

    def distance_of(w_value: Any) -> Any:
        """Sum over the images of their distances to the targets."""
        images = synthesise(w_value)
        axes = tuple(range(1, len(images.shape)))
        distance = pixel_weight * ops.mean(ops.square(images - target_tensor), axis=axes)
        if features is not None:
            distance = distance + ops.mean(ops.square(features(images) - target_features), axis=1)
        return ops.sum(distance)

    for step in range(steps):
        t = step / steps
        w_noise_scale = (
            settings["w_std"] * INITIAL_NOISE_FACTOR * max(0.0, 1.0 - t / NOISE_RAMP_LENGTH) ** 2
        )
        optimizer.learning_rate = settings["learning_rate"] * _learning_rate_ramp(t)
        w_noise = (rng.standard_normal(start.shape) * w_noise_scale).astype("float32")
        for variable, noise in zip(noise_variables, noises):
            variable.assign(noise.value)

        def loss_fn(w_noise: np.ndarray = w_noise) -> Any:
            distance = distance_of(w + w_noise)
            return distance + regularization * _noise_regularization(noise_variables)

        loss, gradients = value_and_gradients(loss_fn, [w, *noise_variables])
        optimizer.apply(gradients, [w, *noises])
        for noise in noises:
            value = noise.value - ops.mean(noise.value)
            noise.assign(value * ops.rsqrt(ops.mean(ops.square(value))))
        if settings["verbose"] and ((step + 1) % max(1, steps // 10) == 0 or step + 1 == steps):
            for variable, noise in zip(noise_variables, noises):
                variable.assign(noise.value)
            distance = float(ops.convert_to_numpy(distance_of(w.value)))
            print(
                f"step {step + 1:>{len(str(steps))}}/{steps}: loss "
                f"{float(ops.convert_to_numpy(loss)):.4g}, distance after the step {distance:.4g}"
            )

    for variable, noise in zip(noise_variables, noises):
        variable.assign(noise.value)
    latents = np.array(ops.convert_to_numpy(ops.broadcast_to(w.value, (count, num_ws, w_dim))))
    reconstructions = np.array(ops.convert_to_numpy(synthesise(w.value)))
    noise_images = [np.array(ops.convert_to_numpy(noise.value)) for noise in noises]
    return latents.astype("float32"), reconstructions.astype("float32"), noise_images
