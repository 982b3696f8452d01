"""Pixel scaling between uint8 images and the tanh range [-1, 1]."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_tanh_range(images: Any) -> np.ndarray:
    """Maps uint8 pixels (or floats in [0, 255]) to float32 in [-1, 1].

    Args:
        images: Array of pixel values in [0, 255].

    Returns:
        Float32 array `images / 127.5 - 1`.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.data import to_tanh_range
    >>> to_tanh_range(np.array([0, 255], "uint8")).tolist()
    [-1.0, 1.0]
    """
    return np.asarray(images, dtype="float32") / 127.5 - 1.0


def from_tanh_range(images: Any) -> np.ndarray:
    """Maps images in [-1, 1] back to uint8 pixels (clipped).

    Args:
        images: Array of values in [-1, 1].

    Returns:
        Uint8 array.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.data import from_tanh_range
    >>> from_tanh_range(np.array([-1.0, 0.0, 1.0])).tolist()
    [0, 128, 255]
    """
    return np.clip((np.asarray(images) + 1.0) * 127.5, 0, 255).round().astype("uint8")
