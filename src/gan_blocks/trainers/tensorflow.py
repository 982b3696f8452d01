"""TensorFlow plumbing: one `GradientTape` per player.

Under a `tf.distribute` strategy (`MirroredStrategy`, `MultiWorkerMirroredStrategy`,
`TPUStrategy`) `train_step` runs once per replica on that replica's share of the
global batch, and Keras optimizers sum the replicas' gradients. Each replica
therefore differentiates its loss divided by the number of replicas (as Keras'
own `compile(loss=...)` does), so the update equals the one-device update on the
global batch; the losses logged are unscaled, and the metric trackers average
them over the replicas.

On CPUs, `resolve_auto_jit_compile` chooses XLA when TensorFlow runs without
oneDNN (`onednn_enabled()`), where TensorFlow's stock kernels are the slower
ones, and `conv_transpose` works around what those kernels lack.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf


def _minimize(
    loss_fn: Callable[[], tuple],
    variables: list,
    optimizer: Any,
    on_gradients: Callable[[list, Any], None] | None = None,
) -> tuple:
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
        scaled_loss = optimizer.scale_loss(loss)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            scaled_loss = scaled_loss * tf.cast(1.0 / replicas, scaled_loss.dtype)
    gradients = tape.gradient(scaled_loss, variables)
    if on_gradients is not None:
        on_gradients(gradients, optimizer)
    optimizer.apply(gradients, variables)
    return loss, aux


def train_step(model: Any, data: Any) -> dict:
    """`Model.train_step` for TensorFlow: runs inside Keras' `tf.function`."""
    return model.optimization_step(data, _minimize)


def auto_jit_compile_begin(model: Any, planned_steps: int | None, verbose: bool) -> bool:
    """False: `"auto"` was resolved at `compile()` time, the same for every run."""
    del model, planned_steps, verbose
    return False


def replica_share(sample_fn: Callable[[Any], Any], batch_size: Any) -> Any:
    """This replica's share of `sample_fn(global_batch_size)`.

    Under a `tf.distribute` strategy every replica runs the step with the same
    seed-generator state, so `keras.random` draws the same values on every
    replica: latents drawn per replica would repeat across replicas. Drawing the
    global batch and slicing out this replica's share gives each replica its own
    latents, the ones a single device draws for the global batch. Without a
    strategy (or with one replica) this is `sample_fn(batch_size)`.

    Args:
        sample_fn: Maps a batch size to a batch of samples (e.g. latents).
        batch_size: This replica's batch size.

    Returns:
        `batch_size` samples.
    """
    context = tf.distribute.get_replica_context()
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if context is None or replicas == 1:
        return sample_fn(batch_size)
    samples = sample_fn(batch_size * replicas)
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * tf.cast(batch_size, tf.int32)
    return samples[start : start + batch_size]


