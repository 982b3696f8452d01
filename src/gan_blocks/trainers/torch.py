"""PyTorch plumbing: `zero_grad`, `backward`, then `apply` under `no_grad`."""

from __future__ import annotations

import contextlib
import functools
import importlib
import types
import weakref
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import torch
from keras.src.utils.backend_utils import DynamicBackend

from gan_blocks.trainers import torch_auto_compile, torch_conv_kernels

# Mixed precision on CPUs without AVX-512: see torch_conv_kernels.
torch_conv_kernels.install()


def _frozen_parameters(model: Any, variables: list) -> list:
    """The trainable torch parameters of `model` that `variables` leaves out.

    Looked up once per model and set of variables (an optimizer group, or a
    VAE's whole list), then cached.
    """
    cache = _FROZEN.setdefault(model, {})
    key = tuple(map(id, variables))
    frozen = cache.get(key)
    if frozen is None:
        updated = set(key)
        frozen = cache[key] = [
            variable.value for variable in model.trainable_variables if id(variable) not in updated
        ]
    return frozen


_FROZEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _make_minimize(model: Any, compiled: bool = False) -> Callable:
    def minimize(
        loss_fn: Callable[[], tuple],
        variables: list,
        optimizer: Any,
        on_gradients: Callable[[list, Any], None] | None = None,
    ) -> tuple:
        # The other players' parameters are frozen while this one's loss is
        # computed: autograd records no graph for a network that only feeds
        # another (the generator in the discriminator's step) and the
        # backward pass computes no gradient for weights nobody updates (the
        # discriminator's in the generator's step). A compiled loss is traced
        # once per frozen set (TorchDynamo guards on `requires_grad`).
        frozen = [p for p in _frozen_parameters(model, variables) if p.requires_grad]
        for parameter in frozen:
            parameter.requires_grad_(False)
        try:
            loss, aux = _compiled(model, "loss", _call)(loss_fn) if compiled else loss_fn()
        finally:
            for parameter in frozen:
                parameter.requires_grad_(True)
        scaled_loss = optimizer.scale_loss(loss)
        for variable in variables:
            variable.value.grad = None
        scaled_loss.backward()
        gradients = [variable.value.grad for variable in variables]
        with torch.no_grad():
            if on_gradients is not None:
                on_gradients(gradients, optimizer)
            if compiled:
                _compiled(model, optimizer, _apply)(optimizer, gradients, variables)
            else:
                optimizer.apply(gradients, variables)
        return loss, aux

    return minimize


def _call(loss_fn: Callable[[], tuple]) -> tuple:
    return loss_fn()


def _apply(optimizer: Any, gradients: list, variables: list) -> None:
    optimizer.apply(gradients, variables)


def _guard_on_inputs_only(guard_entries: list) -> list:
    """Keeps TorchDynamo's guards on the batch and the player, drops those on modules and globals.

    Only for a function traced in one graph (`_CompiledCall`).

    A Keras model reaches its layers through thousands of attribute and
    global lookups; re-checking them before every call cost about 1.9 ms of a
    12 ms DCGAN step at batch 4. They cannot change while one train function
    lives (Keras rebuilds it after `compile`, `enable_monitoring`, ...; change
    a layer's attributes, e.g. `trainable`, then `compile` again, as Keras
    asks), and each train function compiles into caches of its own
    (`_compiled`). Kept: the batch's shapes, dtypes and devices, and
    everything else the loss closure carries (the player it is for).
    """
    modules = torch.compiler.skip_guard_on_all_nn_modules_unsafe(guard_entries)
    global_values = torch.compiler.skip_guard_on_globals_unsafe(guard_entries)
    return [a and b for a, b in zip(modules, global_values)]


# Per model: the train function its compiled callers belong to, and the
# callers by purpose (the loss, each optimizer's update).
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(model: Any, purpose: Any, function: Callable) -> Callable:
    """The compiled `function` for `model`'s current train function (see `_CompiledCall`)."""
    owner, callers = _COMPILED.get(model, (None, None))
    if callers is None or owner is not model.train_function:
        callers = {}
        _COMPILED[model] = (model.train_function, callers)
    caller = callers.get(id(purpose))
    if caller is None:
        auto = getattr(model, "jit_compile_argument", None) == "auto"
        on_graph_break = functools.partial(torch_auto_compile.stay_eager, model) if auto else None
        caller = callers[id(purpose)] = _CompiledCall(function, on_graph_break)
    return caller


