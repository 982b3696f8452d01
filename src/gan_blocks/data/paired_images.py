"""Paired-image loader for the pix2pix layout (two images side by side)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
DIRECTIONS = ("a_to_b", "b_to_a")
ARCHIVE_EXTENSIONS = (".tar.gz", ".tgz", ".zip")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
# Extractions of local archives, one folder per archive version, reused across calls.
EXTRACT_DIR = "gan_blocks_extracted"


def _is_archive(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith(ARCHIVE_EXTENSIONS)


def _visible_entries(folder: str) -> list[str]:
    """Sorted entries of `folder` without hidden files and macOS `__MACOSX` metadata."""
    return sorted(e for e in os.listdir(folder) if not e.startswith(".") and e != "__MACOSX")


def _subfolders(folder: str) -> list[str]:
    return [e for e in _visible_entries(folder) if os.path.isdir(os.path.join(folder, e))]


def _extract_archive(path: str, wanted: tuple[str, ...] = ()) -> str:
    """Extracts a `.tar.gz`/`.tgz`/`.zip` into a cache folder of its own; returns its data root.

    The folder (under the system temporary directory) is named after the
    archive's path, size and modification time, so a changed archive is
    extracted again and nothing next to the archive is ever read. The data
    root is the extraction itself when it holds one of the `wanted` folders,
    else its single top-level folder (e.g. `facades/` in `facades.tar.gz`).
    """
    stat = os.stat(path)
    identity = f"{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    name = os.path.basename(path)
    stem = name[: -len(next(e for e in ARCHIVE_EXTENSIONS if name.lower().endswith(e)))]
    cache = os.path.join(tempfile.gettempdir(), EXTRACT_DIR)
    target = os.path.join(cache, f"{stem}-{digest}")
    if not os.path.isdir(target):
        os.makedirs(cache, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{stem}-", dir=cache)
        try:
            if name.lower().endswith(".zip"):
                with zipfile.ZipFile(path) as archive:
                    archive.extractall(staging)
            else:
                with tarfile.open(path) as archive:
                    archive.extractall(staging, filter="data")
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise ValueError(
                f"Cannot extract the archive {path!r} ({type(error).__name__}: {error}). "
                "Expected a valid .tar.gz, .tgz or .zip file; download it again."
            ) from error
        try:
            os.rename(staging, target)
        except OSError:  # extracted meanwhile by another process: keep that one
            shutil.rmtree(staging, ignore_errors=True)
    if any(os.path.isdir(os.path.join(target, w)) for w in wanted):
        return target
    entries = _visible_entries(target)
    if len(entries) == 1 and os.path.isdir(os.path.join(target, entries[0])):
        return os.path.join(target, entries[0])
    return target


def _image_files(folder: str) -> list[str]:
    """Sorted image files under `folder` (recursively), skipping hidden files and folders."""
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
        files += [
            os.path.join(root, f)
            for f in names
            if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".")
        ]
    if not files:
        raise FileNotFoundError(f"No {'/'.join(IMAGE_EXTENSIONS)} images under {folder!r}.")
    return sorted(files)


def _decode_error(file: str, error: Exception) -> ValueError:
    return ValueError(
        f"Cannot decode the image file {file!r} ({type(error).__name__}: {error}). "
        "Remove or replace the corrupt file."
    )


def _read_rgb(file: str) -> np.ndarray:
    """Decodes an image file to a uint8 RGB array; a file that fails is named."""
    from PIL import Image

    try:
        with Image.open(file) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as error:
        raise _decode_error(file, error) from error


def _check_pair_width(file: str, width: int) -> None:
    if width < 2:
        raise ValueError(
            f"The image file {file!r} is {width} pixel(s) wide. A pix2pix pair holds two "
            "images side by side (A | B), so it must be at least 2 pixels wide "
            "(2 * the width of one image)."
        )


def _check_pair_file(file: str) -> None:
    """Decodes `file` once (JPEGs at 1/8 scale, which is fast) to refuse corrupt or narrow ones."""
    from PIL import Image

    try:
        with Image.open(file) as image:
            width = image.size[0]
            image.draft("RGB", (1, 1))
            image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise _decode_error(file, error) from error
    _check_pair_width(file, width)


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a uint8 image to `size = (height, width)`."""
    from PIL import Image

    if image.shape[:2] == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR))


