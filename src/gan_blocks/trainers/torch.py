"""PyTorch plumbing: `zero_grad`, `backward`, then `apply` under `no_grad`."""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable
from typing import Any

import keras
import torch
from keras.src.utils.backend_utils import DynamicBackend


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


def _make_minimize(model: Any) -> Callable:
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
        # discriminator's in the generator's step). Not inside `torch.compile`,
        # where changing `requires_grad` would split the graph: there the
        # backward also fills the other players' gradients (extra work, not
        # a leak: each player's gradients are cleared before its own update).
        frozen = [] if torch.compiler.is_compiling() else _frozen_parameters(model, variables)
        frozen = [p for p in frozen if p.requires_grad]
        for parameter in frozen:
            parameter.requires_grad_(False)
        try:
            loss, aux = loss_fn()
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
            optimizer.apply(gradients, variables)
        return loss, aux

    return minimize


def train_step(model: Any, data: Any) -> dict:
    """`Model.train_step` for torch (eager, or under `torch.compile`)."""
    return model.optimization_step(data, _make_minimize(model))


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


def test_step(model: Any, data: Any) -> dict:
    """`Model.test_step` for torch."""
    with torch.no_grad():
        return model.evaluation_step(data)


def runs_on_accelerator() -> bool:
    """Whether Keras places torch tensors on a GPU (CUDA, MPS, XPU)."""
    from keras.src.backend.torch.core import get_device

    return str(get_device()) != "cpu"


def resolve_auto_jit_compile(model: Any) -> bool:
    """What `jit_compile="auto"` means for `model` on torch: `False` (eager).

    Keras' own rule: `"auto"` never uses `torch.compile`; pass
    `jit_compile=True` to get it.
    """
    del model
    return False


def replica_share(sample_fn: Callable[[Any], Any], batch_size: Any) -> Any:
    """`sample_fn(batch_size)`: no replicas inside a torch step."""
    return sample_fn(batch_size)


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
    """
    for layer in model._flatten_layers(include_self=True, recursive=True):
        axes = getattr(layer, "_reduction_axes", None)
        if isinstance(layer, keras.layers.BatchNormalization) and isinstance(axes, list):
            # `object.__setattr__`: Keras' tracking would wrap the tuple again.
            object.__setattr__(layer, "_reduction_axes", tuple(axes))
        backend = layer.__dict__.get("backend")
        if type(backend) is DynamicBackend and backend.name == "torch":
            object.__setattr__(layer, "backend", _TorchBoundBackend())


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
