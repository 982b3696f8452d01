"""Projection of real images into a StyleGAN2's W space (NVlabs' `projector.py`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.backend import compiled_value_and_gradients
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
    labels: Any = None,
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

    **Class-conditional models.** A `gb.models.ConditionalStyleGAN2` needs
    `labels`, the class of each image, and each image starts from the mean W
    of its class instead of the tracked W average: `w_samples` random z are
    mapped with the class (the same z for every class, so an image's start
    does not depend on the classes of the others), w starts at their mean,
    and `w_std` is their spread around it (the formula above). Only the
    classes present in `labels` are sampled; a batch may mix classes. This
    step is not in NVlabs' projector, which is unconditional: the class
    embedding moves each class's W cloud away from the average over all
    classes, so the global average would start the search off the class
    and scale the noise on w by a spread that mixes the classes.

    The distance to the target is `pixel_weight` times the mean squared
    pixel error plus the mean squared distance of the images' features. NVlabs
    uses LPIPS (VGG16 features), which gan-blocks does not ship: the features
    are those of `feature_extractor` when given (any Keras model or callable
    from a batch of images to feature vectors, which must treat the images
    of a batch independently), else the model's own discriminator minus its
    logit: the output of its layer `"b4_fc"` (as `gb.architectures.stylegan2_discriminator`
    builds), computed one image at a time so its minibatch standard
    deviation does not mix the images. Of a conditional discriminator
    (`[images, labels]` -> logits), the features come from the images alone
    where `"b4_fc"` does not depend on the labels (as in
    `stylegan2_discriminator(..., num_classes=K)`, whose labels enter only
    at its projection head), else each image's label is fed with it. A
    `feature_extractor` of your own gets the images only. A discriminator
    without a layer `"b4_fc"` (or one that is not a functional model) gives
    no features: the distance is then the pixel error alone. A discriminator
    is a weak perceptual metric, and an untrained one none: with a
    well-matched generator, `pixel_weight` carries most of the fit.

    The model is left as it was: its weights, noise images and noise modes
    are restored when `project` returns (or raises).

    Args:
        model: A `gb.models.StyleGAN2` or `gb.models.ConditionalStyleGAN2`
            (trained, for meaningful results).
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
            10000), and, for a conditional model, each class's mean W.
        batch_size: Images projected together (they share the optimised
            noise images); 1 projects each image on its own.
        labels: The class of each image, for a `ConditionalStyleGAN2`
            (required there, and must be `None` for a `StyleGAN2`): integer
            ids in `[0, num_classes)` of shape `(n,)` or `(n, 1)` (floats
            holding integers too), or one-hot rows `(n, num_classes)`.

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
        TypeError: `model` is not a `gb.models.StyleGAN2` or
            `gb.models.ConditionalStyleGAN2`.
        ValueError: `images` of the wrong rank or shape, non-finite, or
            outside [-1.5, 1.5]; `steps` < 1; a distance with nothing to
            measure (`pixel_weight=0` without features); `labels` missing
            for a conditional model, given for an unconditional one, not
            one per image, of another shape, or not classes of the model.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> generator = gb.architectures.stylegan2_generator(8, channels=1, preset="tiny")
    >>> discriminator = gb.architectures.stylegan2_discriminator(8, channels=1, preset="tiny")
    >>> model = gb.models.StyleGAN2(generator, discriminator, seed=0)
    >>> images = np.zeros((2, 8, 8, 1), "float32")
    >>> latents, reconstructions = gb.latents.project(model, images, steps=2, w_samples=64)
    >>> latents.shape, reconstructions.shape
    ((2, 4, 32), (2, 8, 8, 1))

    A class-conditional model takes the class of each image:

    >>> generator = gb.architectures.stylegan2_generator(8, 1, preset="tiny", num_classes=3)
    >>> discriminator = gb.architectures.stylegan2_discriminator(8, 1, preset="tiny", num_classes=3)
    >>> model = gb.models.ConditionalStyleGAN2(generator, discriminator, seed=0)
    >>> latents, _ = gb.latents.project(model, images, steps=2, w_samples=64, labels=[0, 2])
    >>> latents.shape
    (2, 4, 32)

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020 (section 5, projection of images to latent
        space); NVlabs, stylegan2-ada-pytorch, `projector.py`.
    """
    from gan_blocks.models.stylegan2 import ConditionalStyleGAN2, StyleGAN2, noise_mode_of

    conditional = isinstance(model, ConditionalStyleGAN2)
    if not (conditional or isinstance(model, StyleGAN2)):
        raise TypeError(
            "gb.latents.project projects images into the W space of a gb.models.StyleGAN2 "
            "or gb.models.ConditionalStyleGAN2 (a mapping network to W and a synthesis "
            "network, e.g. built from gb.architectures.stylegan2_generator). Received a "
            f"model of type {type(model).__name__}."
        )
    images = _check_images(images, tuple(model.image_shape))
    class_ids = _check_labels(model, labels, len(images), conditional)
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
    # The discriminator's features of a conditional model may need the labels.
    feeds_labels = conditional and per_image and len(getattr(feature_extractor, "inputs", ())) > 1

    rng = np.random.default_rng(seed)
    mapping = model.mapping_network(use_ema=True)
    synthesis = model.synthesis_network(use_ema=True)
    if conditional:
        classes = np.unique(class_ids)
        means, spreads = _class_w_statistics(
            mapping,
            lambda ids: model._shaped(ids, model._generator_label_shape),
            classes,
            model.latent_dim,
            w_samples,
            rng,
        )
        rows = np.searchsorted(classes, class_ids)
        w_starts, w_stds = means[rows], spreads[rows]
    else:
        w_average = np.asarray(ops.convert_to_numpy(mapping.w_average), "float64")
        w_std = _w_std(mapping, w_average, model.latent_dim, w_samples, rng)
        w_starts = np.broadcast_to(w_average, (len(images), w_average.shape[-1]))
        w_stds = np.full(len(images), w_std)
    num_ws = int(synthesis.inputs[0].shape[1])
    noise_variables = [layer.const_noise for layer in _noise_layers(synthesis)]
    saved = [np.array(ops.convert_to_numpy(variable.value)) for variable in noise_variables]

    def features_of(batch_ids: np.ndarray | None) -> Callable[[Any], Any]:
        """The features of a batch of images whose classes are `batch_ids`."""
        discriminator_labels = None
        if feeds_labels:
            discriminator_labels = model._shaped(
                ops.convert_to_tensor(batch_ids, "int32"), model._discriminator_label_shape
            )

        def extract(x: Any, i: int) -> Any:
            if discriminator_labels is None:
                return feature_extractor(x[i : i + 1])
            return feature_extractor([x[i : i + 1], discriminator_labels[i : i + 1]])

        def features(x: Any) -> Any:
            if per_image:
                x = ops.concatenate([extract(x, i) for i in range(x.shape[0])], axis=0)
            else:
                x = feature_extractor(x)
            x = ops.cast(x, "float32")
            return ops.reshape(x, (ops.shape(x)[0], -1))

        return features

    settings = {
        "steps": steps,
        "w_plus": w_plus,
        "learning_rate": learning_rate,
        "noise_regularization": noise_regularization,
        "pixel_weight": pixel_weight,
        "verbose": verbose,
        "num_ws": num_ws,
    }
    state_variables = list(synthesis.weights) + list(getattr(feature_extractor, "weights", []))
    latents, reconstructions = [], []
    try:
        with noise_mode_of(synthesis, "const"):
            for start in range(0, len(images), batch_size):
                batch = slice(start, start + batch_size)
                w, reconstruction, _ = _project_batch(
                    synthesis,
                    None
                    if feature_extractor is None
                    else features_of(None if class_ids is None else class_ids[batch]),
                    images[batch],
                    w_starts[batch],
                    w_stds[batch],
                    noise_variables,
                    state_variables,
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
        A `keras.Model` from the discriminator's first input (the images) to
        that layer's output when the layer depends on that input alone (a
        conditional discriminator whose labels enter after it), else from
        all its inputs (`[images, labels]`); `None` when the discriminator
        has no such layer or is not a functional model.
    """
    try:
        layer = discriminator.get_layer("b4_fc")
        inputs = discriminator.inputs
    except (ValueError, AttributeError, TypeError):
        return None
    if inputs and len(inputs) > 1:
        try:
            # Keras refuses an output that is not connected to the inputs given.
            return keras.Model(inputs[0], layer.output)
        except ValueError:
            pass
    try:
        return keras.Model(inputs, layer.output)
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


def _check_labels(model: Any, labels: Any, count: int, conditional: bool) -> np.ndarray | None:
    """The class id of each of the `count` images (int64), or `None` for an unconditional model."""
    from gan_blocks.models import input_checks

    if not conditional:
        if labels is not None:
            raise ValueError(
                f"This {type(model).__name__} is unconditional: `labels` must be None. "
                f"Received labels of shape {np.shape(labels)}. Class-conditional "
                "projection needs a gb.models.ConditionalStyleGAN2."
            )
        return None
    num_classes = model.num_classes
    example = ", ".join(str(i % num_classes) for i in range(min(count, 3)))
    if labels is None:
        raise ValueError(
            f"gb.latents.project needs `labels` for a {type(model).__name__}: the class "
            f"of each image, integers in [0, {num_classes}), e.g. labels=[{example}]. "
            "Received labels=None."
        )
    try:
        array = np.asarray(ops.convert_to_numpy(labels))
    except (TypeError, ValueError):
        array = np.asarray(labels)
    one_hot = array.ndim == 2 and array.shape[1] == num_classes
    if not (array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1) or one_hot):
        raise ValueError(
            f"`labels` must hold one class per image: class ids of shape ({count},) or "
            f"({count}, 1), or one-hot rows of shape ({count}, {num_classes}). Received "
            f"labels of shape {array.shape}."
        )
    if len(array) != count:
        raise ValueError(
            f"`labels` must hold one class per image: {count} images but {len(array)} "
            f"labels (shape {array.shape})."
        )
    input_checks.check_labels(array, num_classes)
    if one_hot:
        return np.argmax(array, axis=1).astype("int64")
    return array.reshape(-1).astype("int64")


def _class_w_statistics(
    mapping: Any,
    shaped: Callable[[Any], Any],
    classes: np.ndarray,
    latent_dim: int,
    count: int,
    rng: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Each class's mean W and spread, over `count` mapped z (the same z for all classes).

    Args:
        mapping: A conditional `MappingNetwork`, called on `[z, labels]`.
        shaped: Class ids (int32 tensor) -> the mapping network's labels.
        classes: The class ids, `(k,)`.
        latent_dim: Size of z.
        count: Number of z.
        rng: Numpy generator of the z.

    Returns:
        `(means, spreads)`, float64 of shapes `(k, w_dim)` and `(k,)`: the
        mean w of the class and `sqrt(sum((w - mean)^2) / count)` (NVlabs'
        `w_std`, around the class's mean).
    """
    z = rng.standard_normal((count, latent_dim)).astype("float32")
    means, spreads = [], []
    for class_id in classes:
        parts = []
        for start in range(0, count, _MAPPING_BATCH):
            batch = z[start : start + _MAPPING_BATCH]
            ids = shaped(ops.convert_to_tensor(np.full(len(batch), class_id), "int32"))
            ws = np.asarray(ops.convert_to_numpy(mapping([batch, ids], training=False)), "float64")
            parts.append(ws[:, 0] if ws.ndim == 3 else ws)
        w = np.concatenate(parts)
        mean = w.mean(axis=0)
        means.append(mean)
        spreads.append(math.sqrt(float(np.sum(np.square(w - mean))) / count))
    return np.stack(means), np.asarray(spreads)


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
    w_starts: np.ndarray,
    w_stds: np.ndarray,
    noise_variables: list,
    state_variables: list,
    rng: Any,
    settings: dict,
) -> tuple[np.ndarray, np.ndarray, list]:
    """Projects one batch; returns `(latents, reconstructions, noise images)` as numpy.

    Each image starts at its row of `w_starts` (`(count, w_dim)`), and the
    noise on its w is scaled by its entry of `w_stds` (`(count,)`). Writes
    the optimised noise images into `noise_variables` (the caller restores
    them). `state_variables`: every other variable the synthesis network and
    the features read.
    """
    count, w_dim, num_ws = len(targets), w_starts.shape[-1], settings["num_ws"]
    rows = num_ws if settings["w_plus"] else 1
    start = np.broadcast_to(w_starts.astype("float32")[:, None, :], (count, rows, w_dim))
    w_stds = np.asarray(w_stds, "float64").reshape(count, 1, 1)
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

    def distance_of(w_value: Any, target: Any, wanted: Any = None) -> Any:
        """Sum over the images of their distances to the targets (and their features)."""
        images = synthesise(w_value)
        axes = tuple(range(1, len(images.shape)))
        distance = pixel_weight * ops.mean(ops.square(images - target), axis=axes)
        if features is not None:
            distance = distance + ops.mean(ops.square(features(images) - wanted), axis=1)
        return ops.sum(distance)

    def objective(w_noise: Any, target: Any, wanted: Any = None) -> Any:
        distance = distance_of(w + w_noise, target, wanted)
        return distance + regularization * _noise_regularization(noise_variables)

    # One compiled program for the whole loop (jax.jit / tf.function): the
    # network's weights are read at each call, not baked in.
    loss_and_gradients = compiled_value_and_gradients(
        objective, [w, *noise_variables], state=state_variables
    )
    constants = (target_tensor,) if features is None else (target_tensor, target_features)

    for step in range(steps):
        t = step / steps
        w_noise_scale = w_stds * INITIAL_NOISE_FACTOR * max(0.0, 1.0 - t / NOISE_RAMP_LENGTH) ** 2
        optimizer.learning_rate = settings["learning_rate"] * _learning_rate_ramp(t)
        w_noise = (rng.standard_normal(start.shape) * w_noise_scale).astype("float32")
        for variable, noise in zip(noise_variables, noises):
            variable.assign(noise.value)
        loss, gradients = loss_and_gradients(w_noise, *constants)
        optimizer.apply(gradients, [w, *noises])
        for noise in noises:
            value = noise.value - ops.mean(noise.value)
            noise.assign(value * ops.rsqrt(ops.mean(ops.square(value))))
        if settings["verbose"] and ((step + 1) % max(1, steps // 10) == 0 or step + 1 == steps):
            for variable, noise in zip(noise_variables, noises):
                variable.assign(noise.value)
            distance = float(ops.convert_to_numpy(distance_of(w.value, *constants)))
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