def _resolve_files(path: str, split: str | None) -> list[str]:
    path = os.fspath(path)
    if path.startswith(("http://", "https://")):
        import keras

        path = keras.utils.get_file(origin=path, extract=False)
    where = None
    if _is_archive(path):
        root = _extract_archive(path, wanted=(split,) if split else ())
        where = f"{root!r} (extracted from {path!r})"
    elif os.path.isdir(path):
        root = path
    elif os.path.exists(path):
        raise ValueError(
            f"{path!r} is neither a folder nor an archive ({', '.join(ARCHIVE_EXTENSIONS)})."
        )
    else:
        raise FileNotFoundError(f"No folder or .tar.gz archive of paired images at {path!r}.")
    if split:
        folder = os.path.join(root, split)
        if not os.path.isdir(folder):
            raise ValueError(
                f"No {split}/ folder for split={split!r} in {where or repr(root)}. Found folders: "
                f"{_subfolders(root)}. Pass one of them as `split`, or split=None to read "
                "every image under the folder."
            )
        root = folder
    return _image_files(root)


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
    if np.ndim(image) < 2 or image.shape[1] < 2:
        raise ValueError(
            "`image` must be `(height, 2 * width, ...)`: two images side by side, at least "
            f"2 pixels wide. Received: shape={np.shape(image)}"
        )
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
    `path` is a folder, a `.tar.gz` (or `.tgz`, `.zip`) archive, or a URL
    (downloaded once with `keras.utils.get_file` and cached), e.g.
    `PIX2PIX_URL.format(name="facades")`. An archive is extracted once into a
    cache folder of its own (one top-level folder such as `facades/` is
    allowed). Every file is decoded once when the pipeline is built, so a
    corrupt image, or one narrower than 2 pixels, raises a `ValueError` naming
    it. With `jitter=True` (training), pairs get pix2pix's random jitter:
    resize to `image_size * 286 / 256`, the same random `image_size` crop for
    both halves, random mirroring.

    Args:
        path: Folder, archive or URL.
        direction: `"a_to_b"` (left half is the source) or `"b_to_a"`.
        split: Sub-folder to read (`"train"`, `"val"`, `"test"`); a missing one
            is an error listing the folders found. `None` reads every image
            under `path`.
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
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(_check_pair_file, files))
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

    The path for JAX or torch machines without TensorFlow; no jitter. Reads
    the same folders and archives as `load_paired_images`; a corrupt image,
    or one narrower than 2 pixels, raises a `ValueError` naming the file.

    Args:
        path: Folder or archive (`.tar.gz`, `.tgz`, `.zip`).
        direction: `"a_to_b"` or `"b_to_a"`.
        split: Sub-folder to read; a missing one is an error listing the
            folders found. `None` reads every image under `path`.
        image_size: Output side.

    Returns:
        `(sources, targets)`, float32 arrays `(n, image_size, image_size, 3)`.

    Example:
    >>> from gan_blocks.data import load_paired_arrays
    >>> load_paired_arrays.__name__
    'load_paired_arrays'
    """
    sources, targets = [], []
    for file in _resolve_files(path, split):
        image = _read_rgb(file)
        _check_pair_width(file, image.shape[1])
        source, target = split_pair(image, direction)
        for half, out in ((source, sources), (target, targets)):
            resized = _resize(np.ascontiguousarray(half), (image_size, image_size))
            out.append(np.asarray(resized, dtype="float32") / 127.5 - 1.0)
    return np.stack(sources), np.stack(targets)
