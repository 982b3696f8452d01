"""Convolution kernels with canonical strides, for torch's half-precision CPU kernels.

Keras' torch backend hands `torch.nn.functional.conv2d` (and the transposed and
1-D/3-D variants) its kernel as a permuted view of the `(..., in, out)`
variable. When the torch-layout kernel has a dimension of size 1 (a
convolution to one channel, as every PatchGAN and DCGAN discriminator ends in,
or a transposed convolution from one channel), that view carries degenerate
strides. In float16 and bfloat16 on CPUs without AVX-512, torch 2.x computes
such convolutions with `slow_conv2d`, whose backward pass then fails with
"slow_conv2d: grad_weight must be contiguous" (or "grad_weight needs to be
contiguous" for the transposed case). Copying just those kernels into
canonical strides avoids it: same values, same gradients, one small copy.
"""

from __future__ import annotations

from typing import Any

import torch

_HALF_DTYPES = (torch.float16, torch.bfloat16)
_INSTALLED = False


def needs_canonical_strides(kernel: Any) -> bool:
    """Whether `kernel` (torch layout) would trip torch's half-precision CPU check."""
    return (
        kernel.device.type == "cpu"
        and kernel.dtype in _HALF_DTYPES
        and 1 in tuple(kernel.shape[:2])
        and not kernel.is_contiguous()
    )


def install() -> None:
    """Wraps Keras' torch kernel transpose once per process (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from keras.src.backend.torch import nn

    transpose = getattr(nn, "_transpose_conv_kernel", None)
    if transpose is None:  # a Keras that moved it: tests/backend pins the name
        return

    def _transpose_conv_kernel(kernel):
        kernel = transpose(kernel)
        return kernel.contiguous() if needs_canonical_strides(kernel) else kernel

    nn._transpose_conv_kernel = _transpose_conv_kernel
    _INSTALLED = True
