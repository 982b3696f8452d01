"""`DiffAugment`: differentiable augmentation of real and fake images (Zhao et al. 2020)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import random
from gan_blocks.layers.image_transforms import check_image_rank, shift_images

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """Splits a comma-separated policy string, refusing unknown names."""
    if not isinstance(policy, str):
        raise ValueError(
            f"`policy` must be a comma-separated string of {', '.join(POLICIES)}. "
            f"Received: policy={policy!r}"
        )
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    if not names:
        raise ValueError(
            f"`policy` names no augmentation (received policy={policy!r}); give one or "
            f"more of {', '.join(POLICIES)}, or leave out the augmentation."
        )
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(
            f"Unknown DiffAugment policy {unknown[0]!r} in policy={policy!r}. "
            f"Known policies: {', '.join(POLICIES)}."
        )
    return names


@gan_blocks_export()
class DiffAugment(keras.layers.Layer):
    """Differentiable augmentation for data-efficient GAN training (Zhao et al. 2020).

    Pass it as `augmentation=` to any adversarial model: the model applies it
    to every image the discriminator sees, real and generated, and the
    generator learns through it (every transform is differentiable with
    respect to the images). Each transform is drawn independently per image,
    as in the paper's reference code:

    - `"color"`: brightness `+U(-0.5, 0.5)`, then saturation
      `x(U(0, 2))` around the per-pixel channel mean, then contrast
      `x(U(0.5, 1.5))` around the image mean;
    - `"translation"`: an integer shift of up to 1/8 of each side
      (independently per axis), the uncovered border filled with zeros;
    - `"cutout"`: zeroes a square of half the side (rounded) at a random
      centre, clipped at the border.

    All draws come from the layer's `SeedGenerator` (no Python-side
    randomness), so the layer compiles with XLA on JAX and TensorFlow and a
    saved model resumes with the same draws.

    Args:
        policy: Comma-separated transforms among `"color"`, `"translation"`
            and `"cutout"`, applied in that order of the string.
        seed: Seed of the layer's `SeedGenerator`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Call arguments:
        images: Channels-last images `(batch, height, width, channels)`,
            scaled to `[-1, 1]` (the brightness range assumes it).
        training: Augments when `True` (the default, as Keras' augmentation
            layers); passes images through when `False`.

    Returns:
        Augmented images of the same shape and dtype.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> augment = gb.layers.DiffAugment(policy="translation,cutout", seed=0)
    >>> tuple(augment(np.zeros((4, 32, 32, 3), "float32")).shape)
    (4, 32, 32, 3)

    Reference:
        Zhao et al., "Differentiable Augmentation for Data-Efficient GAN
        Training", NeurIPS 2020.
    """

    def __init__(
        self,
        policy: str = "color,translation,cutout",
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.policies = parse_policy(policy)
        self.policy = policy
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="diff_augment_seed")

    def build(self, input_shape: tuple) -> None:
        check_image_rank(input_shape, type(self).__name__)

    def call(self, images: Any, training: bool = True) -> Any:
        if not training:
            return images
        for policy in self.policies:
            images = getattr(self, f"_{policy}")(images)
        return images

    def _uniform(self, batch_size: Any, low: float, high: float, dtype: str) -> Any:
        draw = random.uniform((batch_size, 1, 1, 1), self.seed_generator, low, high)
        return ops.cast(draw, dtype)

    def _color(self, images: Any) -> Any:
        batch_size, dtype = ops.shape(images)[0], images.dtype
        images = images + self._uniform(batch_size, -0.5, 0.5, dtype)
        mean = ops.mean(images, axis=-1, keepdims=True)
        images = (images - mean) * self._uniform(batch_size, 0.0, 2.0, dtype) + mean
        mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
        return (images - mean) * self._uniform(batch_size, 0.5, 1.5, dtype) + mean

    def _translation(self, images: Any) -> Any:
        batch_size = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        shifts = []
        for side in (height, width):
            limit = int(side * 0.125 + 0.5)
            shifts.append(random.randint((batch_size,), -limit, limit + 1, self.seed_generator))
        return shift_images(images, shifts[0], shifts[1])

    def _cutout(self, images: Any) -> Any:
        batch_size = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        masks = []
        for side in (height, width):
            size = int(side * 0.5 + 0.5)
            centre = random.randint((batch_size, 1), 0, side + (1 - size % 2), self.seed_generator)
            start = centre - size // 2
            position = ops.arange(side, dtype="int32")[None, :]
            masks.append(ops.logical_and(position >= start, position < start + size))
        rows, columns = masks
        inside = ops.logical_and(rows[:, :, None], columns[:, None, :])[..., None]
        return ops.where(inside, ops.zeros_like(images), images)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(policy=self.policy, seed=self.seed)
        return config
