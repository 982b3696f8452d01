"""Loader of two unpaired image domains in CycleGAN's layout (trainA/, trainB/, testA/, testB/)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gan_blocks.data.paired_images import (
    ARCHIVE_EXTENSIONS,
    _extract_archive,
    _image_files,
    _is_archive,
    _read_rgb,
    _resize,
    _subfolders,
)
from gan_blocks.data.scaling import to_tanh_range

SPLITS = ("train", "test")
TFDS_PREFIX = "cycle_gan"


def _is_size(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def _image_size(image_size: Any) -> tuple[int, int] | None:
    if image_size is None:
        return None
    size = (image_size, image_size) if _is_size(image_size) else image_size
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(map(_is_size, size))):
        raise ValueError(
            "`image_size` must be None, a positive int or a (height, width) pair of "
            f"positive ints. Received: image_size={image_size!r}"
        )
    return int(size[0]), int(size[1])


def _stack(images: list[np.ndarray], size: tuple[int, int] | None, where: str) -> np.ndarray:
    """Resizes (if asked) and stacks uint8 images into float32 in [-1, 1]."""
    if size is not None:
        images = [_resize(image, size) for image in images]
    shapes = sorted({image.shape for image in images})
    if len(shapes) > 1:
        raise ValueError(
            f"The images of {where} differ in size (found shapes {shapes[:4]}"
            f"{' ...' if len(shapes) > 4 else ''}); pass `image_size` to resize them to one."
        )
    return to_tanh_range(np.stack(images))


def _from_folder(
    root: str, split: str, size: tuple[int, int] | None, archive: str | None = None
) -> list[np.ndarray]:
    where = f"{root!r} (extracted from {archive!r})" if archive else repr(root)
    domains = []
    for domain in ("A", "B"):
        folder = os.path.join(root, f"{split}{domain}")
        if not os.path.isdir(folder):
            raise ValueError(
                f"No {split}{domain}/ folder for split={split!r} in {where}. "
                f"Found folders: {_subfolders(root)}. Expected CycleGAN's layout: "
                "trainA/, trainB/, testA/, testB/ holding .jpg or .png images."
            )
        images = [_read_rgb(file) for file in _image_files(folder)]
        domains.append(_stack(images, size, repr(folder)))
    return domains


def _from_tfds(
    name: str, split: str, size: tuple[int, int] | None, data_dir: str | None
) -> list[np.ndarray]:
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:  # pragma: no cover - exercised without the extra
        raise ImportError(
            "gb.data.load_unpaired_images needs tensorflow-datasets for "
            f'{name!r}: pip install "gan-blocks[datasets]"'
        ) from error
    domains = []
    for domain in ("A", "B"):
        dataset = tfds.load(name, split=f"{split}{domain}", data_dir=data_dir, shuffle_files=False)
        images = [np.asarray(example["image"]) for example in tfds.as_numpy(dataset)]
        if not images:
            raise ValueError(f"The tensorflow-datasets split {name}:{split}{domain} is empty.")
        domains.append(_stack(images, size, f"{name}:{split}{domain}"))
    return domains


def load_unpaired_images(
    path_or_tfds_name: str,
    split: str = "train",
    image_size: int | tuple[int, int] | None = None,
    data_dir: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Loads the two domains of an unpaired (CycleGAN) data set as arrays in [-1, 1].

    Reads CycleGAN's layout, `trainA/`, `trainB/`, `testA/`, `testB/` folders
    of .jpg or .png images (e.g. horse2zebra), from a folder, from a `.tar.gz`,
    `.tgz` or `.zip` archive (extracted once into a cache folder of its own;
    one top-level folder such as `horse2zebra/` is allowed), or from
    tensorflow-datasets by name: `"cycle_gan/horse2zebra"`,
    `"cycle_gan/monet2photo"`, ... (needs `pip install "gan-blocks[datasets]"`;
    downloads on first use unless `data_dir` holds it). Images are decoded to
    RGB with Pillow, optionally resized (bilinear) and stacked; the result is
    numpy, ready for `gb.data.unpaired`. A full data set takes memory:
    horse2zebra's training split is about 1.6 GB of float32.

    Args:
        path_or_tfds_name: Folder, archive, or `"cycle_gan/<config>"`. An
            existing path wins over a tensorflow-datasets name.
        split: `"train"` (reads `trainA/`, `trainB/`) or `"test"`.
        image_size: Side (int) or `(height, width)` to resize to; `None`
            keeps the native size (all images of a domain must then match).
        data_dir: tensorflow-datasets data directory (tfds names only).

    Returns:
        `(images_a, images_b)`: float32 arrays `(num_a, h, w, 3)` and
        `(num_b, h, w, 3)` in [-1, 1]; the domains may differ in length.

    Example:
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> import gan_blocks as gb
    >>> with tempfile.TemporaryDirectory() as root:
    ...     for folder, count in (("trainA", 3), ("trainB", 2)):
    ...         os.makedirs(os.path.join(root, folder))
    ...         for index in range(count):
    ...             image = Image.fromarray(np.zeros((8, 8, 3), "uint8"))
    ...             image.save(os.path.join(root, folder, f"{index}.png"))
    ...     horses, zebras = gb.data.load_unpaired_images(root, image_size=4)
    >>> horses.shape, zebras.shape, float(horses.min())
    ((3, 4, 4, 3), (2, 4, 4, 3), -1.0)
    """
    if split not in SPLITS:
        raise ValueError(
            f"`split` must be one of {SPLITS} (CycleGAN's trainA/trainB and testA/testB). "
            f"Received: split={split!r}"
        )
    size = _image_size(image_size)
    path = os.fspath(path_or_tfds_name)
    wanted = (f"{split}A", f"{split}B")
    if os.path.isdir(path):
        images_a, images_b = _from_folder(path, split, size)
    elif _is_archive(path):
        images_a, images_b = _from_folder(_extract_archive(path, wanted), split, size, path)
    elif os.path.exists(path):
        raise ValueError(
            f"{path!r} is neither a folder nor an archive ({', '.join(ARCHIVE_EXTENSIONS)})."
        )
    elif path == TFDS_PREFIX or path.startswith(f"{TFDS_PREFIX}/"):
        images_a, images_b = _from_tfds(path, split, size, data_dir)
    else:
        raise FileNotFoundError(
            f"No folder or archive at {path!r}, and it is not a tensorflow-datasets "
            "name such as 'cycle_gan/horse2zebra'."
        )
    return images_a, images_b
