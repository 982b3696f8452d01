"""`SampleGrid`: writes a PNG grid of samples from fixed inputs every few epochs."""

from __future__ import annotations

import math
import os
from typing import Any

import keras
import numpy as np


def image_grid(
    images: Any, columns: int | None = None, value_range: tuple[float, float] = (-1.0, 1.0)
) -> np.ndarray:
    """Tiles images into one uint8 picture, row-major, with a 1-pixel border.

    Args:
        images: Array `(n, height, width, channels)` (channels 1 or 3).
        columns: Images per row; default is the square root of `n`, rounded up.
        value_range: Pixel range mapped to [0, 255], `(-1, 1)` for tanh outputs.

    Returns:
        A `(rows * (height + 1) + 1, columns * (width + 1) + 1, channels)` uint8 array.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.callbacks import image_grid
    >>> image_grid(np.zeros((4, 8, 8, 1)), columns=2).shape
    (19, 19, 1)
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise ValueError(
            f"image_grid expects (n, height, width, channels); received shape {images.shape}."
        )
    low, high = value_range
    pixels = np.clip((images - low) / (high - low), 0.0, 1.0) * 255.0
    count, height, width, channels = pixels.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1, channels), 255.0, "float32")
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = 1 + row * (height + 1), 1 + column * (width + 1)
        grid[top : top + height, left : left + width] = pixels[index]
    return grid.round().astype("uint8")


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of `model.generate()` outputs from fixed inputs.

    The latents (or labels, or source images) are fixed when training starts,
    so successive grids show how the same samples evolve. For `Pix2Pix`, pass
    `pairs=(sources, targets)`: each row shows source | output | target. For
    `ConditionalGAN`, classes cycle over the grid. Files are named
    `epoch_0001.png`, ...

    Args:
        directory: Folder to write the PNG files to (created if needed).
        num_samples: Number of samples in the grid.
        every_n_epochs: Write a grid every this many epochs.
        seed: Seed of the fixed latents.
        pairs: `(sources, targets)` arrays, for `Pix2Pix`.
        value_range: Pixel range of the model's images; default `(-1, 1)`, or
            `(0, 1)` for a `VAE`.

    Example:
    >>> import gan_blocks as gb
    >>> callback = gb.callbacks.SampleGrid("runs/samples", num_samples=16)
    >>> callback.every_n_epochs
    1
    """

    def __init__(
        self,
        directory: str,
        num_samples: int = 64,
        every_n_epochs: int = 1,
        seed: int = 0,
        pairs: tuple[Any, Any] | None = None,
        value_range: tuple[float, float] | None = None,
    ):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"`every_n_epochs` must be >= 1. Received: {every_n_epochs}")
        self.directory = directory
        self.num_samples = int(num_samples)
        self.every_n_epochs = int(every_n_epochs)
        self.seed = seed
        self.pairs = pairs
        self.value_range = value_range
        self.paths: list[str] = []
        self._latents = None

    def _range(self) -> tuple[float, float]:
        from gan_blocks.models.vae import VAE

        if self.value_range is not None:
            return tuple(self.value_range)
        return (0.0, 1.0) if isinstance(self.model, VAE) else (-1.0, 1.0)

    def samples(self) -> tuple[np.ndarray, int | None]:
        """Returns the images of the grid and its number of columns."""
        from gan_blocks.models.conditional_gan import ConditionalGAN
        from gan_blocks.models.pix2pix import Pix2Pix
        from gan_blocks.models.vae import VAE

        model = self.model
        if isinstance(model, Pix2Pix):
            if self.pairs is None:
                raise ValueError("SampleGrid needs pairs=(sources, targets) for a Pix2Pix model.")
            sources, targets = (np.asarray(a)[: self.num_samples] for a in self.pairs)
            outputs = model.translate(sources)
            rows = [np.stack([s, o, t]) for s, o, t in zip(sources, outputs, targets)]
            return np.concatenate(rows, axis=0), 3
        if isinstance(model, VAE):
            return model.generate(self.num_samples, seed=self.seed), None
        if self._latents is None:
            shape = (self.num_samples,) + tuple(model.latent_shape)
            self._latents = np.random.default_rng(self.seed).normal(size=shape).astype("float32")
        if isinstance(model, ConditionalGAN):
            labels = np.arange(self.num_samples) % model.num_classes
            return model.generate(latents=self._latents, labels=labels), model.num_classes
        return model.generate(latents=self._latents), None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every_n_epochs:
            return
        images, columns = self.samples()
        grid = image_grid(images, columns=columns, value_range=self._range())
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"epoch_{epoch + 1:04d}.png")
        keras.utils.save_img(path, grid, scale=False)
        self.paths.append(path)