def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """Nested-tape input gradient, differentiable by an enclosing tape."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(tf.cast(fn(x), tf.float32))
    return tape.gradient(total, x)


def value_and_gradients(fn: Callable[[], Any], variables: list) -> tuple:
    """`fn()` and its gradients with respect to `variables`, by one `GradientTape`.

    Every variable is watched, trainable or not; one that `fn` does not use
    gets a zero gradient.
    """
    values = [variable.value for variable in variables]
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for value in values:
            tape.watch(value)
        result = tf.cast(fn(), tf.float32)
    gradients = tape.gradient(result, values)
    return result, [
        tf.zeros_like(value) if gradient is None else tf.convert_to_tensor(gradient)
        for value, gradient in zip(values, gradients)
    ]


def compiled_value_and_gradients(
    fn: Callable[..., Any], variables: list, state: list
) -> Callable[..., tuple]:
    """`value_and_gradients` of `fn(*args)` in one `tf.function` (a graph, without XLA).

    Resource variables are read when the graph runs, so `state` needs no
    passing.
    """
    graph = tf.function(lambda *args: value_and_gradients(lambda: fn(*args), variables))
    return lambda *args: graph(*[tf.convert_to_tensor(arg) for arg in args])


def compiled_inference(model: Any) -> Callable[[Any], Any]:
    """`model(x, training=False)` in a `tf.function` (a graph, without XLA)."""
    return tf.function(lambda x: model(x, training=False))


def test_step(model: Any, data: Any) -> dict:
    """`Model.test_step` for TensorFlow."""
    return model.evaluation_step(data)


def runs_on_accelerator() -> bool:
    """Whether TensorFlow sees a GPU or TPU."""
    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


# ------------------------------------------------------------ oneDNN and XLA
# TF_ENABLE_ONEDNN_OPTS values TensorFlow accepts (`ReadBoolFromEnvVar`).
_TRUE, _FALSE = ("1", "true"), ("0", "false")
# The CPU features for which TensorFlow's Linux x86 builds turn oneDNN on by
# default (`DefaultOneDnnPolicy` in tensorflow/core/util/port.cc), as
# /proc/cpuinfo names them.
_ONEDNN_CPU_FLAGS = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


def onednn_enabled() -> bool:
    """Whether this TensorFlow process runs its CPU kernels with oneDNN.

    TensorFlow decides once per process, when it first needs the answer (at
    import): `TF_ENABLE_ONEDNN_OPTS` (`"1"`/`"true"` or `"0"`/`"false"`) wins
    if set; otherwise Linux x86 builds use oneDNN on CPUs with the
    neural-network instructions (AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX:
    recent Intel Xeons, AMD Zen 4 and later) and the stock CPU kernels
    elsewhere (e.g. AMD Zen 2/3, older Intel), and Windows builds do not use
    it. Setting the variable after TensorFlow was imported changes nothing.

    The answer is TensorFlow's own (`IsMklEnabled()` of
    `tensorflow.python.util._pywrap_util_port`, what TensorFlow's tests use);
    should that private module go away, the same rule is applied to the
    environment and `/proc/cpuinfo`.

    Returns:
        `True` if oneDNN is in use.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # pragma: no cover - depends on TensorFlow's internals
        return _onednn_default()
    return bool(_pywrap_util_port.IsMklEnabled())


def _onednn_default() -> bool:
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("flags"):
                    return bool(set(line.split(":", 1)[1].split()) & set(_ONEDNN_CPU_FLAGS))
    except OSError:
        pass
    return False


@functools.cache
def _has_accelerator() -> bool:
    # Keras' own test in `Trainer._resolve_auto_jit_compile`: any physical
    # device that is not a CPU (physical devices do not change in a process).
    return any(device.device_type != "CPU" for device in tf.config.list_physical_devices())


def _under_distribute_strategy(model: Any) -> bool:
    # Keras records the strategy a model was created under; compile may also
    # run inside a strategy's scope.
    return bool(getattr(model, "_distribute_strategy", None)) or tf.distribute.has_strategy()


def resolve_auto_jit_compile(model: Any) -> bool:
    """What `jit_compile="auto"` means for `model` on TensorFlow.

    - Under a `tf.distribute` strategy (other than the default one): `False`.
    - With a GPU or TPU: Keras' own rule, `True` when the model supports XLA
      (every layer's `supports_jit`, op determinism off; Keras'
      `model_supports_jit`).
    - CPU only: `True` when TensorFlow runs without oneDNN (`onednn_enabled()`)
      and the model supports XLA, else `False`. Without oneDNN TensorFlow's
      stock CPU kernels are slower than XLA:CPU; with oneDNN (AVX-512-VNNI /
      AMX CPUs) TensorFlow's own kernels are faster than XLA (see the
      benchmarks page). Keras itself never uses XLA on CPU-only TensorFlow.
    - `False` for a model that combines `AdaptiveAugment` with a lazy
      regularizer (`every > 1`): XLA cannot differentiate the regularizer's
      `cond` twice through ADA's warps (TensorFlow fails with "InvertPermutation:
      0 is duplicated in the input"); TensorFlow's own kernels can.
    """
    from keras.src.trainers.trainer import model_supports_jit

    if _under_distribute_strategy(model) or _lazy_regularizer_through_ada(model):
        return False
    if _has_accelerator():
        return bool(model_supports_jit(model))
    return not onednn_enabled() and bool(model_supports_jit(model))


