"""Per-backend gradient plumbing, behind one contract (`contract.Trainer`).

The shared training math (sampling, losses, metric trackers) is written once
with `keras.ops`. What differs between backends is how gradients are taken and
applied, and a few backend abilities; each module here (`tensorflow`, `jax`,
`torch`) implements every function of `gan_blocks.trainers.contract.Trainer`:

- `train_step(model, *args)`: the backend's `Model.train_step` entry point,
  which calls `model.optimization_step(data, minimize)` with a backend
  `minimize(loss_fn, variables, optimizer)`.
- `test_step(model, *args)`: `Model.test_step`, calling `model.evaluation_step(data)`.
- `input_gradients(fn, x)`: the gradient of `sum(fn(x))` with respect to `x`,
  differentiable again (nested tapes / `jax.grad` / `create_graph=True`), for
  gradient penalties.
- `value_and_gradients(fn, variables)`: a scalar `fn()` of Keras variables
  and its gradients with respect to them (`GradientTape` / `jax.value_and_grad`
  over a `StatelessScope` / torch autograd), for optimisation loops outside
  `fit`. `compiled_value_and_gradients(fn, variables, state)`: the same for
  `fn(*args)` called many times, as one compiled function where the backend
  can (`jax.jit`, `tf.function`).
- `runs_on_accelerator()`: whether the backend computes on a GPU/TPU (there
  `fit`'s NaN guard runs asynchronously instead of waiting for every step).
- `resolve_auto_jit_compile(model)`: the `bool` that `compile(jit_compile="auto")`
  stands for on this backend and machine (the rule: `resolve_auto_jit_compile`
  below). The TensorFlow module also has `onednn_enabled()`, the oneDNN state
  that rule reads. `auto_jit_compile_begin(model, planned_steps, verbose)`:
  starts resolving `"auto"` during a `fit` (torch times its first steps).
- `replica_share(sample_fn, batch_size)`: this replica's share of a global
  batch of random draws (under `tf.distribute`; elsewhere the whole draw).
- `random_normal(shape, seed_generator)`: `keras.random.normal`, traceable
  by `torch.compile` on torch (Keras' torch draws split a compiled step).
- `conv_transpose(...)`: `keras.ops.conv_transpose`, replaced where the
  backend's own op is slow (JAX's kernel gradient on a CPU) or missing
  (TensorFlow's stock CPU kernels: dilated or channels-first transposed
  convolutions).
- `copy_state(values, reuse)`: copies of the model's state tensors for the
  NaN guard's snapshot; torch copies into the memory of the snapshot it
  replaces (`reuse`) in one fused call, TensorFlow and JAX copy (their
  tensors are immutable).
- `prepare_compiled_step(model)`: called once before a compiled train
  function is built; torch makes Keras layers traceable by TorchDynamo (batch
  norm axes as tuples, backend-bound preprocessing layers), a no-op elsewhere.

These modules are the only ones that import a framework to train; besides
them, only the `tf.data` / tensorflow-datasets loaders of `gan_blocks.data`
import TensorFlow, when called. Only the module of the active backend is
ever imported.
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
# Imported trainer modules by backend: layers call `get_trainer()` inside
# compiled steps, where a plain dict lookup traces and `import_module` does not
# (torch.compile would break the graph there).
_LOADED: dict[str, ModuleType] = {}


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
    loaded = _LOADED.get(backend)
    if loaded is not None:
        return loaded
    if backend not in _MODULES:
        raise ValueError(
            f"gan-blocks trains on the tensorflow, jax and torch backends. "
            f"Received: backend={backend!r}"
        )
    _LOADED[backend] = importlib.import_module(_MODULES[backend])
    return _LOADED[backend]


def resolve_auto_jit_compile(model: Any, run_eagerly: bool = False) -> bool:
    """The `jit_compile` that `compile(jit_compile="auto")` stands for.

    gan-blocks' models resolve `"auto"` with this rule instead of Keras' own
    (`keras.Model.compile`), which never uses XLA on CPU-only TensorFlow:

    - `run_eagerly=True`: `False` (as Keras).
    - torch: `False` (eager) at `compile()` time, as Keras; then each
      `fit` times its first eager steps and compiles the rest of the run
      where the saving pays back the compilation
      (`gan_blocks.trainers.torch_auto_compile`, measured on the benchmarks
      page). A step compiled once stays compiled.
    - JAX: `True` when the model supports XLA (as Keras).
    - TensorFlow under a `tf.distribute` strategy: `False` (as Keras).
    - TensorFlow with a GPU or TPU: `True` when the model supports XLA (as
      Keras).
    - TensorFlow on CPUs only: `True` when TensorFlow runs **without oneDNN**
      and the model supports XLA; `False` with oneDNN. Without oneDNN (its
      default on CPUs without AVX512-VNNI/AVX-VNNI/AMX, e.g. AMD Zen 2/3, or
      with `TF_ENABLE_ONEDNN_OPTS=0`) XLA:CPU trains faster than TensorFlow's
      stock kernels (DCGAN on an AMD EPYC: 9.88 against 6.26 steps/s, issue
      #18); with oneDNN, TensorFlow's own kernels are the faster ones. The
      oneDNN state is TensorFlow's own decision,
      `gan_blocks.trainers.tensorflow.onednn_enabled()`; measurements of both
      states are on the benchmarks page.

    "Supports XLA" is Keras' `model_supports_jit`: every layer's
    `supports_jit`, and on TensorFlow op determinism off.

    A model's `compile` needs only
    `resolve_auto_jit_compile(self, run_eagerly) if jit_compile == "auto" else
    jit_compile`; each trainer module implements the backend's part as
    `resolve_auto_jit_compile(model)`.

    Args:
        model: The `keras.Model` being compiled.
        run_eagerly: The `run_eagerly` passed to `compile`.

    Returns:
        `True` to compile the train/test steps with XLA (`torch.compile` on
        torch), `False` otherwise.

    Example:
    >>> import keras
    >>> from gan_blocks.trainers import resolve_auto_jit_compile
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> resolve_auto_jit_compile(model, run_eagerly=True)
    False
    >>> resolve_auto_jit_compile(model) in (True, False)
    True
    """
    if run_eagerly:
        return False
    return bool(get_trainer().resolve_auto_jit_compile(model))


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


def value_and_gradients(fn: Callable[[], Any], variables: list) -> tuple:
    """A scalar `fn()` and its gradients with respect to Keras `variables`.

    For optimisation loops outside `fit` over tensors that are not model
    weights (`gb.latents.project` optimises latents and noise images): pass
    the gradients with the variables to a Keras optimizer's `apply`.
    Non-trainable variables are differentiated too, and a variable that `fn`
    does not use gets a zero gradient. TensorFlow records `fn` on a
    `GradientTape`, JAX runs `jax.value_and_grad` over a `StatelessScope`
    that maps the variables to their values (assignments `fn` makes, such as
    layer state updates, are discarded there), torch uses autograd.

    Args:
        fn: Callable of no arguments returning a scalar tensor that depends on
            the variables' values.
        variables: The `keras.Variable`s to differentiate with respect to.

    Returns:
        `(value, gradients)`: the scalar (float32 tensor) and a list of
        tensors, one per variable, shaped like it.

    Example:
    >>> import keras, numpy as np
    >>> from gan_blocks.trainers import value_and_gradients
    >>> v = keras.Variable(np.array([1.0, 2.0], "float32"))
    >>> value, (gradient,) = value_and_gradients(lambda: keras.ops.sum(v * v), [v])
    >>> float(value), keras.ops.convert_to_numpy(gradient).tolist()
    (5.0, [2.0, 4.0])
    """
    return get_trainer().value_and_gradients(fn, list(variables))


def compiled_value_and_gradients(
    fn: Callable[..., Any], variables: list, state: list | tuple = ()
) -> Callable[..., tuple]:
    """`args -> value_and_gradients(lambda: fn(*args), variables)`, compiled where it can.

    For optimisation loops that call the same objective many times
    (`gb.latents.project`): one `jax.jit` on JAX (one compiled program instead
    of every operation dispatched eagerly at every step), a `tf.function` on
    TensorFlow, eager autograd on torch. `args` are tensors (or numpy arrays)
    of fixed shapes; a new shape traces again. Each call reads the current
    values of `variables` and of `state`: list there every other variable
    `fn` reads whose value may change between calls (the network's weights
    and buffers; JAX would otherwise compile the values of the first call in
    as constants). Assignments `fn` makes to variables are discarded on JAX.

    Args:
        fn: Callable of the `args` returning a scalar tensor.
        variables: The `keras.Variable`s to differentiate with respect to.
        state: Further variables `fn` reads, not differentiated.

    Returns:
        A callable `(*args) -> (value, gradients)`, as `value_and_gradients`.

    Example:
    >>> import keras, numpy as np
    >>> from gan_blocks.trainers import compiled_value_and_gradients
    >>> v = keras.Variable(np.array([1.0, 2.0], "float32"))
    >>> step = compiled_value_and_gradients(lambda t: keras.ops.sum((v - t) ** 2), [v])
    >>> value, (gradient,) = step(np.zeros(2, "float32"))
    >>> float(value), keras.ops.convert_to_numpy(gradient).tolist()
    (5.0, [2.0, 4.0])
    """
    return get_trainer().compiled_value_and_gradients(fn, list(variables), list(state))


def compiled_inference(model: Any) -> Callable[[Any], Any]:
    """`x -> model(x, training=False)`, compiled where the backend can.

    For inference over many batches outside `predict` (StyleGAN2's
    generation): `jax.jit` of the model's `stateless_call` on JAX (the
    variables are arguments: weights trained later are used without
    retracing), a `tf.function` on TensorFlow, eager without gradients on
    torch. State the call updates (seed generators) is written back. Keep
    the returned function and call it with batches of one shape: each new
    shape traces again.

    Args:
        model: A built `keras.Model` (or layer) called on one input.

    Returns:
        A callable from a batch to the model's outputs (backend tensors).

    Example:
    >>> import keras, numpy as np
    >>> from gan_blocks.trainers import compiled_inference
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    >>> model.set_weights([np.array([[1.0], [2.0]], "float32")])
    >>> run = compiled_inference(model)
    >>> keras.ops.convert_to_numpy(run(np.ones((3, 2), "float32"))).ravel().tolist()
    [3.0, 3.0, 3.0]
    """
    return get_trainer().compiled_inference(model)


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
    On TensorFlow's stock CPU kernels (no oneDNN, no GPU/TPU), which reject
    dilation rates above 1 and channels-first inputs, it runs a dilated kernel
    as the zero-filled kernel of the same extent with dilation 1, and
    channels-first inputs transposed (same result, exact up to summation
    order). Elsewhere it is `keras.ops.conv_transpose`. `gb.layers.Conv2DTranspose`
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
    return get_trainer().conv_transpose(
        inputs,
        kernel,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        data_format=data_format,
        dilation_rate=dilation_rate,
    )
