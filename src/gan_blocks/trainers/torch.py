"""PyTorch plumbing: `zero_grad`, `backward`, then `apply` under `no_grad`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def _make_minimize(model: Any) -> Callable:
    def minimize(
        loss_fn: Callable[[], tuple],
        variables: list,
        optimizer: Any,
        on_gradients: Callable[[list, Any], None] | None = None,
    ) -> tuple:
        loss, aux = loss_fn()
        scaled_loss = optimizer.scale_loss(loss)
        # Clear every gradient: the other player's parameters also receive
        # gradients from this backward pass, and they must not leak into its
        # own next update.
        model.zero_grad(set_to_none=True)
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
