"""Per-backend gradient plumbing: the only modules that import a framework.

The shared GAN math (sampling, losses, metric trackers) is written once with
`keras.ops`. What differs between backends is how gradients are taken and
applied; each module here implements the same three functions:

- `train_step(model, *args)`: the backend's `Model.train_step` entry point,
  which calls `model.optimization_step(data, minimize)` with a backend
  `minimize(loss_fn, variables, optimizer)`.
- `test_step(model, *args)`: `Model.test_step`, calling `model.evaluation_step(data)`.
- `input_gradients(fn, x)`: the gradient of `sum(fn(x))` with respect to `x`,
  differentiable again (nested tapes / `jax.grad` / `create_graph=True`), for
  gradient penalties.

Only the module of the active backend is ever imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import keras

_MODULES = {
    "tensorflow": "gan_blocks.trainers.tensorflow",
    "jax": "gan_blocks.trainers.jax",
    "torch": "gan_blocks.trainers.torch",
}


def get_trainer(backend: str | None = None) -> ModuleType:
    """Returns the trainer module of a Keras backend (the active one by default).

    Args:
        backend: `"tensorflow"`, `"jax"` or `"torch"`; `None` for
            `keras.backend.backend()`.

    Returns:
        The module implementing `train_step` and `input_gradients`.

    Example:
    >>> import keras
    >>> from gan_blocks.trainers import get_trainer
    >>> get_trainer().__name__.endswith(keras.backend.backend())
    True
    """
    backend = backend or keras.backend.backend()
    if backend not in _MODULES:
        raise ValueError(
            f"gan-blocks trains on the tensorflow, jax and torch backends. "
            f"Received: backend={backend!r}"
        )
    return importlib.import_module(_MODULES[backend])


def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """Gradient of `sum(fn(x))` with respect to `x`, itself differentiable.

    Used by gradient penalties: the result can be differentiated again with
    respect to the variables `fn` uses, on every backend. State updates made by
    `fn` (e.g. batch-norm statistics) are discarded.

    Args:
        fn: Callable mapping a tensor to a tensor (e.g. a discriminator).
        x: Input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
    >>> import keras, numpy as np
    >>> from gan_blocks.trainers import input_gradients
    >>> x = np.array([1.0, 2.0], "float32")
    >>> keras.ops.convert_to_numpy(input_gradients(lambda t: t * t, x)).tolist()
    [2.0, 4.0]
    """
    return get_trainer().input_gradients(fn, x)
