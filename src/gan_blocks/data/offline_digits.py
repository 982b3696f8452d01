"""Offline default data: scikit-learn's 1,797 real handwritten digits."""

from __future__ import annotations

import numpy as np


def load_digits_images(
    image_size: int = 28, with_labels: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Loads scikit-learn's `load_digits` (1,797 real 8x8 digits) as images in [-1, 1].

    The data ships inside scikit-learn, so it needs no download: the offline
    default of the examples. Digits are upsampled with bilinear interpolation to
    `image_size` and scaled to the tanh range. Returns numpy, so it needs no
    TensorFlow (JAX/torch machines).

    Args:
        image_size: Side of the output images (28 like MNIST, or 32).
        with_labels: Also return the digit labels (for `ConditionalGAN`).

    Returns:
        Float32 array `(1797, image_size, image_size, 1)`, and int32 labels if
        requested.

    Example:
    >>> import gan_blocks as gb
    >>> images = gb.data.load_digits_images(image_size=16)
    >>> images.shape, float(images.min()), float(images.max())
    ((1797, 16, 16, 1), -1.0, 1.0)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover
        raise ImportError(
            'load_digits_images needs scikit-learn: pip install "gan-blocks[examples]"'
        ) from error
    from PIL import Image

    digits = load_digits()
    pixels = digits.images.astype("float32") / 16.0  # 0..16 intensities
    resized = np.stack(
        [
            np.asarray(
                Image.fromarray(p).resize((image_size, image_size), Image.BILINEAR),
                dtype="float32",
            )
            for p in pixels
        ]
    )
    images = (np.clip(resized, 0.0, 1.0) * 2.0 - 1.0)[..., None]
    if with_labels:
        return images, digits.target.astype("int32")
    return images
