"""Paired translation data from grayscale shapes: outline -> filled shape."""

from __future__ import annotations

from typing import Any

import numpy as np


def outline_pairs(
    images: Any, image_size: int | None = None, threshold: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Builds a Pix2Pix task "outline -> filled shape" from grayscale images.

    A pixel of the outline is a background pixel (value <= `threshold`) with
    a foreground pixel among its 8 neighbours: the one-pixel contour just
    outside each stroke. The target is the image itself, so a model must fill
    the strokes in, and a person judges the result at a glance (the offline
    default of `examples/pix2pix.py` uses the shipped MNIST digits). Numpy
    only.

    Args:
        images: Grayscale images in [-1, 1], `(n, height, width, 1)` or
            `(n, height, width)`, e.g. from `gb.data.load_mnist_idx`.
        image_size: Optional side to pad the images to with background (-1),
            centred, e.g. 32 for 28x28 digits (U-Net depths halve the size).
        threshold: Value above which a pixel is foreground.

    Returns:
        `(outlines, targets)`: float32 arrays in [-1, 1] of shape
        `(n, image_size, image_size, 1)`; outlines are -1 or 1.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> square = -np.ones((1, 6, 6, 1), "float32")
    >>> square[0, 2:4, 2:4] = 1.0
    >>> outlines, targets = gb.data.outline_pairs(square)
    >>> (outlines[0, ..., 0] > 0).astype(int)
    array([[0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 1, 0, 0, 1, 0],
           [0, 1, 0, 0, 1, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(
            "outline_pairs expects grayscale images (n, height, width[, 1]); "
            f"received shape {images.shape}."
        )
    if images.size and (images.min() < -1.0 - 1e-3 or images.max() > 1.0 + 1e-3):
        raise ValueError(
            f"outline_pairs expects images in [-1, 1]; received values in "
            f"[{images.min():.3g}, {images.max():.3g}]. Scale them with gb.data.to_tanh_range."
        )
    height, width = images.shape[1:3]
    if image_size is not None:
        if image_size < max(height, width):
            raise ValueError(
                f"`image_size` pads the images and must be >= their side {max(height, width)}; "
                f"received {image_size}."
            )
        top, left = (image_size - height) // 2, (image_size - width) // 2
        images = np.pad(
            images,
            ((0, 0), (top, image_size - height - top), (left, image_size - width - left), (0, 0)),
            constant_values=-1.0,
        )
    foreground = images > threshold
    # 3x3 dilation of the foreground (background padding at the borders).
    padded = np.pad(foreground, ((0, 0), (1, 1), (1, 1), (0, 0)))
    height, width = foreground.shape[1:3]
    dilated = np.zeros_like(foreground)
    for dy in range(3):
        for dx in range(3):
            dilated |= padded[:, dy : dy + height, dx : dx + width]
    outlines = np.where(dilated & ~foreground, 1.0, -1.0).astype("float32")
    return outlines, images
