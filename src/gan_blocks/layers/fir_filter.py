"""Private FIR-filter helpers of the StyleGAN2 layers: NVlabs' `upfirdn2d` in `keras.ops`.

`upfirdn2d` up-samples by inserting zeros, pads (or crops), convolves every
channel with a 2-D FIR filter and keeps every `down`-th pixel, as
`torch_utils.ops.upfirdn2d` of NVlabs' stylegan2-ada-pytorch (its reference
implementation), but on channels-last tensors. `Upsample2D`, `Downsample2D`
and `ModulatedConv2D` build on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from keras import ops

from gan_blocks.layers.traceable_padding import zero_pad


def check_fir_filter(name: str, value: Any) -> tuple[float, ...]:
    """`value` as a tuple of floats: a non-empty 1-D sequence of finite numbers, non-zero sum.

    Example:
    >>> from gan_blocks.layers.fir_filter import check_fir_filter
    >>> check_fir_filter("filter", [1, 3, 3, 1])
    (1.0, 3.0, 3.0, 1.0)
    >>> check_fir_filter("filter", [1, -1])
    Traceback (most recent call last):
    ...
    ValueError: `filter` must be a non-empty sequence of finite numbers ... Received: filter=[1, -1]
    """
    message = (
        f"`{name}` must be a non-empty sequence of finite numbers with a non-zero sum, "
        f"such as (1, 3, 3, 1). Received: {name}={value!r}"
    )
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ValueError(message)
    taps = []
    for tap in value:
        if isinstance(tap, (bool, np.bool_)) or not isinstance(
            tap, (int, float, np.integer, np.floating)
        ):
            raise ValueError(message)
        taps.append(float(tap))
    if not taps or not all(math.isfinite(t) for t in taps) or sum(taps) == 0:
        raise ValueError(message)
    return tuple(taps)


def fir_filter_1d(taps: Sequence[float]) -> np.ndarray:
    """1-D taps normalised to sum 1 (float32): the factor of the separable `fir_filter_2d`.

    Example:
    >>> from gan_blocks.layers.fir_filter import fir_filter_1d
    >>> fir_filter_1d((1, 3, 3, 1)).tolist()
    [0.125, 0.375, 0.375, 0.125]
    """
    taps = np.asarray(taps, dtype="float64")
    return (taps / taps.sum()).astype("float32")


def fir_filter_2d(taps: Sequence[float]) -> np.ndarray:
    """The normalised 2-D filter of NVlabs' `setup_filter`: outer product, sum 1 (float32).

    Example:
    >>> from gan_blocks.layers.fir_filter import fir_filter_2d
    >>> f = fir_filter_2d((1, 3, 3, 1))
    >>> f.shape, float(f.sum()), float(f[1, 1] * 64)
    ((4, 4), 1.0, 9.0)
    """
    taps = np.asarray(taps, dtype="float64")
    filter_2d = np.outer(taps, taps)
    return (filter_2d / filter_2d.sum()).astype("float32")


def upsample_padding(filter_size: int, factor: int) -> tuple[int, int]:
    """Padding `(before, after)` of NVlabs' `upsample2d`: the output is `factor` times larger."""
    return (filter_size + factor - 1) // 2, (filter_size - factor) // 2


def downsample_padding(filter_size: int, factor: int) -> tuple[int, int]:
    """Padding `(before, after)` of NVlabs' `downsample2d`: the output is `factor` times smaller."""
    return (filter_size - factor + 1) // 2, (filter_size - factor) // 2


def _dim(x: Any, axis: int) -> Any:
    static = x.shape[axis]
    return static if static is not None else ops.shape(x)[axis]


def separable_taps(fir: Any) -> tuple[float, ...] | None:
    """A 1-D filter as Python floats (`None` for a 2-D filter).

    Python floats keep the filter a constant for compilers that trace numpy
    arrays as tensors (TorchDynamo: `tap != 1.0` on a traced array would be
    a data-dependent branch and break the graph).

    Example:
    >>> from gan_blocks.layers.fir_filter import fir_filter_1d, separable_taps
    >>> separable_taps(fir_filter_1d((1, 3, 3, 1)))
    (0.125, 0.375, 0.375, 0.125)
    >>> separable_taps([[1.0, 1.0], [1.0, 1.0]]) is None
    True
    """
    if isinstance(fir, tuple) and all(isinstance(tap, float) for tap in fir):
        return fir
    array = np.asarray(fir, "float32")
    return tuple(float(tap) for tap in array) if array.ndim == 1 else None


def _fir_along(x: Any, taps: Sequence[float], axis: int, down: int) -> Any:
    # "valid" true convolution of every channel with `taps` along `axis`, keeping
    # every `down`-th output: a weighted sum of shifted (strided) slices.
    size = len(taps)
    length = _dim(x, axis)
    total = None
    for offset, tap in enumerate(taps[::-1]):
        index = [slice(None)] * 4
        index[axis] = slice(offset, length - size + 1 + offset, down)
        term = x[tuple(index)]
        if tap != 1.0:
            term = term * float(tap)
        total = term if total is None else total + term
    return total


