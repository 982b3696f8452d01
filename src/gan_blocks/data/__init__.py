"""Data pipelines: tfds loaders, paired and unpaired images, offline defaults, numpy readers.

Nothing here imports TensorFlow at import time: the `tf.data` loaders import it
when called; the numpy loaders (`load_digits_images`, `load_photo_pairs`,
`load_mnist_idx`, `outline_pairs`, `load_paired_arrays`, `load_unpaired_images` from folders or
archives) and `unpaired` never need it.
"""

from gan_blocks.data.load_prepared import PreparedDataset, load_prepared
from gan_blocks.data.mnist_idx import load_mnist_idx
from gan_blocks.data.offline_digits import load_digits_images
from gan_blocks.data.offline_photo_pairs import load_photo_pairs
from gan_blocks.data.outline_pairs import outline_pairs
from gan_blocks.data.paired_images import (
    PIX2PIX_URL,
    jitter_pair,
    load_paired_arrays,
    load_paired_images,
    split_pair,
)
from gan_blocks.data.prepared_images import prepare_images
from gan_blocks.data.scaling import from_tanh_range, to_tanh_range
from gan_blocks.data.tfds_images import load_tfds_images
from gan_blocks.data.unpaired import UnpairedDataset, unpaired
from gan_blocks.data.unpaired_images import load_unpaired_images

__all__ = [
    "PIX2PIX_URL",
    "PreparedDataset",
    "UnpairedDataset",
    "from_tanh_range",
    "jitter_pair",
    "load_digits_images",
    "load_mnist_idx",
    "load_paired_arrays",
    "load_paired_images",
    "load_photo_pairs",
    "load_prepared",
    "load_tfds_images",
    "load_unpaired_images",
    "outline_pairs",
    "prepare_images",
    "split_pair",
    "to_tanh_range",
    "unpaired",
]
