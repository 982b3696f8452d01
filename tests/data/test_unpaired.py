import os
import pathlib
import shutil
import tarfile
import tempfile
import zipfile

import keras
import numpy as np
import pytest
from PIL import Image

import gan_blocks as gb


def numbered(count, offset=0, shape=(2, 2, 1)):
    """Images whose every pixel is their own number: the number identifies the image."""
    return np.broadcast_to(
        np.arange(offset, offset + count, dtype="float32").reshape((-1,) + (1,) * len(shape)),
        (count,) + shape,
    ).copy()


def ids(batch):
    return batch.reshape(len(batch), -1)[:, 0].astype(int).tolist()


def epoch(dataset):
    batches = [dataset[i] for i in range(len(dataset))]
    return [ids(a) for a, _ in batches], [ids(b) for _, b in batches]


def test_unpaired_epoch_covers_the_longer_domain_and_wraps_the_shorter():
    a, b = numbered(7), numbered(3, offset=100, shape=(2, 2, 3))
    dataset = gb.data.unpaired(a, b, batch_size=2, seed=0)
    assert isinstance(dataset, gb.data.UnpairedDataset)
    assert isinstance(dataset, keras.utils.PyDataset)
    assert len(dataset) == 4  # ceil(7 / 2)
    for batch_a, batch_b in (dataset[i] for i in range(len(dataset))):
        assert batch_a.shape == (2, 2, 2, 1) and batch_b.shape == (2, 2, 2, 3)
        assert batch_a.dtype == batch_b.dtype == np.float32
    order_a, order_b = epoch(dataset)
    seen_a, seen_b = sum(order_a, []), sum(order_b, [])
    assert set(seen_a) == set(range(7)) and len(seen_a) == 8  # one wrapped position
    # The shorter domain wraps through fresh permutations: each full pass has every image.
    assert sorted(seen_b[:3]) == sorted(seen_b[3:6]) == [100, 101, 102]
    with pytest.raises(IndexError, match="out of range"):
        dataset[4]
    # A divisible length: every image of the longer domain exactly once per epoch.
    dataset = gb.data.unpaired(numbered(3), numbered(8, offset=100), batch_size=4, seed=1)
    assert len(dataset) == 2 and sorted(sum(epoch(dataset)[1], [])) == list(range(100, 108))


def test_unpaired_reshuffles_each_epoch_deterministically_per_seed():
    a, b = numbered(10), numbered(4, offset=100)
    first, twin = (gb.data.unpaired(a, b, batch_size=2, seed=3) for _ in range(2))
    other = gb.data.unpaired(a, b, batch_size=2, seed=4)
    epochs = []
    for _ in range(3):
        epochs.append(epoch(first))
        assert epoch(twin) == epochs[-1]  # same seed, same orders
        first.on_epoch_end()
        twin.on_epoch_end()
    assert epochs[0][0] != epochs[1][0] != epochs[2][0]  # domain A reshuffled
    assert epochs[0][1] != epochs[1][1]  # domain B reshuffled independently
    assert all(sorted(sum(order_a, [])) == list(range(10)) for order_a, _ in epochs)
    assert epoch(other) != epochs[0]
    # A batch larger than either domain still gives full batches.
    big = gb.data.unpaired(numbered(2), numbered(3), batch_size=5, seed=0)
    assert len(big) == 1 and [x.shape[0] for x in big[0]] == [5, 5]


def test_unpaired_validates_its_arguments():
    images = numbered(4)
    with pytest.raises(ValueError, match=r"images_b.*no images.*shape=\(0, 2, 2, 1\)"):
        gb.data.unpaired(images, images[:0])
    with pytest.raises(ValueError, match=r"images_a.*rank >= 2.*shape=\(4,\)"):
        gb.data.unpaired(np.zeros(4), images)
    for batch_size in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            gb.data.unpaired(images, images, batch_size=batch_size)


class CountingDataset(gb.data.UnpairedDataset):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.epoch_ends = 0

    def on_epoch_end(self):
        self.epoch_ends += 1
        super().on_epoch_end()


