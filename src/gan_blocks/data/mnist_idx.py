"""Reader of MNIST's IDX files (plain or gzipped), with no TensorFlow."""

from __future__ import annotations

import gzip
import os

import numpy as np


def _read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as file:
        data = file.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path!r} is not an IDX file.")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist_idx(
    directory: str, prefix: str = "t10k", with_labels: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Loads MNIST-format IDX files from a folder as images in [-1, 1].

    Reads `{prefix}-images-idx3-ubyte[.gz]` (and the labels file when asked),
    for local copies of MNIST or Fashion-MNIST.

    Args:
        directory: Folder holding the IDX files.
        prefix: File prefix, `"train"` or `"t10k"`.
        with_labels: Also return the labels.

    Returns:
        Float32 images `(n, 28, 28, 1)` in [-1, 1], and uint8 labels if asked.

    Example:
    >>> from gan_blocks.data import load_mnist_idx
    >>> load_mnist_idx.__name__
    'load_mnist_idx'
    """

    def find(kind: str) -> str:
        for suffix in ("", ".gz"):
            path = os.path.join(directory, f"{prefix}-{kind}-ubyte{suffix}")
            if os.path.exists(path):
                return path
        raise FileNotFoundError(f"No {prefix}-{kind}-ubyte[.gz] file in {directory!r}.")

    images = _read_idx(find("images-idx3")).astype("float32") / 127.5 - 1.0
    images = images[..., None]
    if with_labels:
        return images, _read_idx(find("labels-idx1")).astype("int32")
    return images
