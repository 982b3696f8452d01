"""Offline default paired data: edges -> photo crops of scikit-image's photographs."""

from __future__ import annotations

import numpy as np

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")


def _edges(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2gray
    from skimage.feature import canny

    edges = canny(rgb2gray(rgb), sigma=1.5)
    return np.repeat(edges[..., None], 3, axis=-1)


def load_photo_pairs(
    num_pairs: int = 512,
    image_size: int = 64,
    task: str = "edges2photo",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Builds a paired translation task from scikit-image's bundled photographs.

    Random `image_size` crops (at random scales) of six real photographs that
    ship with scikit-image; the source is the crop's Canny edge map
    (`task="edges2photo"`) or its grayscale version (`"gray2photo"`), the
    target the color crop. Needs no download: the offline default of the
    Pix2Pix example. Numpy only (no TensorFlow).

    Args:
        num_pairs: Number of pairs.
        image_size: Side of the crops.
        task: `"edges2photo"` or `"gray2photo"`.
        seed: Seed of the crop positions.

    Returns:
        `(sources, targets)`: float32 arrays in [-1, 1], `(num_pairs, s, s, 3)`.

    Example:
    >>> import gan_blocks as gb
    >>> source, target = gb.data.load_photo_pairs(num_pairs=2, image_size=32)
    >>> source.shape, target.shape
    ((2, 32, 32, 3), (2, 32, 32, 3))
    """
    if task not in ("edges2photo", "gray2photo"):
        raise ValueError(f"`task` must be 'edges2photo' or 'gray2photo'. Received: {task!r}")
    try:
        import skimage.data
        from skimage.color import gray2rgb, rgb2gray
        from skimage.transform import resize
    except ImportError as error:  # pragma: no cover
        raise ImportError(
            'load_photo_pairs needs scikit-image: pip install "gan-blocks[examples]"'
        ) from error
    rng = np.random.default_rng(seed)
    photos = [getattr(skimage.data, name)()[..., :3] for name in PHOTOS]
    sources, targets = [], []
    for index in range(num_pairs):
        photo = photos[index % len(photos)]
        height, width = photo.shape[:2]
        side = int(rng.integers(image_size, min(height, width, 4 * image_size) + 1))
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        crop = photo[top : top + side, left : left + side]
        crop = resize(crop, (image_size, image_size), anti_aliasing=True)  # floats in [0, 1]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        source = _edges(crop) if task == "edges2photo" else gray2rgb(rgb2gray(crop))
        sources.append(source.astype("float32") * 2.0 - 1.0)
        targets.append(crop.astype("float32") * 2.0 - 1.0)
    return np.stack(sources), np.stack(targets)