def _lazy_regularizer_through_ada(model: Any) -> bool:
    from gan_blocks.layers.adaptive_augment import AdaptiveAugment

    augmentation = getattr(model, "augmentation", None)
    layers = [] if augmentation is None else list(augmentation._flatten_layers())
    if not any(isinstance(layer, AdaptiveAugment) for layer in layers):
        return False
    regularizers = getattr(model, "regularizers", {}) or {}
    return any(getattr(r, "every", 1) > 1 for items in regularizers.values() for r in items)


# ----------------------------------------------------------- conv_transpose
def _as_tuple(value: Any, rank: int) -> tuple:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _dilate_kernel(kernel: Any, dilation_rate: tuple) -> Any:
    """The kernel with `rate - 1` zeros between taps along each spatial axis.

    A kernel of size `k` dilated by `d` covers `d * (k - 1) + 1` positions; the
    zero-filled kernel of that size with dilation 1 gives the same convolution.
    """
    kernel = tf.convert_to_tensor(kernel)
    rank = len(dilation_rate)
    for axis, rate in enumerate(dilation_rate):
        if rate == 1:
            continue
        shape = kernel.shape.as_list()
        size = shape[axis]
        # Each tap followed by `rate - 1` zeros, then the trailing zeros cut off.
        paddings = [[0, 0]] * (rank + 3)
        paddings[axis + 1] = [0, rate - 1]
        spread = tf.pad(tf.expand_dims(kernel, axis + 1), paddings)
        spread = tf.reshape(spread, shape[:axis] + [size * rate] + shape[axis + 1 :])
        begin = [0] * (rank + 2)
        extent = [-1] * (rank + 2)
        extent[axis] = (size - 1) * rate + 1
        kernel = tf.slice(spread, begin, extent)
    return kernel


def _stock_cpu_kernels() -> bool:
    """Whether TensorFlow runs convolutions with its stock CPU kernels.

    That is without oneDNN and without a GPU/TPU to place them on. Those
    kernels lack dilated and channels-first transposed convolutions.
    """
    return not onednn_enabled() and not _has_accelerator()


@tf.function(autograph=False)
def _copies(values: list) -> list:
    # Reads of the variables as they are now: a later assignment writes new
    # memory (resource variables copy on write), so these stay unchanged.
    return [tf.identity(value) for value in values]


def copy_state(values: list, reuse: list | None = None) -> list:
    """Copies of `values` on their device, in one graph call (`reuse` unused).

    One `tf.function` call copies the whole state: 1.1 ms for DCGAN's 58
    tensors (2.7 M values) on a 2-core CPU, against 4.6 ms for a Python loop
    of eager copies.
    """
    del reuse
    return _copies(list(values))


def prepare_compiled_step(model: Any) -> None:
    """Nothing to do: XLA traces Keras layers as they are."""
    del model


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Any:
    """`keras.ops.conv_transpose` that also runs on TensorFlow's stock CPU kernels.

    TensorFlow's stock CPU kernel of a transposed convolution
    (`Conv2DBackpropInput`, used when TensorFlow runs without oneDNN, see
    `onednn_enabled()`, and sees no GPU/TPU) rejects dilation rates above 1
    ("Current CPU implementations do not yet support dilation rates larger
    than 1") and channels-first inputs ("only supports NHWC"); its oneDNN
    kernel, cuDNN and XLA accept both. There, this op spreads a dilated kernel
    out with zeros (`_dilate_kernel`) and runs it with dilation 1, and runs
    channels-first inputs transposed to channels-last: the same output shape,
    padding and values (up to float summation order; an infinite input times
    an inserted zero gives NaN), both gradients flowing through the rewrite.
    Everywhere else it is `keras.ops.conv_transpose`
    itself. Arguments and result as `gan_blocks.trainers.conv_transpose`,
    which dispatches here on TensorFlow.
    """
    data_format = (data_format or keras.config.image_data_format()).lower()
    rates = _as_tuple(dilation_rate, len(kernel.shape) - 2)
    dilated = any(rate != 1 for rate in rates)
    if not (dilated or data_format == "channels_first") or not _stock_cpu_kernels():
        return keras.ops.conv_transpose(
            inputs,
            kernel,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
        )
    # keras.ops' conversion: a variable's value under the layer's autocast.
    kernel, inputs = keras.ops.convert_to_tensor(kernel), keras.ops.convert_to_tensor(inputs)
    if dilated:
        kernel = _dilate_kernel(kernel, rates)
    spatial = list(range(2, len(rates) + 2))
    if data_format == "channels_first":
        inputs = tf.transpose(inputs, [0, *spatial, 1])
    outputs = keras.ops.conv_transpose(
        inputs,
        kernel,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        data_format="channels_last",
        dilation_rate=1,
    )
    if data_format == "channels_first":
        outputs = tf.transpose(outputs, [0, len(rates) + 1, *(axis - 1 for axis in spatial)])
    return outputs