def test_unpaired_trains_with_fit_and_reshuffles_at_each_epoch_end():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (5, 4, 4, 3)).astype("float32")
    b = rng.uniform(-1, 1, (3, 4, 4, 1)).astype("float32")  # other channels, other length
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    dataset = CountingDataset(a, b, batch_size=2, seed=0)
    history = model.fit(dataset, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert dataset.epoch_ends >= 2  # at least once per epoch (Keras also resets at the start)
    replay = gb.data.unpaired(a, b, batch_size=2, seed=0)
    for _ in range(dataset.epoch_ends):
        replay.on_epoch_end()
    for index in range(len(dataset)):
        for got, expected in zip(dataset[index], replay[index]):
            np.testing.assert_array_equal(got, expected)


def write_domains(root, counts=None, size=(6, 5)):
    """CycleGAN layout; image `i` of folder `f` is filled with a value derived from both."""
    counts = counts or {"trainA": 3, "trainB": 2, "testA": 1, "testB": 1}
    for offset, (folder, count) in enumerate(counts.items()):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        for index in range(count):
            value = 40 * offset + 10 * index
            image = np.full(size + (3,), value, dtype=np.uint8)
            Image.fromarray(image).save(os.path.join(root, folder, f"{index}.png"))
    return str(root)


def pixel_values(images):
    return np.round((images[:, 0, 0, 0] + 1) * 127.5).astype(int).tolist()


@pytest.fixture
def extraction_cache(tmp_path, monkeypatch):
    """Archives are extracted under the temporary directory: keep that inside tmp_path."""
    cache = tmp_path / "tmp"
    cache.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(cache))
    return cache


def test_load_unpaired_images_from_a_folder(tmp_path):
    root = write_domains(tmp_path / "horse2zebra")
    images_a, images_b = gb.data.load_unpaired_images(root)
    assert images_a.shape == (3, 6, 5, 3) and images_b.shape == (2, 6, 5, 3)
    assert images_a.dtype == images_b.dtype == np.float32
    assert pixel_values(images_a) == [0, 10, 20] and pixel_values(images_b) == [40, 50]
    test_a, test_b = gb.data.load_unpaired_images(root, split="test", image_size=4)
    assert test_a.shape == test_b.shape == (1, 4, 4, 3)
    assert pixel_values(test_a) == [80] and pixel_values(test_b) == [120]
    wide, _ = gb.data.load_unpaired_images(root, image_size=(2, 7))
    assert wide.shape == (3, 2, 7, 3)
    # Straight into the unpaired batches.
    batch_a, batch_b = gb.data.unpaired(images_a, images_b, batch_size=2, seed=0)[0]
    assert batch_a.shape == batch_b.shape == (2, 6, 5, 3)


@pytest.mark.parametrize("kind", ["tar.gz", "zip", "flat tar.gz"])
def test_load_unpaired_images_reads_its_own_extraction(tmp_path, extraction_cache, kind):
    source = write_domains(tmp_path / "build" / "horse2zebra")
    archive = str(tmp_path / "data" / ("horse2zebra.zip" if kind == "zip" else "horse2zebra.tgz"))
    os.makedirs(os.path.dirname(archive))
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as handle:
            for folder, _, names in os.walk(source):
                for name in names:
                    full = os.path.join(folder, name)
                    handle.write(full, os.path.relpath(full, os.path.dirname(source)))
    else:
        with tarfile.open(archive, "w:gz") as handle:
            if kind == "flat tar.gz":
                for folder in sorted(os.listdir(source)):  # no top-level folder
                    handle.add(os.path.join(source, folder), arcname=folder)
            else:
                handle.add(source, arcname="horse2zebra")
    # Sibling folders that a lookup by listing the archive's folder would pick up.
    write_domains(tmp_path / "data" / "horse2zebra", {"trainA": 1, "trainB": 1})
    write_domains(tmp_path / "data" / "aaa", {"trainA": 1, "trainB": 1})
    images_a, images_b = gb.data.load_unpaired_images(pathlib.Path(archive), image_size=4)
    assert pixel_values(images_a) == [0, 10, 20] and pixel_values(images_b) == [40, 50]
    assert os.listdir(extraction_cache) == ["gan_blocks_extracted"]
    # Reused while unchanged; a rewritten archive is extracted again.
    again, _ = gb.data.load_unpaired_images(archive, split="test")
    assert pixel_values(again) == [80]
    assert len(os.listdir(extraction_cache / "gan_blocks_extracted")) == 1
    modified = os.stat(archive).st_mtime_ns + 10**9
    os.utime(archive, ns=(modified, modified))
    gb.data.load_unpaired_images(archive, split="test")
    assert len(os.listdir(extraction_cache / "gan_blocks_extracted")) == 2


