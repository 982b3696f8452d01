"""Argument checks shared by `DCGANUpBlock` and `DCGANDownBlock`."""

from __future__ import annotations

from typing import Any


def as_pair(value: Any, name: str) -> tuple[int, int]:
    """Returns `value` as a pair of ints."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 1 for v in pair):
        raise ValueError(
            f"`{name}` must be a positive int or pair of ints. Received: {name}={value!r}"
        )
    return pair


def check_no_checkerboard(kernel_size: Any, strides: Any) -> None:
    """Raises when the kernel size is not divisible by the stride.

    With `kernel_size % strides != 0` a (transposed) convolution overlaps
    unevenly, painting checkerboard artifacts into generated images (Odena et
    al., "Deconvolution and Checkerboard Artifacts", Distill 2016).
    """
    kernel = as_pair(kernel_size, "kernel_size")
    stride = as_pair(strides, "strides")
    if any(k % s for k, s in zip(kernel, stride)):
        raise ValueError(
            f"kernel_size={kernel_size!r} is not divisible by strides={strides!r}. "
            "Uneven overlap of strided (transposed) convolutions produces checkerboard "
            "artifacts; use a kernel size divisible by the stride (e.g. kernel_size=4 "
            "with strides=2)."
        )
