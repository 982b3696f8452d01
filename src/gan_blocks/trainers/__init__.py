"""Per-backend gradient plumbing: the only modules that import a framework.

The shared GAN math (sampling, losses, metric trackers) is written once with
`keras.ops`. What differs between backends is how gradients are taken and
applied; each module here implements the same four functions:

- `train_step(model, *args)`: the backend's `Model.train_step` entry point,
  which calls `model.optimization_step(data, minimize)` with a backend
  `minimize(loss_fn, variables, optimizer)`.
- `test_step(model, *args)`: `Model.test_step`, calling `model.evaluation_step(data)`.
- `input_gradients(fn, x)`: the gradient of `sum(fn(x))` with respect to `x`,
  differentiable again (nested tapes / `jax.grad` / `create_graph=True`), for
  gradient penalties.
- `runs_on_accelerator()`: whether the backend computes on a GPU/TPU (there
  `fit`'s NaN guard runs asynchronously instead of waiting for every step).

A backend module may also provide `conv_transpose` (same contract as
`keras.ops.conv_transpose`) when the backend's own gradient of that op is slow.

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


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: int | tuple[int, ...] = 1,
    padding: str = "valid",
    output_padding: int | tuple[int, ...] | None = None,
    data_format: str | None = None,
    dilation_rate: int | tuple[int, ...] = 1,
) -> Any:
    """`keras.ops.conv_transpose` with the fastest gradient the backend offers.

    Same arguments and forward result as `keras.ops.conv_transpose`. On JAX on
    a CPU the kernel gradient JAX derives for a transposed convolution runs on
    a slow XLA path (about 30x the forward pass for DCGAN's layers); there this
    op computes both gradients through the matching strided convolution, as
    TensorFlow does (see `benchmarks/throughput.py`: 2.7 -> 11.8 DCGAN steps/s).
    Elsewhere it is `keras.ops.conv_transpose`. `gb.layers.Conv2DTranspose`
    and the gan-blocks layers that upsample use it.

    Args:
        inputs: Tensor of rank N + 2.
        kernel: Kernel of shape `kernel_size + (filters, input_channels)`.
        strides: Int or tuple of N ints.
        padding: `"valid"` or `"same"`.
        output_padding: `None`, int or tuple of N ints.
        data_format: `"channels_last"` or `"channels_first"`; `None` for
            `keras.config.image_data_format()`.
        dilation_rate: Int or tuple of N ints.

    Returns:
        The transposed convolution.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.trainers import conv_transpose
    >>> x = np.ones((1, 4, 4, 3), "float32")
    >>> kernel = np.ones((4, 4, 8, 3), "float32")
    >>> tuple(conv_transpose(x, kernel, strides=2, padding="same").shape)
    (1, 8, 8, 8)
    """
    op = getattr(get_trainer(), "conv_transpose", keras.ops.conv_transpose)
    return op(
        inputs,
        kernel,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        data_format=data_format,
        dilation_rate=dilation_rate,
    )
