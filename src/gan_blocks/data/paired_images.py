"""Paired-image loader for the pix2pix layout (two images side by side)."""

from __future__ import annotations

import os
import tarfile
from typing import Any

import numpy as np

PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
DIRECTIONS = ("a_to_b", "b_to_a")


def _resolve_files(path: str, split: str | None) -> list[str]:
    if path.startswith(("http://", "https://")):
        import keras

        archive = keras.utils.get_file(origin=path, extract=False)
        path = archive
    if os.path.isfile(path) and (path.endswith(".tar.gz") or path.endswith(".tgz")):
        target = path[: -len(".tar.gz")] if path.endswith(".tar.gz") else path[:-4]
        if not os.path.isdir(target):
            with tarfile.open(path) as archive:
                archive.extractall(os.path.dirname(target) or ".", filter="data")
        candidates = [target] + [
            os.path.join(os.path.dirname(target), d) for d in os.listdir(os.path.dirname(target))
        ]
        path = next((c for c in candidates if os.path.isdir(c)), target)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No folder or .tar.gz archive of paired images at {path!r}.")
    if split and os.path.isdir(os.path.join(path, split)):
        path = os.path.join(path, split)
    files = sorted(
        os.path.join(root, f)
        for root, _, names in os.walk(path)
        for f in names
        if f.lower().endswith((".jpg", ".jpeg", ".png"))
    )
    if not files:
        raise FileNotFoundError(f"No .jpg or .png images under {path!r}.")
    return files


def split_pair(image: np.ndarray, direction: str = "a_to_b") -> tuple[np.ndarray, np.ndarray]:
    """Splits a side-by-side image into `(source, target)`.

    Args:
        image: Array `(height, 2 * width, channels)`: image A left, B right.
        direction: `"a_to_b"` (left is the source) or `"b_to_a"`.

    Returns:
        `(source, target)`.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.data import split_pair
    >>> pair = np.concatenate([np.zeros((2, 2, 3)), np.ones((2, 2, 3))], axis=1)
    >>> source, target = split_pair(pair, "b_to_a")
    >>> float(source.mean()), float(target.mean())
    (1.0, 0.0)
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"`direction` must be one of {DIRECTIONS}. Received: {direction!r}")
    width = image.shape[1] // 2
    left, right = image[:, :width], image[:, width : 2 * width]
    return (left, right) if direction == "a_to_b" else (right, left)


def jitter_pair(
    source: Any, target: Any, load_size: int = 286, crop_size: int = 256, seed: Any = None
) -> tuple[Any, Any]:
    """pix2pix's random jitter: resize, the SAME random crop for both, random mirror.

    Works on `tf.Tensor`s inside a `tf.data` pipeline.

    Args:
        source: Source image tensor `(height, width, channels)`.
        target: Target image tensor of the same height and width.
        load_size: Side both are resized to first (286).
        crop_size: Side of the random crop (256).
        seed: Optional stateless seed (a shape-(2,) int tensor).

    Returns:
        The jittered `(source, target)`.

    Example:
    >>> from gan_blocks.data import jitter_pair
    >>> jitter_pair.__name__
    'jitter_pair'
    """
    import tensorflow as tf

    channels = source.shape[-1]
    stacked = tf.concat([source, target], axis=-1)
    stacked = tf.image.resize(stacked, (load_size, load_size), method="nearest")
    total = stacked.shape[-1]
    if seed is None:
        stacked = tf.image.random_crop(stacked, (crop_size, crop_size, total))
        flip = tf.random.uniform(()) > 0.5
    else:
        stacked = tf.image.stateless_random_crop(stacked, (crop_size, crop_size, total), seed)
        flip = tf.random.stateless_uniform((), seed + 1) > 0.5
    stacked = tf.cond(flip, lambda: tf.image.flip_left_right(stacked), lambda: stacked)
    return stacked[..., :channels], stacked[..., channels:]


def load_paired_images(
    path: str,
    direction: str = "a_to_b",
    split: str | None = "train",
    image_size: int = 256,
    jitter: bool = True,
    batch_size: int = 1,
    shuffle_buffer: int = 400,
    seed: int | None = 0,
) -> Any:
    """Loads pix2pix-layout image pairs as a `tf.data` pipeline in [-1, 1].

    Each file holds two images side by side (A | B), like the facades data set.
    `path` is a folder, a `.tar.gz` archive, or a URL (downloaded once with
    `keras.utils.get_file` and cached), e.g. `PIX2PIX_URL.format(name="facades")`.
    With `jitter=True` (training), pairs get pix2pix's random jitter: resize to
    `image_size * 286 / 256`, the same random `image_size` crop for both halves,
    random mirroring.

    Args:
        path: Folder, `.tar.gz` file or URL.
        direction: `"a_to_b"` (left half is the source) or `"b_to_a"`.
        split: Sub-folder to read when present (`"train"`, `"val"`, `"test"`).
        image_size: Output side.
        jitter: Apply the random jitter.
        batch_size: Batch size (pix2pix uses 1).
        shuffle_buffer: Shuffle buffer (0 disables shuffling).
        seed: Shuffle seed.

    Returns:
        A `tf.data.Dataset` of `(source, target)` batches.

    Example:
    >>> import gan_blocks as gb
    >>> gb.data.load_paired_images.__name__
    'load_paired_images'
    """
    import tensorflow as tf

    if direction not in DIRECTIONS:
        raise ValueError(f"`direction` must be one of {DIRECTIONS}. Received: {direction!r}")
    files = _resolve_files(path, split)
    load_size = int(round(image_size * 286 / 256))

    def read(file: Any) -> tuple[Any, Any]:
        image = tf.io.decode_image(tf.io.read_file(file), channels=3, expand_animations=False)
        image = tf.cast(image, tf.float32) / 127.5 - 1.0
        width = tf.shape(image)[1] // 2
        left, right = image[:, :width], image[:, width : 2 * width]
        source, target = (left, right) if direction == "a_to_b" else (right, left)
        if jitter:
            source.set_shape((None, None, 3))
            target.set_shape((None, None, 3))
            return jitter_pair(source, target, load_size, image_size)
        size = (image_size, image_size)
        return tf.image.resize(source, size), tf.image.resize(target, size)

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_buffer:
        dataset = dataset.shuffle(min(shuffle_buffer, len(files)), seed=seed)
    dataset = dataset.map(read, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def load_paired_arrays(
    path: str, direction: str = "a_to_b", split: str | None = "train", image_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Loads pix2pix-layout pairs into numpy arrays in [-1, 1] (no TensorFlow).

    The path for JAX or torch machines without TensorFlow; no jitter.

    Args:
        path: Folder or `.tar.gz` archive.
        direction: `"a_to_b"` or `"b_to_a"`.
        split: Sub-folder to read when present.
        image_size: Output side.

    Returns:
        `(sources, targets)`, float32 arrays `(n, image_size, image_size, 3)`.

    Example:
    >>> from gan_blocks.data import load_paired_arrays
    >>> load_paired_arrays.__name__
    'load_paired_arrays'
    """
    from PIL import Image

    sources, targets = [], []
    for file in _resolve_files(path, split):
        image = np.asarray(Image.open(file).convert("RGB"))
        source, target = split_pair(image, direction)
        for half, out in ((source, sources), (target, targets)):
            resized = Image.fromarray(half).resize((image_size, image_size), Image.BILINEAR)
            out.append(np.asarray(resized, dtype="float32") / 127.5 - 1.0)
    return np.stack(sources), np.stack(targets)