@functools.cache
def _run_keras_cond_frames_eagerly() -> None:
    """Tells TorchDynamo not to compile the frame of `keras.ops.cond` itself.

    `keras.ops.cond` builds a new `Cond` operation on every call, whose
    automatic name reads and increments a global Keras counter. TorchDynamo
    compiled that frame with a guard on the counter's value, which the next
    call had already changed: a lazy regularizer (`every > 1`, StyleGAN2's
    lazy R1 and path length) recompiled it on every step until
    `torch._dynamo` hit its recompile limit (8), then ran it eagerly. The
    frame holds no tensor computation (the branch is a data-dependent
    `if`), so it runs eagerly from the start; the branch functions it calls
    are still compiled, once each. A caller that inlines `keras.ops.cond`
    (with a Python boolean) is unaffected.
    """
    torch._dynamo.eval_frame.skip_code(keras.ops.cond.__code__)


def _fresh_copy(function: Callable) -> Callable:
    # TorchDynamo caches graphs per code object: a copy of the code has a
    # cache of its own.
    code = function.__code__.replace()
    return types.FunctionType(code, function.__globals__, function.__name__)


class _CompiledCall:
    """`torch.compile(function)` with a cache of graphs of its own.

    Each train function (and purpose: the loss, each optimizer's update) gets
    its own, so no graph outlives the train function and model state it was
    traced for. When `function` traces in one graph, TorchDynamo keeps only
    the guards on its inputs (`_guard_on_inputs_only`). When it cannot (a
    gradient penalty, which runs eagerly; a layer TorchDynamo stops at), the
    pieces are compiled as separate frames of Keras' own code, which other
    models share: then every guard stays, as with Keras' own `torch.compile`.
    `dynamic=False`: a new batch shape (a smaller last batch) gets a graph of
    its own; the players' losses share one code object, and automatic
    dynamic shapes would read the generator's inputs as a change of the
    discriminator's shapes.
    """

    def __init__(self, function: Callable, on_graph_break: Callable[[], None] | None = None):
        _run_keras_cond_frames_eagerly()
        self.function = function
        # `jit_compile="auto"`: a function that does not trace in one graph
        # compiles into pieces that are not faster than eager (Pix2Pix's
        # dropout: 143 against 129 ms a step, after 200 s of compiling), so
        # the model goes back to eager instead (TorchDynamo fails fast, before
        # any code is generated).
        self.on_graph_break = on_graph_break
        self.one_graph = torch.compile(
            _fresh_copy(function),
            fullgraph=True,
            dynamic=False,
            options={"guard_filter_fn": _guard_on_inputs_only},
        )
        self.pieces = None

    def __call__(self, *args: Any) -> Any:
        if self.pieces is None:
            try:
                return self.one_graph(*args)
            except torch._dynamo.exc.Unsupported:
                if self.on_graph_break is not None:
                    self.on_graph_break()
                    return self.function(*args)
                self.pieces = torch.compile(_fresh_copy(self.function), dynamic=False)
        return self.pieces(*args)


def train_step(model: Any, data: Any) -> dict:
    """`Model.train_step` for torch: eager, or with compiled losses (`jit_compile=True`)."""
    if model.jit_compile:
        return _train_step_with_compiled_losses(model, data)
    timer = _AUTO_TIMERS.get(model)  # `jit_compile="auto"`, still deciding
    if timer is None:
        return model.optimization_step(data, _make_minimize(model))
    timer.begin_step()
    logs = model.optimization_step(data, _make_minimize(model))
    if timer.end_step(model):
        del _AUTO_TIMERS[model]
    return logs


# With `jit_compile=True` Keras hands the whole step to `torch.compile`, which
# stops at every `backward()` inside a loop over players and then runs the
# step's frame eagerly anyway, tracing what it calls in pieces (and each
# piece several times). Compiling exactly each player's loss (one forward and,
# by AOTAutograd, one backward graph per player) and each optimizer's update
# (all of a player's Adam updates fused into a few kernels) is what a
# hand-written `torch.compile` loop does; `backward()` and the bookkeeping
# stay eager.
@torch.compiler.disable
def _train_step_with_compiled_losses(model: Any, data: Any) -> dict:
    return model.optimization_step(data, _make_minimize(model, compiled=True))


