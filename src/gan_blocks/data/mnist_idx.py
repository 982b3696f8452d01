"""Reader of MNIST's IDX files (plain or gzipped), with no TensorFlow."""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np


def _read_idx(path: str, dims: int) -> np.ndarray:
    """Reads an unsigned-byte IDX file of rank `dims`, checking its header against its size."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"Cannot read {path!r} ({type(error).__name__}: {error}).") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path!r} is not an IDX file (its first two bytes are not zero).")
    if data[2] != 0x08 or data[3] != dims:
        raise ValueError(
            f"{path!r} must be an unsigned-byte IDX file of rank {dims} (header type 0x08, "
            f"{dims} dimensions). Received: type 0x{data[2]:02x}, {data[3]} dimensions."
        )
    offset = 4 + 4 * dims
    if len(data) < offset:
        raise ValueError(f"{path!r} is truncated: {len(data)} bytes, shorter than its header.")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    expected = offset + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(
            f"{path!r} holds {len(data)} bytes but its header declares shape {shape}, "
            f"i.e. {expected} bytes. The file is truncated or corrupt; download it again."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def load_mnist_idx(
    directory: str, prefix: str = "t10k", with_labels: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Loads MNIST-format IDX files from a folder as images in [-1, 1].

    Reads `{prefix}-images-idx3-ubyte[.gz]` (and the labels file when asked),
    for local copies of MNIST or Fashion-MNIST. Each file's header is checked
    against its size, and the image count against the label count: a
    truncated or mismatched file raises a `ValueError` naming it.

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

    images_path = find("images-idx3")
    images = _read_idx(images_path, dims=3).astype("float32") / 127.5 - 1.0
    images = images[..., None]
    if with_labels:
        labels_path = find("labels-idx1")
        labels = _read_idx(labels_path, dims=1).astype("int32")
        if len(labels) != len(images):
            raise ValueError(
                f"{images_path!r} holds {len(images)} images but {labels_path!r} holds "
                f"{len(labels)} labels; the counts must match (mixed-up or corrupt files)."
            )
        return images, labels
    return images
