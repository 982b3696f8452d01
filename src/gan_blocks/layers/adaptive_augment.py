"""`AdaptiveAugment`: StyleGAN2-ADA's augmentation with its probability as saved state."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import random
from gan_blocks.layers.image_transforms import check_image_rank, sample_bilinear
from gan_blocks.validation import check_int, check_number

PIPELINE_PARTS = {"b": "blit", "g": "geom", "c": "color"}


def parse_pipeline(pipeline: str) -> str:
    """Checks a pipeline string made of the letters b (blit), g (geom), c (color)."""
    if (
        not isinstance(pipeline, str)
        or not pipeline
        or any(letter not in PIPELINE_PARTS for letter in pipeline)
        or len(set(pipeline)) != len(pipeline)
    ):
        known = ", ".join(f"{letter!r} ({name})" for letter, name in PIPELINE_PARTS.items())
        raise ValueError(
            f"`pipeline` must combine the letters {known}, each at most once, e.g. "
            f"'bgc' (the paper's default). Received: pipeline={pipeline!r}"
        )
    return pipeline


def _stack(rows: list[list[Any]], batch_size: Any) -> Any:
    """A `(batch, n, n)` float32 matrix from rows of per-image values or constants."""
    entries = [
        ops.broadcast_to(ops.cast(entry, "float32"), (batch_size,)) for row in rows for entry in row
    ]
    size = len(rows)
    return ops.reshape(ops.stack(entries, axis=1), (batch_size, size, size))


def _translate(tx: Any, ty: Any, batch_size: Any) -> Any:
    return _stack([[1, 0, tx], [0, 1, ty], [0, 0, 1]], batch_size)


def _scale(sx: Any, sy: Any, batch_size: Any) -> Any:
    return _stack([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], batch_size)


def _rotate(cos: Any, sin: Any, batch_size: Any) -> Any:
    return _stack([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], batch_size)


def _luma_rotation(angle: Any, batch_size: Any) -> Any:
    """Rotations of RGB about the luma axis `(1, 1, 1) / sqrt(3)` (Rodrigues), `(batch, 4, 4)`."""
    axis = 1.0 / math.sqrt(3.0)
    cos, sin = ops.cos(angle), ops.sin(angle)
    diagonal = axis * axis * (1.0 - cos) + cos
    plus = axis * axis * (1.0 - cos) + axis * sin
    minus = axis * axis * (1.0 - cos) - axis * sin
    return _stack(
        [
            [diagonal, minus, plus, 0],
            [plus, diagonal, minus, 0],
            [minus, plus, diagonal, 0],
            [0, 0, 0, 1],
        ],
        batch_size,
    )


@gan_blocks_export()
class AdaptiveAugment(keras.layers.Layer):
    """Adaptive discriminator augmentation, ADA (Karras et al. 2020).

    Pass it as `augmentation=` to any adversarial model. Every image the
    discriminator sees goes through the paper's pipeline, each transform
    applied independently per image with probability `p`:

    - `"b"` (blit): x-flip, rotation by a multiple of 90 degrees, integer
      translation by up to 1/8 of the side;
    - `"g"` (geom): isotropic scaling (log2-normal, std 0.2), rotation by an
      arbitrary angle (applied before and after an anisotropic scaling,
      each with probability `1 - sqrt(1 - p)`), anisotropic scaling
      (log2-normal, std 0.2), fractional translation (normal, std 1/8 of
      the side);
    - `"c"` (color): brightness (+normal, std 0.2), contrast (log2-normal,
      std 0.5), luma flip, hue rotation (uniform angle), saturation
      (log2-normal, std 1). On 1-channel images only the luma part acts.

    The geometric transforms are composed into one matrix per image and
    applied by one bilinear resampling with reflection at the borders, so
    gradients reach the images (the paper also upsamples 2x with a wavelet
    filter around the resampling, which this layer does not). At `p = 0`
    images pass through unchanged.

    **The probability.** `p` starts at `initial_probability` and is a
    non-trainable variable. The model calls `update_probability` with the
    discriminator's logits on real images inside every discriminator step;
    after each `interval` steps the layer computes the overfitting heuristic
    `r_t = E[sign(D(real))]` over them and moves `p` by
    `sign(r_t - target) * images / adjustment_images` (so `p` can go from 0
    to 1 in `adjustment_images` images), clipped to `[0, 1]`. All of this is
    part of the compiled step on every backend. `p` is logged as
    `augment_p`, and `p`, the running sums and the seed state are saved in
    `.keras` files, so a resumed run continues exactly.

    Args:
        target: Value of `r_t` to hold, in `(0, 1)` (0.6 in the paper).
        adjustment_images: Images over which `p` can move by 1 (the paper's
            500k).
        interval: Discriminator steps between updates of `p` (4).
        initial_probability: `p` at the start, in `[0, 1]`.
        pipeline: Which groups of transforms to use: letters among
            `"b"`, `"g"`, `"c"` (the paper's `"bgc"`).
        seed: Seed of the layer's `SeedGenerator`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Call arguments:
        images: Channels-last images scaled to `[-1, 1]`.
        training: Augments when `True` (the default); passes images through
            when `False`.

    Returns:
        Augmented images of the same shape and dtype.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> ada = gb.layers.AdaptiveAugment(initial_probability=0.5, seed=0)
    >>> tuple(ada(np.zeros((2, 16, 16, 3), "float32")).shape)
    (2, 16, 16, 3)
    >>> float(keras.ops.convert_to_numpy(ada.probability))
    0.5

    Reference:
        Karras et al., "Training Generative Adversarial Networks with
        Limited Data", NeurIPS 2020.
    """

    def __init__(
        self,
        target: float = 0.6,
        adjustment_images: int = 500_000,
        interval: int = 4,
        initial_probability: float = 0.0,
        pipeline: str = "bgc",
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        # The paper's target is 0.6.
        self.target = check_number("target", target, 0.0, 1.0, exclusive=True)
        check_number("adjustment_images", adjustment_images, minimum=0.0, exclusive=True)
        self.adjustment_images = adjustment_images
        self.interval = check_int("interval", interval, minimum=1)
        self.initial_probability = check_number(
            "initial_probability", initial_probability, 0.0, 1.0
        )
        self.pipeline = parse_pipeline(pipeline)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="adaptive_augment_seed")
        # Created here, not in build(): a loaded model must find them before
        # the layer ever sees an image.
        self.probability = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_probability),
            dtype="float32",
            trainable=False,
            autocast=False,  # p stays float32 under mixed precision.
            name="probability",
        )
        self.sign_sum = self._counter("sign_sum", "float32")
        self.images_seen = self._counter("images_seen", "float32")
        self.steps = self._counter("steps", "int32")

    def _counter(self, name: str, dtype: str) -> keras.Variable:
        return self.add_weight(
            shape=(), initializer="zeros", dtype=dtype, trainable=False, autocast=False, name=name
        )

    def build(self, input_shape: tuple) -> None:
        check_image_rank(input_shape, type(self).__name__)
        if "c" in self.pipeline and input_shape[-1] not in (1, 3):
            raise ValueError(
                "AdaptiveAugment's color transforms need 1 or 3 channels. Received input "
                f"shape {tuple(input_shape)}; use pipeline='bg' for other channel counts."
            )

    # ------------------------------------------------------------- the update
    def update_probability(self, real_logits: Any) -> None:
        """Accumulates `sign(D(real))` and, every `interval` calls, moves `p`.

        Args:
            real_logits: The discriminator's logits on a batch of (augmented)
                real images, of shape `(batch, ...)`; patch outputs are
                averaged per image.
        """
        logits = ops.cast(ops.stop_gradient(ops.convert_to_tensor(real_logits)), "float32")
        batch_size = ops.shape(logits)[0]
        signs = ops.mean(ops.reshape(ops.sign(logits), (batch_size, -1)), axis=1)
        sign_sum = ops.convert_to_tensor(self.sign_sum) + ops.sum(signs)
        images_seen = ops.convert_to_tensor(self.images_seen) + ops.cast(batch_size, "float32")
        steps = ops.convert_to_tensor(self.steps) + 1
        due = ops.equal(steps, self.interval)
        overfitting = sign_sum / ops.maximum(images_seen, 1.0)
        step = ops.sign(overfitting - self.target) * images_seen / float(self.adjustment_images)
        probability = ops.convert_to_tensor(self.probability)
        moved = ops.clip(probability + step, 0.0, 1.0)
        self.probability.assign(ops.where(due, moved, probability))
        self.sign_sum.assign(ops.where(due, 0.0, sign_sum))
        self.images_seen.assign(ops.where(due, 0.0, images_seen))
        self.steps.assign(ops.where(due, 0, steps))

    # ------------------------------------------------------------- the images
    def call(self, images: Any, training: bool = True) -> Any:
        if not training:
            return images
        batch_size = ops.shape(images)[0]
        probability = ops.convert_to_tensor(self.probability)
        if "b" in self.pipeline or "g" in self.pipeline:
            transforms = ops.eye(3)[None] * ops.ones((batch_size, 1, 1))
            if "b" in self.pipeline:
                transforms = self._blit(transforms, probability, images.shape)
            if "g" in self.pipeline:
                transforms = self._geom(transforms, probability, images.shape)
            images = sample_bilinear(images, transforms)
        if "c" in self.pipeline:
            images = self._color(images, probability)
        return images

    def _applied(self, probability: Any, batch_size: Any) -> Any:
        return random.bernoulli((batch_size,), probability, self.seed_generator)

    def _draw(self, kind: str, batch_size: Any, **kwargs: Any) -> Any:
        if kind == "normal":
            return random.normal((batch_size,), self.seed_generator, **kwargs)
        if kind == "uniform":
            return random.uniform((batch_size,), self.seed_generator, **kwargs)
        draws = random.randint((batch_size,), seed=self.seed_generator, **kwargs)
        return ops.cast(draws, "float32")

    def _gated(self, probability: Any, value: Any, identity: float, batch_size: Any) -> Any:
        return ops.where(self._applied(probability, batch_size), value, identity)

    def _blit(self, transforms: Any, probability: Any, shape: tuple) -> Any:
        batch_size = ops.shape(transforms)[0]
        height, width = shape[1], shape[2]
        flip = self._gated(
            probability, self._draw("int", batch_size, minval=0, maxval=2), 0.0, batch_size
        )
        transforms = ops.matmul(transforms, _scale(1.0 - 2.0 * flip, 1.0, batch_size))
        quarter = self._gated(
            probability, self._draw("int", batch_size, minval=0, maxval=4), 0.0, batch_size
        )
        # Exact cosines and sines of multiples of 90 degrees (no 6e-17 leftovers).
        turns = ops.one_hot(ops.cast(quarter, "int32"), 4)
        cos = ops.sum(turns * ops.convert_to_tensor([1.0, 0.0, -1.0, 0.0]), axis=1)
        sin = ops.sum(turns * ops.convert_to_tensor([0.0, 1.0, 0.0, -1.0]), axis=1)
        transforms = ops.matmul(transforms, _rotate(cos, sin, batch_size))
        applied = self._applied(probability, batch_size)
        shift_x = self._draw("uniform", batch_size, minval=-0.125, maxval=0.125)
        shift_y = self._draw("uniform", batch_size, minval=-0.125, maxval=0.125)
        shift_x = ops.where(applied, ops.round(shift_x * width), 0.0)
        shift_y = ops.where(applied, ops.round(shift_y * height), 0.0)
        return ops.matmul(transforms, _translate(-shift_x, -shift_y, batch_size))

    def _geom(self, transforms: Any, probability: Any, shape: tuple) -> Any:
        batch_size = ops.shape(transforms)[0]
        height, width = shape[1], shape[2]
        # Two rotations, each at this probability, rotate with probability p.
        rotation_probability = 1.0 - ops.sqrt(ops.maximum(1.0 - probability, 0.0))
        scale = ops.power(2.0, self._draw("normal", batch_size, stddev=0.2))
        scale = self._gated(probability, scale, 1.0, batch_size)
        transforms = ops.matmul(transforms, _scale(1.0 / scale, 1.0 / scale, batch_size))
        for rotation in ("before", "after"):
            angle = self._draw("uniform", batch_size, minval=-math.pi, maxval=math.pi)
            angle = self._gated(rotation_probability, angle, 0.0, batch_size)
            transforms = ops.matmul(transforms, _rotate(ops.cos(angle), ops.sin(angle), batch_size))
            if rotation == "before":
                stretch = ops.power(2.0, self._draw("normal", batch_size, stddev=0.2))
                stretch = self._gated(probability, stretch, 1.0, batch_size)
                transforms = ops.matmul(transforms, _scale(1.0 / stretch, stretch, batch_size))
        applied = self._applied(probability, batch_size)
        shift_x = ops.where(applied, self._draw("normal", batch_size, stddev=0.125) * width, 0.0)
        shift_y = ops.where(applied, self._draw("normal", batch_size, stddev=0.125) * height, 0.0)
        return ops.matmul(transforms, _translate(-shift_x, -shift_y, batch_size))

    def _color(self, images: Any, probability: Any) -> Any:
        batch_size = ops.shape(images)[0]
        identity = np.eye(4, dtype="float32")
        luma = np.array([1.0, 1.0, 1.0, 0.0], "float32") / math.sqrt(3.0)
        luma_outer = np.outer(luma, luma)
        offset = np.zeros((4, 4), "float32")
        offset[:3, 3] = 1.0  # Adds a constant to r, g and b.
        rgb = np.diag([1.0, 1.0, 1.0, 0.0]).astype("float32")
        identity, luma_outer, offset, rgb = (
            ops.convert_to_tensor(m) for m in (identity, luma_outer, offset, rgb)
        )

        def per_image(value: Any) -> Any:
            return ops.reshape(value, (batch_size, 1, 1))

        def gated(value: Any, identity_value: float) -> Any:
            return per_image(self._gated(probability, value, identity_value, batch_size))

        brightness = gated(self._draw("normal", batch_size, stddev=0.2), 0.0)
        color = identity + brightness * offset
        contrast = gated(ops.power(2.0, self._draw("normal", batch_size, stddev=0.5)), 1.0)
        color = ops.matmul(identity + (contrast - 1.0) * rgb, color)
        flip = gated(self._draw("int", batch_size, minval=0, maxval=2), 0.0)
        color = ops.matmul(identity - 2.0 * flip * luma_outer, color)
        angle = self._draw("uniform", batch_size, minval=-math.pi, maxval=math.pi)
        angle = self._gated(probability, angle, 0.0, batch_size)
        color = ops.matmul(_luma_rotation(angle, batch_size), color)
        saturation = gated(ops.power(2.0, self._draw("normal", batch_size, stddev=1.0)), 1.0)
        color = ops.matmul(luma_outer + (identity - luma_outer) * saturation, color)
        dtype = images.dtype
        values = ops.cast(images, "float32")
        if images.shape[-1] == 3:
            values = ops.einsum("bij,bhwj->bhwi", color[:, :3, :3], values)
            values = values + color[:, None, None, :3, 3]
        else:
            # Grayscale: the mean of the r, g, b rows acting on (g, g, g, 1).
            rows = ops.mean(color[:, :3, :], axis=1)
            gain = ops.reshape(ops.sum(rows[:, :3], axis=1), (-1, 1, 1, 1))
            values = values * gain + ops.reshape(rows[:, 3], (-1, 1, 1, 1))
        return ops.cast(values, dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            target=self.target,
            adjustment_images=self.adjustment_images,
            interval=self.interval,
            initial_probability=self.initial_probability,
            pipeline=self.pipeline,
            seed=self.seed,
        )
        return config
