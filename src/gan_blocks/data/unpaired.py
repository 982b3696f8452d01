"""Unpaired two-domain batches (CycleGAN's unaligned loader) as a `keras.utils.PyDataset`."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np


def _check_domain(images: Any, name: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(
            f"`{name}` must be an array of images `(num_images, ...)` of rank >= 2. "
            f"Received: {name}.shape={images.shape}"
        )
    if len(images) == 0:
        raise ValueError(
            f"`{name}` holds no images; each domain needs at least one. "
            f"Received: {name}.shape={images.shape}"
        )
    return images


class UnpairedDataset(keras.utils.PyDataset):
    """Batches of two unpaired image domains, `(batch_a, batch_b)`, for `fit`.

    CycleGAN's unaligned loader: an epoch has
    `ceil(max(len(images_a), len(images_b)) / batch_size)` batches, every image
    of the longer domain appears in it, and the shorter domain wraps around.
    Each domain follows its own random order, a function of `(seed, epoch)`
    alone, so the pairs change between epochs and a given seed always gives
    the same sequence. The epoch advances at every epoch end, and the
    gan-blocks models set it from their own step count at the start of every
    epoch of `fit` (`set_epoch`): a run that is saved, loaded (even in a new
    process, with a new dataset object) and resumed sees the orders an
    uninterrupted run sees. Wrapped positions
    continue with a fresh random order, so every batch holds exactly
    `batch_size` images and a compiled train step sees one shape. The domains
    may differ in image shape (e.g. channels). Batches are float32 numpy
    arrays; no TensorFlow needed, so it serves `fit` on every backend.

    Args:
        images_a: Domain A images `(num_a, ...)`, e.g. in [-1, 1].
        images_b: Domain B images `(num_b, ...)`.
        batch_size: Images per domain in each batch.
        seed: Seed of the random orders; `None` draws a fresh one.
        **kwargs: `keras.utils.PyDataset` arguments (`workers`,
            `use_multiprocessing`, `max_queue_size`).

    Example:
    >>> import numpy as np
    >>> import gan_blocks as gb
    >>> a = np.zeros((5, 4, 4, 3), "uint8")
    >>> b = np.ones((2, 4, 4, 1), "uint8")
    >>> dataset = gb.data.UnpairedDataset(a, b, batch_size=2, seed=0)
    >>> len(dataset)
    3
    >>> batch_a, batch_b = dataset[2]
    >>> batch_a.shape, batch_b.shape, batch_b.dtype
    ((2, 4, 4, 3), (2, 4, 4, 1), dtype('float32'))
    """

    def __init__(
        self,
        images_a: Any,
        images_b: Any,
        batch_size: int = 1,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ValueError(f"`batch_size` must be an integer >= 1. Received: {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be an integer >= 1. Received: {batch_size}")
        self.images_a = _check_domain(images_a, "images_a")
        self.images_b = _check_domain(images_b, "images_b")
        self.batch_size = int(batch_size)
        self.seed = seed
        # Without a seed, one drawn now: the orders still depend on (seed, epoch) only.
        self._seed = int(np.random.SeedSequence().entropy) if seed is None else int(seed)
        self.epoch = 0
        self._draw_orders()

    def set_epoch(self, epoch: int) -> None:
        """Makes the following batches those of `epoch` (0-based), as `fit` resumes.

        Args:
            epoch: The epoch index.
        """
        epoch = int(epoch)
        if epoch < 0:
            raise ValueError(f"`epoch` must be >= 0. Received: epoch={epoch}")
        if epoch != self.epoch:
            self.epoch = epoch
            self._draw_orders()

    def _order(self, size: int, rng: np.random.Generator) -> np.ndarray:
        # As many fresh permutations as the epoch needs, cut to its length.
        needed = len(self) * self.batch_size
        orders = [rng.permutation(size) for _ in range(math.ceil(needed / size))]
        return np.concatenate(orders)[:needed]

    def _draw_orders(self) -> None:
        rng = np.random.default_rng([self._seed, self.epoch])
        self._order_a = self._order(len(self.images_a), rng)
        self._order_b = self._order(len(self.images_b), rng)

    def __len__(self) -> int:
        longest = max(len(self.images_a), len(self.images_b))
        return math.ceil(longest / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index out of range [0, {len(self)}). Received: {index}")
        positions = slice(index * self.batch_size, (index + 1) * self.batch_size)
        batch_a = np.asarray(self.images_a[self._order_a[positions]], dtype="float32")
        batch_b = np.asarray(self.images_b[self._order_b[positions]], dtype="float32")
        return batch_a, batch_b

    def on_epoch_end(self) -> None:
        """Moves to the next epoch's random orders of both domains."""
        self.set_epoch(self.epoch + 1)


def unpaired(
    images_a: Any, images_b: Any, batch_size: int = 1, seed: int | None = None
) -> UnpairedDataset:
    """Batches two unpaired image domains for CycleGAN-style training with `fit`.

    Shorthand for `UnpairedDataset(images_a, images_b, batch_size, seed)`:
    yields `(batch_a, batch_b)` float32 batches of exactly `batch_size` images,
    `ceil(max(len(images_a), len(images_b)) / batch_size)` per epoch, each
    domain reshuffled independently at every epoch end (the shorter one wraps
    around). Works with `model.fit` on TensorFlow, JAX and torch.

    Args:
        images_a: Domain A images `(num_a, ...)`, e.g. in [-1, 1].
        images_b: Domain B images `(num_b, ...)`.
        batch_size: Images per domain in each batch.
        seed: Seed of the random orders; `None` draws a fresh one.

    Returns:
        An `UnpairedDataset`.

    Example:
    >>> import numpy as np
    >>> import gan_blocks as gb
    >>> horses = np.zeros((7, 8, 8, 3), "float32")
    >>> zebras = np.ones((3, 8, 8, 3), "float32")
    >>> dataset = gb.data.unpaired(horses, zebras, batch_size=2, seed=0)
    >>> len(dataset), [x.shape for x in dataset[0]]
    (4, [(2, 8, 8, 3), (2, 8, 8, 3)])
    """
    return UnpairedDataset(images_a, images_b, batch_size=batch_size, seed=seed)
