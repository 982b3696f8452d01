"""Images for the command-line tools: a folder, an `.npz`, or a saved model's samples."""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any

import numpy as np

from gan_blocks.data.paired_images import _decode_error, _image_files
from gan_blocks.data.scaling import to_tanh_range

STATISTICS_KEY = "header"  # present in gb.metrics.ReferenceStatistics files


def progress(label: str, done: int, total: int) -> None:
    """A one-line progress counter on stderr (stdout stays clean for `--json`)."""
    end = "\n" if done >= total else ""
    print(f"\r{label}: {done}/{total}", end=end, file=sys.stderr, flush=True)


def read_folder(folder: str, channels: int | None = None) -> np.ndarray:
    """All PNG/JPEG/BMP images under `folder` (sorted, recursive) in [-1, 1].

    Args:
        folder: Folder of images, all of one size.
        channels: 1 or 3; `None` takes the first image's (1 for grayscale).

    Returns:
        Float32 array `(n, height, width, channels)`.
    """
    from PIL import Image

    files = _image_files(folder)
    images = []
    for index, file in enumerate(files):
        try:
            with Image.open(file) as image:
                if channels is None:
                    channels = 1 if image.mode in ("1", "L", "I;16", "I") else 3
                array = np.asarray(image.convert("L" if channels == 1 else "RGB"))
        except (OSError, SyntaxError, ValueError) as error:
            raise _decode_error(file, error) from error
        if images and array.shape[:2] != images[0].shape[:2]:
            raise ValueError(
                f"Images in {folder!r} must all have one size: {files[0]!r} is "
                f"{images[0].shape[1]}x{images[0].shape[0]} but {file!r} is "
                f"{array.shape[1]}x{array.shape[0]} (width x height). Resize them first."
            )
        images.append(array.reshape(array.shape[:2] + (channels,)))
        if (index + 1) % 500 == 0 or index + 1 == len(files):
            progress(f"reading {folder}", index + 1, len(files))
    return to_tanh_range(np.stack(images))


def read_npz_images(path: str) -> np.ndarray:
    """Images from an `.npz`: the array `images`, or its only array; uint8 is rescaled."""
    with np.load(path, allow_pickle=False) as data:
        if STATISTICS_KEY in data.files:
            raise ValueError(
                f"{path!r} holds reference statistics, not images: pass it as --reference."
            )
        if "images" in data.files:
            images = data["images"]
        elif len(data.files) == 1:
            images = data[data.files[0]]
        else:
            raise ValueError(
                f"{path!r} holds several arrays ({sorted(data.files)}); name the images "
                "array `images`."
            )
    if images.ndim not in (3, 4):
        raise ValueError(
            f"Expected images of shape (n, height, width[, channels]) in {path!r}; "
            f"received shape {images.shape}."
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.dtype == np.uint8:
        return to_tanh_range(images)
    images = images.astype("float32")
    low, high = float(images.min()), float(images.max())
    if low < -1.001 or high > 1.001:
        raise ValueError(
            f"Float images in {path!r} must be in [-1, 1] (or store uint8 pixels); "
            f"received values in [{low:.4g}, {high:.4g}]."
        )
    return images


def read_prepared(path: str) -> np.ndarray:
    """All images of a prepared dataset (`gb.data.prepare_images`), in [-1, 1], in its order."""
    from gan_blocks.data.load_prepared import read_prepared_manifest

    manifest = read_prepared_manifest(path)
    shards = [
        np.load(os.path.join(path, shard["images"]), mmap_mode="r") for shard in manifest["shards"]
    ]
    return to_tanh_range(np.concatenate(shards))


def read_images(path: str, channels: int | None = None) -> np.ndarray:
    """Images from a folder, a prepared dataset or an `.npz` file, in [-1, 1]."""
    if os.path.isfile(os.path.join(path, "dataset.json")):
        return read_prepared(path)
    if os.path.isdir(path):
        return read_folder(path, channels)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file or folder: {path!r}.")
    if path.endswith(".npz"):
        return read_npz_images(path)
    raise ValueError(
        "Expected a folder of images, a prepared dataset (gan-blocks prepare), an .npz of "
        f"images or a .keras model; received {path!r}."
    )


def generated_images(
    model_path: str,
    num_samples: int,
    seed: int,
    batch_size: int = 100,
    use_ema: bool = True,
    truncation: float | None = None,
) -> np.ndarray:
    """Samples of a saved gan-blocks model (`model.generate`), in chunks of `batch_size`."""
    import keras

    import gan_blocks  # noqa: F401  (registers the model classes for loading)

    model = keras.models.load_model(model_path)
    if not hasattr(model, "generate"):
        raise ValueError(
            f"{model_path!r} holds a {type(model).__name__}, which has no `generate`: "
            "evaluate a gb.models GAN, ConditionalGAN or VAE (or a folder of its images)."
        )
    parameters = inspect.signature(model.generate).parameters
    if "source_images" in parameters:
        raise ValueError(
            f"{model_path!r} is an image-to-image model ({type(model).__name__}): it needs "
            "source images. Write its translations to a folder and evaluate the folder."
        )
    options: dict[str, Any] = {}
    if "use_ema" in parameters:
        options["use_ema"] = use_ema
    if truncation is not None:
        if "truncation" not in parameters:
            raise ValueError(f"{type(model).__name__}.generate has no truncation.")
        options["truncation"] = truncation
    chunks = []
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=-(-num_samples // batch_size))
    for index, chunk_seed in enumerate(seeds):
        count = min(batch_size, num_samples - index * batch_size)
        chunks.append(
            np.asarray(model.generate(num_samples=count, seed=int(chunk_seed), **options))
        )
        progress(
            f"generating with {os.path.basename(model_path)}",
            index * batch_size + count,
            num_samples,
        )
    return np.concatenate(chunks).astype("float32")