def random_normal(shape: tuple, seed_generator: Any, dtype: str = "float32") -> Any:
    """`keras.random.normal(shape, seed=seed_generator)`: it traces as it is."""
    return keras.random.normal(shape, seed=seed_generator, dtype=dtype)


def random_uniform(
    shape: tuple,
    seed_generator: Any,
    minval: float = 0.0,
    maxval: float = 1.0,
    dtype: str = "float32",
) -> Any:
    """`keras.random.uniform(shape, minval, maxval, seed=seed_generator)`: it traces as it is."""
    return keras.random.uniform(shape, minval, maxval, dtype=dtype, seed=seed_generator)


def random_randint(
    shape: tuple, seed_generator: Any, minval: int, maxval: int, dtype: str = "int32"
) -> Any:
    """`keras.random.randint(shape, minval, maxval, seed=seed_generator)`: it traces as it is."""
    return keras.random.randint(shape, minval, maxval, dtype=dtype, seed=seed_generator)


def callbacks_run_synchronously() -> bool:
    """Whether Keras calls batch callbacks in step with training on this backend (True here)."""
    return True


def compiled_draws_match_eager() -> bool:
    """False: XLA computes `tf.random.stateless_*` with other numbers than TF's kernels."""
    return False


def fit_failure_guard(model: Any) -> contextlib.AbstractContextManager:
    """No-op: a failed `fit` leaves the variables as they were on this backend."""
    del model
    return contextlib.nullcontext()


def check_distribution(strategy: Any = None) -> None:
    """Refuses `MultiWorkerMirroredStrategy` over several workers, with what to use instead.

    Keras 3.15's `fit` fails under it for any model, a plain `Sequential`
    included ("Attempt to convert a value (PerReplica...)"; with gan-blocks
    "Invalid reduction dimension 0"), after the workers have started. With
    one worker (no `TF_CONFIG` cluster) it is a `MirroredStrategy` and works.
    """
    strategy = tf.distribute.get_strategy() if strategy is None else strategy
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    tasks = sum(len(addresses) for addresses in cluster.values())
    if tasks > 1:
        raise RuntimeError(
            f"tf.distribute.MultiWorkerMirroredStrategy over {tasks} workers is not "
            "supported: Keras 3.15's fit fails under it for every model (a plain "
            "Sequential too). Train on several machines with the JAX backend and "
            "keras.distribution.DataParallel (see the 'Many machines' section of "
            "docs/scaling.md), or on one machine with tf.distribute.MirroredStrategy."
        )


def ensure_shape(x: Any, shape: tuple, name: str) -> Any:
    """`tf.ensure_shape` where the traced shape of `x` leaves entries of `shape` unknown.

    Keras traces one step for a generator's batches when their shapes differ
    (it relaxes the differing entries to `None`); without this check a batch
    of the wrong shape reached XLA and failed as a matrix-size error deep in a
    convolution.
    """
    traced = tuple(x.shape)
    if len(traced) == len(shape) and all(t is not None or s is None for t, s in zip(traced, shape)):
        return x
    return tf.ensure_shape(x, shape, name=name)


def concrete_values(x: Any) -> Any:
    """`x` as numpy, or `None` inside a `tf.function` (a symbolic tensor)."""
    if tf.is_symbolic_tensor(x) or not tf.executing_eagerly():
        return None
    return np.asarray(x)


def sync_model_state(model: Any) -> None:
    """Readies `model`'s variables for assignment between steps: a no-op on TensorFlow."""
    del model