def test_load_unpaired_images_errors_are_clear(tmp_path, extraction_cache):
    archive = str(tmp_path / "only_a.tar.gz")
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(write_domains(tmp_path / "only_a", {"trainA": 1}), arcname="only_a")
    with pytest.raises(ValueError, match=r"No trainB/ .*extracted from .*only_a.tar.gz"):
        gb.data.load_unpaired_images(archive)
    root = write_domains(tmp_path / "data", {"trainA": 2, "testA": 1, "testB": 1})
    with pytest.raises(ValueError, match=r"No trainB/ folder.*Found folders: \['testA', 'testB', "):
        gb.data.load_unpaired_images(root)
    with pytest.raises(ValueError, match=r"`split` must be one of \('train', 'test'\).*'val'"):
        gb.data.load_unpaired_images(root, split="val")
    with pytest.raises(ValueError, match="image_size.*Received: image_size=0"):
        gb.data.load_unpaired_images(root, split="test", image_size=0)
    with pytest.raises(ValueError, match=r"image_size=\(4, 4, 3\)"):
        gb.data.load_unpaired_images(root, split="test", image_size=(4, 4, 3))
    with pytest.raises(FileNotFoundError, match="No folder or archive.*cycle_gan/horse2zebra"):
        gb.data.load_unpaired_images(str(tmp_path / "missing"))
    note = tmp_path / "notes.txt"
    note.write_text("not images")
    with pytest.raises(ValueError, match="neither a folder nor an archive"):
        gb.data.load_unpaired_images(str(note))
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match="Cannot extract the archive.*broken.tar.gz"):
        gb.data.load_unpaired_images(str(broken))
    # A corrupt image is named.
    os.makedirs(os.path.join(root, "trainB"))
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(os.path.join(root, "trainB", "0.png"))
    with open(os.path.join(root, "trainB", "1.jpg"), "wb") as handle:
        handle.write(b"\xff\xd8 truncated")
    with pytest.raises(ValueError, match=r"Cannot decode the image file .*trainB.1\.jpg"):
        gb.data.load_unpaired_images(root)
    os.remove(os.path.join(root, "trainB", "1.jpg"))
    # Domains may differ in size (trainA 6x5, trainB 4x4), images of one domain may not.
    assert gb.data.load_unpaired_images(root)[1].shape == (1, 4, 4, 3)
    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(os.path.join(root, "trainB", "2.png"))
    with pytest.raises(ValueError, match=r"trainB' differ in size.*pass `image_size`"):
        gb.data.load_unpaired_images(root)
    shutil.rmtree(os.path.join(root, "trainB"))
    os.makedirs(os.path.join(root, "trainB"))
    with pytest.raises(FileNotFoundError, match="No .*images under.*trainB"):
        gb.data.load_unpaired_images(root)


def test_load_unpaired_images_from_tfds_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=3):
        images_a, images_b = gb.data.load_unpaired_images(
            "cycle_gan/horse2zebra", split="test", image_size=8
        )
        assert images_a.shape == images_b.shape == (3, 8, 8, 3)
        assert images_a.dtype == np.float32
        assert images_a.min() >= -1.0 and images_a.max() <= 1.0
        # Mock images vary in size: without image_size that is a clear error.
        with pytest.raises(ValueError, match=r"cycle_gan/horse2zebra:trainA differ in size"):
            gb.data.load_unpaired_images("cycle_gan/horse2zebra")
