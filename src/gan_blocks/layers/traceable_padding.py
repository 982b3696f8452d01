"""Private padding helpers that compile into one graph on every backend.

`keras.ops.pad` builds a new `Pad` operation on every call, eager or not,
and the operation's automatic name reads and bumps a global Keras counter.
Under `torch.compile` that mutation of global state ends the graph at the
next layer call (TorchDynamo: "mapping proxy affected by dictionary
mutation"), so a network with a padding layer traced in pieces. These
helpers pad with `keras.ops.concatenate` (zeros, or mirrored slices) instead,
which every backend traces as ordinary tensor operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keras import ops


def _along(axis: int, index: slice, rank: int) -> tuple:
    slices = [slice(None)] * rank
    slices[axis] = index
    return tuple(slices)


def zero_pad(x: Any, widths: Sequence[tuple[int, int]]) -> Any:
    """`keras.ops.pad(x, widths)` (constant zeros) as concatenations.

    Args:
        x: A tensor of rank `len(widths)`.
        widths: `(before, after)` non-negative integers per axis.

    Returns:
        The padded tensor.

    Example:
    >>> import numpy as np
    >>> from keras import ops
    >>> from gan_blocks.layers.traceable_padding import zero_pad
    >>> ops.convert_to_numpy(zero_pad(np.ones((1, 2), "float32"), [(0, 0), (1, 2)])).tolist()
    [[0.0, 1.0, 1.0, 0.0, 0.0]]
    """
    rank = len(widths)
    for axis, (before, after) in enumerate(widths):
        if not before and not after:
            continue
        zero = ops.zeros_like(x[_along(axis, slice(0, 1), rank)])
        parts = [ops.repeat(zero, before, axis=axis)] if before else []
        parts.append(x)
        if after:
            parts.append(ops.repeat(zero, after, axis=axis))
        x = ops.concatenate(parts, axis=axis)
    return x


def reflect_pad(x: Any, widths: Sequence[tuple[int, int]]) -> Any:
    """`keras.ops.pad(x, widths, mode="reflect")` as concatenations.

    Each border is the mirror image of the pixels next to it, the edge pixel
    itself not repeated (so `width` must be smaller than the axis' length).

    Args:
        x: A tensor of rank `len(widths)`.
        widths: `(before, after)` non-negative integers per axis.

    Returns:
        The padded tensor.

    Example:
    >>> import numpy as np
    >>> from keras import ops
    >>> from gan_blocks.layers.traceable_padding import reflect_pad
    >>> x = np.array([[1.0, 2.0, 3.0]], "float32")
    >>> ops.convert_to_numpy(reflect_pad(x, [(0, 0), (2, 1)])).tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    """
    rank = len(widths)
    for axis, (before, after) in enumerate(widths):
        if not before and not after:
            continue
        parts = []
        if before:
            parts.append(ops.flip(x[_along(axis, slice(1, before + 1), rank)], axis=axis))
        parts.append(x)
        if after:
            tail = x[_along(axis, slice(-after - 1, -1), rank)]
            parts.append(ops.flip(tail, axis=axis))
        x = ops.concatenate(parts, axis=axis)
    return x
