"""tensorflow-datasets image pipelines scaled to [-1, 1]."""

from __future__ import annotations

from typing import Any

SUPPORTED = ("mnist", "fashion_mnist", "cifar10", "celeb_a")


def _import_tfds() -> tuple[Any, Any]:
    try:
        import tensorflow as tf
        import tensorflow_datasets as tfds
    except ImportError as error:  # pragma: no cover - exercised without the extra
        raise ImportError(
            'gb.data.load_tfds_images needs tensorflow-datasets: pip install "gan-blocks[datasets]"'
        ) from error
    return tf, tfds


def load_tfds_images(
    name: str,
    split: str = "train",
    batch_size: int = 64,
    image_size: int | None = None,
    with_labels: bool = False,
    shuffle_buffer: int = 10_000,
    seed: int | None = 0,
    data_dir: str | None = None,
    cache: bool = True,
    drop_remainder: bool = True,
) -> Any:
    """Loads an image data set from tensorflow-datasets as a `tf.data` pipeline.

    Images are scaled to [-1, 1] (the range of a tanh generator), optionally
    resized (CelebA is center-cropped to 140x140 first, as in DCGAN-style
    pipelines), cached, shuffled, batched and prefetched. Works with `fit` on
    every backend (Keras iterates `tf.data` for JAX and torch too).

    Args:
        name: One of `"mnist"`, `"fashion_mnist"`, `"cifar10"`, `"celeb_a"`.
        split: tfds split, e.g. `"train"` or `"test[:10%]"`.
        batch_size: Batch size.
        image_size: Side to resize to; `None` keeps the native size (64 for
            CelebA).
        with_labels: Yield `(images, labels)` (for `ConditionalGAN`); CelebA has
            no class labels.
        shuffle_buffer: Shuffle buffer size (0 disables shuffling).
        seed: Shuffle seed.
        data_dir: tfds data directory.
        cache: Cache decoded images in memory.
        drop_remainder: Drop the last incomplete batch.

    Returns:
        A batched `tf.data.Dataset`.

    Example:
    >>> import gan_blocks as gb
    >>> gb.data.load_tfds_images.__name__
    'load_tfds_images'
    """
    if name not in SUPPORTED:
        raise ValueError(f"Unsupported data set {name!r}. Supported: {SUPPORTED}")
    if with_labels and name == "celeb_a":
        raise ValueError("celeb_a has no class labels; use with_labels=False.")
    tf, tfds = _import_tfds()
    dataset = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)

    def prepare(example: dict) -> Any:
        image = tf.cast(example["image"], tf.float32)
        if name == "celeb_a":
            image = tf.image.resize_with_crop_or_pad(image, 140, 140)
            size = image_size or 64
            image = tf.image.resize(image, (size, size), antialias=True)
        elif image_size is not None:
            image = tf.image.resize(image, (image_size, image_size), antialias=True)
        image = image / 127.5 - 1.0
        if with_labels:
            return image, tf.cast(example["label"], tf.int32)
        return image

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        dataset = dataset.cache()
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
