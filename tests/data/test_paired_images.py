import importlib.util
import os
import shutil
import tarfile
import tempfile

import numpy as np
import pytest
from PIL import Image

import gan_blocks as gb


def write_pairs(folder, values, size=(4, 8)):
    """Pair files `{i}.png` whose left half is `value` and right half `255 - value`."""
    os.makedirs(folder, exist_ok=True)
    for index, value in enumerate(values):
        pair = np.full(size + (3,), value, dtype=np.uint8)
        pair[:, size[1] // 2 :] = 255 - value
        Image.fromarray(pair).save(os.path.join(folder, f"{index}.png"))
    return str(folder)


def source_values(sources):
    return np.round((sources[:, 0, 0, 0] + 1) * 127.5).astype(int).tolist()


@pytest.fixture
def extraction_cache(tmp_path, monkeypatch):
    """Archives are extracted under the temporary directory: keep that inside tmp_path."""
    cache = tmp_path / "tmp"
    cache.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(cache))
    return cache / "gan_blocks_extracted"


def test_a_missing_split_folder_is_an_error_listing_the_folders(tmp_path):
    write_pairs(tmp_path / "facades" / "val", [10, 20])
    write_pairs(tmp_path / "facades" / "test", [30])
    root = str(tmp_path / "facades")
    # Before: split="train" silently read val/ and test/ together.
    with pytest.raises(ValueError, match=r"No train/ folder.*Found folders: \['test', 'val'\]"):
        gb.data.load_paired_arrays(root, image_size=4)
    val, _ = gb.data.load_paired_arrays(root, split="val", image_size=4)
    assert source_values(val) == [10, 20]
    everything, _ = gb.data.load_paired_arrays(root, split=None, image_size=4)
    assert sorted(source_values(everything)) == [10, 20, 30]
    pytest.importorskip("tensorflow")
    with pytest.raises(ValueError, match=r"No train/ folder.*split=None"):
        gb.data.load_paired_images(root, image_size=4)


def test_an_archive_is_read_from_its_own_extraction(tmp_path, extraction_cache):
    source = write_pairs(tmp_path / "build" / "facades" / "train", [10, 20])
    data = tmp_path / "data"
    data.mkdir()
    archive = str(data / "facades.tar.gz")
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(os.path.dirname(source), arcname="facades")
    # A stale folder named like the archive and another sibling: neither may be read.
    write_pairs(data / "facades" / "train", [99])
    write_pairs(data / "aaa" / "train", [77])
    sources, targets = gb.data.load_paired_arrays(archive, image_size=4)
    assert source_values(sources) == [10, 20]
    np.testing.assert_allclose(targets, -sources, atol=1e-5)
    assert sorted(os.listdir(data)) == ["aaa", "facades", "facades.tar.gz"]  # nothing added
    assert len(os.listdir(extraction_cache)) == 1
    with pytest.raises(ValueError, match="neither a folder nor an archive"):
        gb.data.load_paired_arrays(os.path.join(source, "0.png"))
    with pytest.raises(ValueError, match=r"No val/ .*extracted from .*Found folders: \['train'\]"):
        gb.data.load_paired_arrays(archive, split="val")
    # The tf.data path reads the same extraction.
    if importlib.util.find_spec("tensorflow"):
        dataset = gb.data.load_paired_images(archive, image_size=4, jitter=False, shuffle_buffer=0)
        assert sorted(source_values(np.asarray(s))[0] for s, _ in dataset) == [10, 20]
    # A rewritten archive is extracted again.
    shutil.rmtree(os.path.dirname(source))
    write_pairs(tmp_path / "build" / "facades" / "train", [30])
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(os.path.dirname(source), arcname="facades")
    assert source_values(gb.data.load_paired_arrays(archive, image_size=4)[0]) == [30]
    assert len(os.listdir(extraction_cache)) == 2


@pytest.mark.parametrize("corruption", ["not an image", "truncated"])
def test_a_corrupt_image_is_an_error_naming_the_file(tmp_path, corruption):
    folder = write_pairs(tmp_path / "pairs" / "train", [10, 20])
    bad = os.path.join(folder, "1.png")
    noise = np.random.default_rng(0).integers(0, 256, (16, 32, 3), dtype=np.uint8)
    Image.fromarray(noise).save(bad)
    with open(bad, "rb") as handle:
        content = handle.read()
    with open(bad, "wb") as handle:
        handle.write(b"<html>404</html>" if corruption == "not an image" else content[:-300])
    root = str(tmp_path / "pairs")
    with pytest.raises(ValueError, match=r"Cannot decode the image file .*train.1\.png"):
        gb.data.load_paired_arrays(root, image_size=4)
    pytest.importorskip("tensorflow")
    with pytest.raises(ValueError, match=r"Cannot decode the image file .*train.1\.png"):
        gb.data.load_paired_images(root, image_size=4)


def test_images_narrower_than_two_pixels_are_refused(tmp_path):
    folder = write_pairs(tmp_path / "pairs" / "train", [10])
    Image.fromarray(np.zeros((4, 1, 3), np.uint8)).save(os.path.join(folder, "narrow.png"))
    root = str(tmp_path / "pairs")
    # Before: a 1-pixel-wide file gave two empty halves, resized into a pair silently.
    with pytest.raises(ValueError, match=r"narrow\.png' is 1 pixel\(s\) wide.*at least 2"):
        gb.data.load_paired_arrays(root, image_size=4)
    with pytest.raises(ValueError, match=r"at least 2 pixels wide. Received: shape=\(4, 1, 3\)"):
        gb.data.split_pair(np.zeros((4, 1, 3)))
    pytest.importorskip("tensorflow")
    with pytest.raises(ValueError, match=r"narrow\.png' is 1 pixel\(s\) wide"):
        gb.data.load_paired_images(root, image_size=4)