# Eager even inside `torch.compile` (`jit_compile=True`): AOTAutograd cannot
# differentiate a graph twice, which gradient penalties need.
@torch.compiler.disable
def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """`torch.autograd.grad(..., create_graph=True)` input gradient."""
    x = torch.as_tensor(x).detach().requires_grad_(True)
    with torch.enable_grad():
        total = fn(x).float().sum()
        (gradient,) = torch.autograd.grad(total, x, create_graph=True)
    return gradient


def value_and_gradients(fn: Callable[[], Any], variables: list) -> tuple:
    """`fn()` and `torch.autograd.grad` of it with respect to `variables`.

    Non-trainable variables are differentiated too (their tensors require
    gradients for the call only); one that `fn` does not use gets a zero
    gradient.
    """
    values = [variable.value for variable in variables]
    required = [value.requires_grad for value in values]
    try:
        for value in values:
            value.requires_grad_(True)
        with torch.enable_grad():
            result = fn().float()
            gradients = torch.autograd.grad(result, values, allow_unused=True)
    finally:
        for value, flag in zip(values, required):
            value.requires_grad_(flag)
    return result.detach(), [
        torch.zeros_like(value) if gradient is None else gradient
        for value, gradient in zip(values, gradients)
    ]


def compiled_value_and_gradients(
    fn: Callable[..., Any], variables: list, state: list
) -> Callable[..., tuple]:
    """`value_and_gradients` of `fn(*args)`, eagerly: torch reads `state` at each call.

    Not `torch.compile`d: an optimisation loop of a few hundred steps would
    not pay back the compilation (see the `"auto"` rule).
    """
    return lambda *args: value_and_gradients(
        lambda: fn(*[keras.ops.convert_to_tensor(arg) for arg in args]), variables
    )


def compiled_inference(model: Any) -> Callable[[Any], Any]:
    """`model(x, training=False)` eagerly without recording gradients.

    Eager, as Keras' `predict` on torch: compiling costs far more than
    generating a few thousand images saves on a CPU.
    """

    def call(x: Any) -> Any:
        with torch.no_grad():
            return model(x, training=False)

    return call


def test_step(model: Any, data: Any) -> dict:
    """`Model.test_step` for torch."""
    with torch.no_grad():
        return model.evaluation_step(data)


def runs_on_accelerator() -> bool:
    """Whether Keras places torch tensors on a GPU (CUDA, MPS, XPU)."""
    from keras.src.backend.torch.core import get_device

    return str(get_device()) != "cpu"


def resolve_auto_jit_compile(model: Any) -> bool:
    """What `jit_compile="auto"` means for `model` on torch at `compile()` time: eager.

    Each `fit` then decides for its own run (`auto_jit_compile_begin`):
    it times its first eager steps and compiles the rest where the saving
    pays back the compilation (`gan_blocks.trainers.torch_auto_compile`).
    """
    del model
    return False


# The `AutoCompile` timers of the `fit` calls under way, by model.
_AUTO_TIMERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def auto_jit_compile_begin(model: Any, planned_steps: int | None, verbose: bool) -> bool:
    """Starts timing `model`'s eager steps for this `fit` (`AutoCompile`); True: torch decides."""
    model._auto_verbose = verbose
    if model.jit_compile or getattr(model, "_auto_compile_refused", False):
        _AUTO_TIMERS.pop(model, None)  # Compiled by an earlier fit, or does not trace.
    else:
        _AUTO_TIMERS[model] = torch_auto_compile.AutoCompile(planned_steps, verbose)
    return True


def replica_share(sample_fn: Callable[[Any], Any], batch_size: Any) -> Any:
    """`sample_fn(batch_size)`: no replicas inside a torch step."""
    return sample_fn(batch_size)


# A counter-based generator: each value is a hash of (seed state, index).
# Keras' torch draws build a `torch.Generator` per call, which TorchDynamo
# cannot trace: every draw split a compiled step in two (issue #17).
_MASK32 = 0xFFFFFFFF


