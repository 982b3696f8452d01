"""The seam for backend operations that library code calls.

Layers, losses and models call these, never a backend framework or a
backend switch (`keras.backend.backend() == ...`); a test enforces it. Each
function dispatches to the active backend's trainer module
(`gan_blocks.trainers.get_trainer()`), which is where the backend-specific
code lives:

- `random`: every random draw (`normal`, `uniform`, `randint`,
  `bernoulli`), traceable by `torch.compile` and replica-aware under
  `tf.distribute`.
- `input_gradients(fn, x)`: an input gradient that can be differentiated
  again (gradient penalties).
- `value_and_gradients(fn, variables)`: a scalar function of Keras
  variables and its gradients, for optimisation loops outside `fit`
  (`gb.latents.project`); `compiled_value_and_gradients(fn, variables,
  state)` the same as one compiled function of `fn`'s arguments.
- `compiled_inference(model)`: a model's inference call compiled where
  the backend can, for generation over many batches.
- `conv_transpose(...)`: `keras.ops.conv_transpose`, faster or more widely
  supported where the backend's own op is not.
- `copy_state(values, reuse)` and `sync_model_state(model)`: the NaN
  guard's snapshots and restores; `callbacks_run_synchronously()` tells
  whether it can restore.
- `keras_internals.KERAS_INTERNALS`: the private Keras names the trainers
  use, each with why (pinned by a test).
"""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.backend import random
from gan_blocks.trainers import (
    compiled_inference,
    compiled_value_and_gradients,
    conv_transpose,
    get_trainer,
    input_gradients,
    value_and_gradients,
)


def copy_state(values: list, reuse: list | None = None) -> list:
    """Detached copies of `values` (tensors), into `reuse`'s memory where the backend can.

    Example:
    >>> import keras
    >>> from gan_blocks.backend import copy_state
    >>> [keras.ops.convert_to_numpy(c).tolist() for c in copy_state([keras.ops.ones(2)])]
    [[1.0, 1.0]]
    """
    return get_trainer().copy_state(values, reuse)


def sync_model_state(model: Any) -> None:
    """Readies `model`'s variables for assignment between steps (JAX refills them)."""
    get_trainer().sync_model_state(model)


def concrete_values(x: Any) -> Any:
    """`x` as numpy when its values exist now (eager), `None` while it is traced.

    For checks of values (labels, indices) that can run only eagerly: inside
    a `tf.function`, `jax.jit` or `torch.compile` there are no values yet.

    Example:
    >>> import keras
    >>> from gan_blocks.backend import concrete_values
    >>> concrete_values(keras.ops.arange(3)).tolist()
    [0, 1, 2]
    """
    return get_trainer().concrete_values(x)


def runs_on_accelerator() -> bool:
    """Whether the backend computes on a GPU/TPU (the NaN guard checks asynchronously there)."""
    return get_trainer().runs_on_accelerator()


def callbacks_run_synchronously() -> bool:
    """Whether Keras calls batch callbacks in step with training on this backend."""
    return get_trainer().callbacks_run_synchronously()


def compiled_draws_match_eager() -> bool:
    """Whether a compiled training step draws the same random numbers as an eager one.

    True on JAX (`jax.random` is the same under `jit`) and torch (the seam's
    hash-based draws); False on TensorFlow, where XLA computes
    `tf.random.stateless_*` with other numbers than TensorFlow's own kernels
    (same seeds, other draws). So on TensorFlow a run compiled with XLA and
    one without follow different random streams, and a run resumed where
    `jit_compile="auto"` resolves otherwise draws other latents.

    Example:
    >>> from gan_blocks.backend import compiled_draws_match_eager
    >>> isinstance(compiled_draws_match_eager(), bool)
    True
    """
    return get_trainer().compiled_draws_match_eager()


def process_layout() -> tuple[int, int]:
    """`(number of processes, this process's index)` of a multi-process run.

    JAX's `jax.process_count()` / `jax.process_index()` under JAX (a
    multi-host run started with `jax.distributed.initialize`); `(1, 0)` on
    TensorFlow and torch, whose multi-worker strategies shard data themselves.
    Data loaders (`gb.data.load_prepared`) read their default slice from it.

    Example:
    >>> from gan_blocks.backend import process_layout
    >>> process_layout()
    (1, 0)
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.process_count(), jax.process_index()
    return 1, 0


def auto_jit_compile_decided_in_fit() -> bool:
    """Whether `jit_compile="auto"` is decided during `fit` on this backend.

    True on torch, where `fit` times its first eager steps and compiles the
    rest of the run only when that pays back (`resolve_auto_jit_compile`);
    False on TensorFlow and JAX, where `compile()` decides.

    Example:
    >>> import keras
    >>> from gan_blocks.backend import auto_jit_compile_decided_in_fit
    >>> auto_jit_compile_decided_in_fit() == (keras.backend.backend() == "torch")
    True
    """
    return keras.backend.backend() == "torch"


__all__ = [
    "auto_jit_compile_decided_in_fit",
    "callbacks_run_synchronously",
    "compiled_draws_match_eager",
    "compiled_inference",
    "compiled_value_and_gradients",
    "concrete_values",
    "conv_transpose",
    "copy_state",
    "input_gradients",
    "process_layout",
    "random",
    "runs_on_accelerator",
    "sync_model_state",
    "value_and_gradients",
]
