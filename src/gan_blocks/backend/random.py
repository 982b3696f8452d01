"""Every random draw of gan-blocks: one place, traceable and replica-aware.

Library code draws through these functions, never `keras.random` directly
(a test enforces it), for two reasons:

- **torch.compile**: Keras' torch draws build a `torch.Generator`, which
  TorchDynamo cannot trace, so every draw split a compiled loss in two. On
  torch the draws here are a counter-based hash of the seed state (the same
  values eagerly and compiled); on TensorFlow and JAX they are
  `keras.random`'s own.
- **tf.distribute**: every replica runs the step with the same seed state,
  so a plain draw repeats on every replica. A draw from a `SeedGenerator`
  here treats its first axis as the batch: under a strategy it draws the
  global batch and keeps this replica's rows, so each replica gets its own
  values, the ones one device draws for the whole batch (the 1-device and
  N-device updates stay equal). Scalar draws are shared.

Each draw from a `keras.random.SeedGenerator` advances it by one step, as
`keras.random` does, so the seed state alone fixes what a resumed run draws.
An `int` seed (or `None`) is a stateless draw with `keras.random`, for
eager use outside training steps (e.g. `generate(seed=0)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from gan_blocks.trainers import get_trainer


def _is_generator(seed: Any) -> bool:
    return isinstance(seed, keras.random.SeedGenerator)


def _per_sample(draw: Callable[[tuple], Any], shape: tuple) -> Any:
    """`draw(shape)`, with the first axis shared out between replicas."""
    shape = tuple(shape)
    if not shape:
        return draw(shape)
    rest = shape[1:]
    return get_trainer().replica_share(lambda size: draw((size,) + rest), shape[0])


def normal(
    shape: tuple,
    seed: Any = None,
    mean: float = 0.0,
    stddev: float = 1.0,
    dtype: str = "float32",
) -> Any:
    """Normal draws (`keras.random.normal`'s arguments).

    Args:
        shape: Shape of the draw; its first axis is the batch.
        seed: A `keras.random.SeedGenerator` (training draws), an int or `None`.
        mean: Mean.
        stddev: Standard deviation.
        dtype: Floating dtype of the result.

    Returns:
        A tensor of `shape`.

    Example:
    >>> import keras
    >>> from gan_blocks.backend import random
    >>> tuple(random.normal((4, 2), keras.random.SeedGenerator(0)).shape)
    (4, 2)
    """
    if not _is_generator(seed):
        return keras.random.normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)
    values = _per_sample(lambda s: get_trainer().random_normal(s, seed, dtype), shape)
    if mean == 0.0 and stddev == 1.0:
        return values
    return values * ops.cast(stddev, dtype) + ops.cast(mean, dtype)


def uniform(
    shape: tuple,
    seed: Any = None,
    minval: float = 0.0,
    maxval: float = 1.0,
    dtype: str = "float32",
) -> Any:
    """Uniform draws in `[minval, maxval)` (`keras.random.uniform`'s arguments).

    Args:
        shape: Shape of the draw; its first axis is the batch.
        seed: A `keras.random.SeedGenerator` (training draws), an int or `None`.
        minval: Lower bound.
        maxval: Upper bound (excluded).
        dtype: Floating dtype of the result.

    Returns:
        A tensor of `shape`.

    Example:
    >>> import keras
    >>> from gan_blocks.backend import random
    >>> values = random.uniform((100,), keras.random.SeedGenerator(0), 2.0, 3.0)
    >>> bool(keras.ops.all((values >= 2.0) & (values < 3.0)))
    True
    """
    if not _is_generator(seed):
        return keras.random.uniform(shape, minval, maxval, dtype=dtype, seed=seed)
    return _per_sample(
        lambda s: get_trainer().random_uniform(s, seed, minval, maxval, dtype), shape
    )


def randint(
    shape: tuple,
    minval: int,
    maxval: int,
    seed: Any = None,
    dtype: str = "int32",
) -> Any:
    """Integers uniform in `[minval, maxval)` (`keras.random.randint`'s arguments).

    Args:
        shape: Shape of the draw; its first axis is the batch.
        minval: Smallest value.
        maxval: One more than the largest value.
        seed: A `keras.random.SeedGenerator` (training draws), an int or `None`.
        dtype: Integer dtype of the result.

    Returns:
        A tensor of `shape`.

    Example:
    >>> import keras
    >>> from gan_blocks.backend import random
    >>> values = random.randint((100,), 0, 3, keras.random.SeedGenerator(0))
    >>> sorted(set(keras.ops.convert_to_numpy(values).tolist()))
    [0, 1, 2]
    """
    if not _is_generator(seed):
        return keras.random.randint(shape, minval, maxval, dtype=dtype, seed=seed)
    return _per_sample(
        lambda s: get_trainer().random_randint(s, seed, minval, maxval, dtype), shape
    )


def bernoulli(shape: tuple, probability: Any, seed: Any = None) -> Any:
    """Booleans that are `True` with `probability` (a float or a broadcastable tensor).

    Args:
        shape: Shape of the draw; its first axis is the batch.
        probability: Probability of `True`.
        seed: A `keras.random.SeedGenerator` (training draws), an int or `None`.

    Returns:
        A boolean tensor of `shape`.

    Example:
    >>> import keras
    >>> from gan_blocks.backend import random
    >>> coins = random.bernoulli((1000,), 0.25, keras.random.SeedGenerator(0))
    >>> 0.2 < float(keras.ops.mean(keras.ops.cast(coins, "float32"))) < 0.3
    True
    """
    return uniform(shape, seed) < probability