def _mul32(x: Any, constant: int) -> Any:
    """`x * constant mod 2**32` for `x < 2**32`, with no int64 overflow."""
    low, high = constant & 0xFFFF, constant >> 16
    return (x * low + (((x * high) & 0xFFFF) << 16)) & _MASK32


def _hash32(x: Any) -> Any:
    """Chris Wellons' `lowbias32` integer hash of 32-bit values held in int64."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def _uniform_23bit(shape: tuple, seed_generator: Any) -> Any:
    """Uniform float32 draws in (0, 1) with 23 random bits, from a hash of the seed state.

    Advances `seed_generator` as Keras' draws do (one step per draw, so its
    state alone fixes what a resumed run draws), and draws the same values
    eagerly and compiled.
    """
    # `SeedGenerator.next()`, without the numpy constant TorchDynamo stops at.
    state = seed_generator.state
    seed = state.value * 1
    state.assign(seed + torch.tensor([0, 1], dtype=seed.dtype, device=seed.device))
    seed = seed.to(torch.int64) & _MASK32
    key = _hash32(_hash32(seed[0]) ^ seed[1])
    second_key = _hash32(key ^ 0x9E3779B9)
    count = 1
    for size in shape:
        count *= int(size)
    index = torch.arange(count, dtype=torch.int64, device=seed.device)
    bits = _hash32(_hash32((index + key) & _MASK32) ^ second_key)
    return _bits_to_uniform(bits).reshape(tuple(int(size) for size in shape))


def _bits_to_uniform(bits: Any) -> Any:
    """32 hash bits -> float32 in (0, 1): the top 23 bits, centred, `(k + 0.5) / 2**23`.

    23 bits, not 24: float32 holds `k + 0.5` exactly only below `2**23`. With
    24 bits the largest value rounded to exactly 1.0, where `erfinv(2u - 1)`
    is infinite: one latent in 2**24 was inf and the losses became NaN (a
    DCGAN at batch 64 hit it after 186 steps).
    """
    return ((bits >> 9).to(torch.float32) + 0.5) * 2.0**-23


def random_normal(shape: tuple, seed_generator: Any, dtype: str = "float32") -> Any:
    """Standard-normal draws from `seed_generator`, traceable by `torch.compile`.

    Each value is `sqrt(2) * erfinv(2u - 1)` of a uniform `u` of
    `_uniform_24bit` (one seed step per draw, the same values eagerly and
    compiled).
    """
    normal = torch.erfinv(2.0 * _uniform_23bit(shape, seed_generator) - 1.0) * 2.0**0.5
    return normal.to(_torch_dtype(dtype))


def random_uniform(
    shape: tuple,
    seed_generator: Any,
    minval: float = 0.0,
    maxval: float = 1.0,
    dtype: str = "float32",
) -> Any:
    """Uniform draws in [minval, maxval) from `seed_generator`, traceable by `torch.compile`."""
    uniform = _uniform_23bit(shape, seed_generator)
    return (minval + (maxval - minval) * uniform).to(_torch_dtype(dtype))


def random_randint(
    shape: tuple, seed_generator: Any, minval: int, maxval: int, dtype: str = "int32"
) -> Any:
    """Integers uniform in [minval, maxval) from `seed_generator`, traceable by `torch.compile`."""
    uniform = _uniform_23bit(shape, seed_generator).to(torch.float64)
    values = torch.floor(minval + (maxval - minval) * uniform)
    return torch.clamp(values, minval, maxval - 1).to(_torch_dtype(dtype))


def _torch_dtype(dtype: str) -> Any:
    return keras.src.backend.torch.core.to_torch_dtype(dtype)


def copy_state(values: list, reuse: list | None = None) -> list:
    """Detached copies of `values`; written into `reuse` in one fused call when given."""
    with torch.no_grad():
        if reuse is not None and [r.shape for r in reuse] == [v.shape for v in values]:
            torch._foreach_copy_(reuse, values)
            return reuse
        return [value.detach().clone() for value in values]


def prepare_compiled_step(model: Any) -> None:
    """Makes `model`'s layers traceable by `torch.compile` without graph breaks.

    Two Keras structures stop TorchDynamo, and each stop splits the compiled
    step into pieces (a DCGAN discriminator's loss: 15 graph breaks, slower
    than eager):

    - `BatchNormalization` keeps its reduction axes in a Keras `TrackedList`,
      which `torch.mean` cannot take in a graph: a tuple of the same axes is
      equivalent and traces.
    - preprocessing layers (`Rescaling`, `Normalization`, ...) reach their
      ops through a `DynamicBackend` that imports the backend module on every
      attribute lookup: it is replaced by one bound to the torch module,
      which still switches backends (inside `tf.data`) as before.
    - `ZeroPadding1D/2D/3D` call `keras.ops.pad`, which builds a named Keras
      `Pad` operation on every call; its automatic name bumps a global
      counter, and TorchDynamo stops at the next layer ("mapping proxy
      affected by dictionary mutation"; a CycleGAN ResNet generator: 8
      breaks). They pad with `torch.nn.functional.pad` instead, the same zeros.
    """
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, _ZERO_PADDING_LAYERS) and "call" not in layer.__dict__:
            object.__setattr__(layer, "call", _zero_padding_call(layer))
        axes = getattr(layer, "_reduction_axes", None)
        if isinstance(layer, keras.layers.BatchNormalization) and isinstance(axes, list):
            # `object.__setattr__`: Keras' tracking would wrap the tuple again.
            object.__setattr__(layer, "_reduction_axes", tuple(axes))
        backend = layer.__dict__.get("backend")
        if type(backend) is DynamicBackend and backend.name == "torch":
            object.__setattr__(layer, "backend", _TorchBoundBackend())


_ZERO_PADDING_LAYERS = (
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
)


def _zero_padding_call(layer: Any) -> Callable[[Any], Any]:
    """`layer.call` of a Keras `ZeroPaddingND` by `torch.nn.functional.pad`."""
    padding = layer.padding if isinstance(layer.padding[0], tuple) else (layer.padding,)
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        widths = ((0, 0), (0, 0), *padding)
    else:
        widths = ((0, 0), *padding, (0, 0))
    # torch pads from the last axis backwards: (last_before, last_after, ...).
    flat = [int(amount) for pair in reversed(widths) for amount in pair]

    def call(inputs: Any) -> Any:
        return torch.nn.functional.pad(inputs, flat)

    return call


class _TorchBoundBackend(DynamicBackend):
    """A `DynamicBackend` that answers from the torch module without importing it."""

    def __init__(self):
        super().__init__("torch")
        self._torch_module = importlib.import_module("keras.src.backend.torch")

    def __getattr__(self, name: str) -> Any:
        if self._backend == "torch":
            return getattr(self._torch_module, name)
        return super().__getattr__(name)


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Any:
    """`keras.ops.conv_transpose`: torch's own op and gradients are fast."""
    import keras

    return keras.ops.conv_transpose(
        inputs,
        kernel,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        data_format=data_format,
        dilation_rate=dilation_rate,
    )


def callbacks_run_synchronously() -> bool:
    """Whether Keras calls batch callbacks in step with training on this backend (False here)."""
    return False


def compiled_draws_match_eager() -> bool:
    """True: the seam's hash-based draws give the same numbers eagerly and compiled."""
    return True


def fit_failure_guard(model: Any) -> contextlib.AbstractContextManager:
    """No-op: a failed `fit` leaves the variables as they were on this backend."""
    del model
    return contextlib.nullcontext()


def check_distribution(strategy: Any = None) -> None:
    """Nothing to refuse: gan-blocks does not distribute torch training itself."""
    del strategy


def ensure_shape(x: Any, shape: tuple, name: str) -> Any:
    """`x`: steps are traced with concrete shapes, which the caller checks in Python."""
    del shape, name
    return x


def concrete_values(x: Any) -> Any:
    """`x` as numpy, or `None` while `torch.compile` traces it."""
    if torch.compiler.is_compiling():
        return None
    if isinstance(x, torch.Tensor):
        if x.device.type == "meta":  # Keras' shape inference
            return None
        return x.detach().cpu().numpy()
    return np.asarray(x)


def sync_model_state(model: Any) -> None:
    """Readies `model`'s variables for assignment between steps: a no-op on torch."""
    del model
