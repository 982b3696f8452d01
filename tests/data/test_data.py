import gzip
import os
import tarfile

import numpy as np
import pytest
from PIL import Image

import gan_blocks as gb


def write_pairs(folder, count=3, size=32):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        pattern = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        pair = np.concatenate([pattern, 255 - pattern], axis=1)  # A | B with B = 255 - A
        Image.fromarray(pair).save(os.path.join(folder, f"{index}.png"))
    return folder


def test_paired_loader_jitters_both_halves_identically(tmp_path):
    pytest.importorskip("tensorflow")
    folder = write_pairs(str(tmp_path / "pairs" / "train"))
    dataset = gb.data.load_paired_images(
        str(tmp_path / "pairs"), direction="a_to_b", image_size=16, jitter=True, batch_size=3
    )
    source, target = (np.asarray(t) for t in next(iter(dataset)))
    assert source.shape == target.shape == (3, 16, 16, 3)
    assert source.min() >= -1 and source.max() <= 1
    # Same crop and same flip for both halves: B = 255 - A survives the jitter.
    np.testing.assert_allclose(target, -source, atol=1e-5)
    # b_to_a swaps the roles; no jitter gives a deterministic resize.
    swapped = gb.data.load_paired_images(
        folder, direction="b_to_a", split=None, image_size=32, jitter=False
    )
    s, t = (np.asarray(x) for x in next(iter(swapped)))
    originals = [
        np.asarray(Image.open(os.path.join(folder, f))) for f in sorted(os.listdir(folder))
    ]
    assert any(np.allclose(t[0], o[:, :32] / 127.5 - 1, atol=1e-5) for o in originals)


def test_paired_loader_reads_tar_gz_and_numpy_path(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the extraction cache
    folder = write_pairs(str(tmp_path / "facades" / "train"), count=2)
    archive = str(tmp_path / "facades.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(str(tmp_path / "facades"), arcname="facades")
    import shutil

    shutil.rmtree(str(tmp_path / "facades"))
    sources, targets = gb.data.load_paired_arrays(archive, image_size=32)
    assert sources.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(targets, -sources, atol=1e-5)
    assert not os.path.exists(folder)  # extracted into a cache folder of its own
    assert os.listdir(tmp_path / "gan_blocks_extracted")
    with pytest.raises(FileNotFoundError, match="No folder"):
        gb.data.load_paired_arrays(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="direction"):
        gb.data.split_pair(np.zeros((2, 4, 3)), "left")


def test_tfds_loaders_offline_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=8):
        for name, shape in [
            ("mnist", (28, 28, 1)),
            ("cifar10", (32, 32, 3)),
            ("celeb_a", (64, 64, 3)),
        ]:
            dataset = gb.data.load_tfds_images(name, batch_size=4, shuffle_buffer=8)
            batch = np.asarray(next(iter(dataset)))
            assert batch.shape == (4,) + shape
            assert batch.min() >= -1.0 and batch.max() <= 1.0
        images, labels = next(
            iter(gb.data.load_tfds_images("fashion_mnist", batch_size=4, with_labels=True))
        )
        assert np.asarray(labels).dtype == np.int32 and np.asarray(images).shape == (4, 28, 28, 1)
    with pytest.raises(ValueError, match="Supported"):
        gb.data.load_tfds_images("imagenet")


def test_offline_defaults_are_real_images_in_range():
    images, labels = gb.data.load_digits_images(image_size=28, with_labels=True)
    assert images.shape == (1797, 28, 28, 1) and labels.shape == (1797,)
    assert images.min() == -1.0 and images.max() == 1.0
    # Real digits: the mean "0" and mean "1" differ clearly.
    assert np.abs(images[labels == 0].mean(0) - images[labels == 1].mean(0)).max() > 0.5
    sources, targets = gb.data.load_photo_pairs(num_pairs=8, image_size=32)
    assert sources.shape == targets.shape == (8, 32, 32, 3)
    assert set(np.unique(sources)) <= {-1.0, 1.0}  # edge maps
    assert targets.std() > 0.1


def test_mnist_idx_reader(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in images.shape)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.tobytes())
    with open(tmp_path / "t10k-labels-idx1-ubyte", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes([3, 7]))
    x, y = gb.data.load_mnist_idx(str(tmp_path), with_labels=True)
    np.testing.assert_allclose(x[..., 0], images / 127.5 - 1, rtol=1e-6, atol=1e-6)
    assert y.tolist() == [3, 7]


def test_keras_cv_augmentation_is_accepted():
    keras_cv = pytest.importorskip(
        "keras_cv", reason="keras-cv is an optional extra: pip install 'gan-blocks[keras-cv]'"
    )
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("keras-cv interoperability is tested on TensorFlow")
    from tests.models.helpers import mlp_discriminator  # noqa: F401

    generator = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(48, activation="tanh"),
            keras.layers.Reshape((4, 4, 3)),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    gan = gb.models.GAN(
        generator, discriminator, 4, augmentation=keras_cv.layers.RandomFlip("horizontal")
    )
    gan.compile()
    data = np.random.default_rng(0).uniform(-1, 1, (8, 4, 4, 3)).astype("float32")
    assert np.isfinite(gan.fit(data, batch_size=4, verbose=0).history["d_loss"][0])