def _upsample_along(
    x: Any, taps: Sequence[float], axis: int, up: int, before: int, after: int
) -> Any:
    # Polyphase form of "insert up - 1 zeros, pad, filter" when the output
    # length is a multiple of `up`: output phase r of pixel q sums the taps
    # that land on input pixels, so no inserted zero is ever multiplied
    # (4x less work and memory than filtering the zero-stuffed map).
    size = len(taps)
    length = x.shape[axis]
    count = (up * length + before + after - size + 1) // up
    flipped = taps[::-1]
    phases = []
    shifts = [(r + o - before) // up for r in range(up) for o in range(size)]
    low, high = max(0, -min(shifts)), max(0, count - length + max(shifts))
    widths = [(0, 0)] * 4
    widths[axis] = (low, high)
    padded = zero_pad(x, widths)
    for r in range(up):
        total = None
        for o in range(size):
            if (r + o - before) % up:
                continue
            start = low + (r + o - before) // up
            index = [slice(None)] * 4
            index[axis] = slice(start, start + count)
            term = padded[tuple(index)] * flipped[o]
            total = term if total is None else total + term
        phases.append(total)
    stacked = ops.stack(phases, axis=axis + 1)
    shape = list(x.shape)
    shape[axis] = count * up
    return ops.reshape(stacked, [-1] + shape[1:])


def upfirdn2d(
    x: Any,
    fir: np.ndarray | Sequence[float],
    up: int = 1,
    down: int = 1,
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = 1.0,
) -> Any:
    """Up-samples, pads, FIR-filters and down-samples a channels-last batch.

    Same result as NVlabs' `upfirdn2d` (with `flip_filter=False`) on the
    transposed layout: zeros are inserted after every pixel (`up - 1` of them
    per axis), the map is padded (negative values crop), each channel is
    convolved (a true convolution: the filter is flipped) with the filter
    times `gain` and every `down`-th pixel is kept.

    As in NVlabs' code a 1-D `fir` means the separable filter
    `outer(fir, fir)`: it is applied along rows, then columns (each axis scaled
    by `sqrt(gain)`), as weighted sums of shifted slices, which on CPU is 15 to
    30 times faster than `keras.ops.depthwise_conv` on JAX and torch and as
    fast on TensorFlow. A 2-D `fir` is applied with `keras.ops.depthwise_conv`.

    Args:
        x: A `(batch, height, width, channels)` tensor with a known channel count.
        fir: A 1-D (separable, e.g. from `fir_filter_1d`, or a tuple of
            Python floats from `separable_taps`, which compilers keep
            constant) or 2-D (e.g. from `fir_filter_2d`) numpy filter.
        up: Integer up-sampling factor.
        down: Integer down-sampling factor.
        padding: `(x_before, x_after, y_before, y_after)`, NVlabs' order.
        gain: Multiplies the (2-D) filter.

    Returns:
        The filtered tensor, of the dtype of `x`.

    Example:
    >>> import numpy as np
    >>> from keras import ops
    >>> from gan_blocks.layers.fir_filter import fir_filter_1d, fir_filter_2d, upfirdn2d
    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> y = upfirdn2d(x, fir_filter_1d((1, 1)), down=2)
    >>> ops.convert_to_numpy(y)[0, :, :, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    >>> y2 = upfirdn2d(x, fir_filter_2d((1, 1)), down=2)
    >>> ops.convert_to_numpy(y2)[0, :, :, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    taps = separable_taps(fir)
    channels = x.shape[-1]
    pad_x0, pad_x1, pad_y0, pad_y1 = padding
    if taps is not None:
        # sqrt(gain) per axis; exact for the gains the layers use (1, 4, factor**2).
        taps = tuple(tap * math.sqrt(gain) for tap in taps)
    polyphase = (
        up > 1
        and down == 1
        and taps is not None
        and min(padding) >= 0
        and all(d is not None for d in x.shape[1:])
        and (pad_x0 + pad_x1 - len(taps) + 1) % up == 0
        and (pad_y0 + pad_y1 - len(taps) + 1) % up == 0
    )
    if polyphase:
        x = _upsample_along(x, taps, 1, up, pad_y0, pad_y1)
        return _upsample_along(x, taps, 2, up, pad_x0, pad_x1)
    if up > 1:
        height, width = _dim(x, 1), _dim(x, 2)
        x = ops.reshape(x, (-1, height, 1, width, 1, channels))
        x = zero_pad(x, ((0, 0), (0, 0), (0, up - 1), (0, 0), (0, up - 1), (0, 0)))
        x = ops.reshape(x, (-1, height * up, width * up, channels))
    x = zero_pad(
        x,
        (
            (0, 0),
            (max(pad_y0, 0), max(pad_y1, 0)),
            (max(pad_x0, 0), max(pad_x1, 0)),
            (0, 0),
        ),
    )
    if min(padding) < 0:
        height, width = _dim(x, 1), _dim(x, 2)
        x = x[
            :,
            max(-pad_y0, 0) : height - max(-pad_y1, 0),
            max(-pad_x0, 0) : width - max(-pad_x1, 0),
            :,
        ]
    if taps is not None:
        return _fir_along(_fir_along(x, taps, 1, down), taps, 2, down)
    fir = np.asarray(fir, "float32")
    kernel = fir[::-1, ::-1] * np.float32(gain)
    kernel = np.tile(kernel[:, :, None, None], (1, 1, channels, 1))
    kernel = ops.cast(kernel, x.dtype)
    return ops.depthwise_conv(x, kernel, strides=down, padding="valid")
