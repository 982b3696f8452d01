"""Per-image geometric transforms written with `keras.ops` (no gathers in Python loops).

Shared by `DiffAugment` and `AdaptiveAugment`: every image of a batch gets
its own parameters, every function is differentiable with respect to the
images, and nothing depends on Python-side values, so XLA compiles them.
"""

from __future__ import annotations

from typing import Any

from keras import ops


def check_image_rank(input_shape: tuple, owner: str) -> None:
    """Raises unless `input_shape` is `(batch, height, width, channels)` with known sides."""
    if len(input_shape) != 4:
        raise ValueError(
            f"{owner} expects channels-last images of rank 4 (batch, height, width, "
            f"channels). Received input shape {tuple(input_shape)} (rank {len(input_shape)})."
        )
    if any(side is None for side in input_shape[1:]):
        raise ValueError(
            f"{owner} needs known height, width and channels. Received input shape "
            f"{tuple(input_shape)}."
        )


def _shift_matrix(shift: Any, size: int, dtype: Any) -> Any:
    """`(batch, size, size)` 0/1 matrices `M[b, i, k] = (k == i + shift[b])`."""
    output = ops.arange(size, dtype="int32")[None, :, None]
    source = ops.arange(size, dtype="int32")[None, None, :]
    return ops.cast(ops.equal(source, output + ops.reshape(shift, (-1, 1, 1))), dtype)


def shift_images(images: Any, rows: Any, columns: Any) -> Any:
    """Moves each image by whole pixels, filling the uncovered border with zeros.

    Args:
        images: `(batch, height, width, channels)`.
        rows: `(batch,)` int shifts; output row `i` reads input row `i + rows[b]`.
        columns: `(batch,)` int shifts, likewise for columns.

    Returns:
        The shifted images. Written as two batched products with 0/1 matrices,
        so the gradient is the exact reverse shift.
    """
    height, width = images.shape[1], images.shape[2]
    images = ops.einsum("bik,bkwc->biwc", _shift_matrix(rows, height, images.dtype), images)
    return ops.einsum("bjl,bhlc->bhjc", _shift_matrix(columns, width, images.dtype), images)


def _reflect(index: Any, size: int) -> Any:
    """Mirrors integer indices into `[0, size)` without repeating the edge (numpy's "reflect")."""
    if size == 1:
        return ops.zeros_like(index)
    period = 2 * (size - 1)
    index = ops.mod(index, period)
    return ops.where(index > size - 1, period - index, index)


def sample_bilinear(images: Any, transforms: Any) -> Any:
    """Resamples each image through its own 3x3 matrix, bilinearly, reflecting at borders.

    Args:
        images: `(batch, height, width, channels)`.
        transforms: `(batch, 3, 3)` float32 matrices mapping an output pixel
            `(x, y, 1)`, in pixels relative to the image centre, to the input
            point it reads.

    Returns:
        The resampled images (same shape and dtype). The gradient with respect
        to the images is the transpose of the bilinear weights.
    """
    batch_size = ops.shape(images)[0]
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    ys, xs = ops.meshgrid(
        ops.arange(height, dtype="float32") - centre_y,
        ops.arange(width, dtype="float32") - centre_x,
        indexing="ij",
    )
    grid = ops.stack([ops.reshape(xs, (-1,)), ops.reshape(ys, (-1,)), ops.ones((height * width,))])
    points = ops.matmul(ops.cast(transforms, "float32"), grid[None])  # (batch, 3, pixels)
    source_x = points[:, 0] + centre_x
    source_y = points[:, 1] + centre_y
    x0, y0 = ops.floor(source_x), ops.floor(source_y)
    weight_x, weight_y = source_x - x0, source_y - y0
    x0, y0 = ops.cast(x0, "int32"), ops.cast(y0, "int32")
    flat = ops.reshape(images, (batch_size, height * width, channels))
    output = None
    for dy, wy in ((0, 1.0 - weight_y), (1, weight_y)):
        row = _reflect(y0 + dy, height) * width
        for dx, wx in ((0, 1.0 - weight_x), (1, weight_x)):
            index = row + _reflect(x0 + dx, width)
            index = ops.broadcast_to(index[:, :, None], (batch_size, height * width, channels))
            corner = ops.take_along_axis(flat, index, axis=1)
            term = corner * ops.cast((wy * wx)[:, :, None], images.dtype)
            output = term if output is None else output + term
    return ops.reshape(output, (batch_size, height, width, channels))
