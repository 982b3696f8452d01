"""`gb.data.prepare_images` and `gan-blocks prepare`: pixels, labels, bad files, zip, resume."""

import json
import logging
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

import gan_blocks as gb
from gan_blocks.cli.main import main
from gan_blocks.data import prepared_images

RESOLUTION = 16


def _random(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture
def source(tmp_path):
    """cats/ and dogs/ with PNG, JPEG, grayscale, RGBA, 16-bit, a copy, a corrupt file, a .txt."""
    root = tmp_path / "faces"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    Image.fromarray(_random((30, 40, 3), 0)).save(root / "cats" / "a.png")
    Image.fromarray(_random((48, 64, 3), 1)).save(root / "cats" / "b.jpg", quality=90)
    Image.fromarray(_random((12, 20), 2)).save(root / "cats" / "c_gray.png")  # upscaled
    Image.fromarray(_random((36, 36, 4), 3), "RGBA").save(root / "dogs" / "d_rgba.png")
    wide = np.random.default_rng(4).integers(0, 65536, (20, 24), dtype=np.uint16)
    Image.fromarray(wide).save(root / "dogs" / "f16.png")
    (root / "dogs" / "dup.png").write_bytes((root / "cats" / "a.png").read_bytes())
    (root / "dogs" / "broken.png").write_bytes((root / "cats" / "a.png").read_bytes()[:120])
    (root / "dogs" / "notes.txt").write_text("not an image")
    return root


def _crop_resize(image):
    """PIL's own centre crop and LANCZOS resize, computed here independently."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return np.asarray(image.resize((RESOLUTION, RESOLUTION), Image.Resampling.LANCZOS))


def _expected(root):
    """Reference arrays in sorted path order (the corrupt and .txt files left out)."""
    with Image.open(root / "dogs" / "d_rgba.png") as rgba:
        pixels = np.asarray(rgba).astype(np.float64)
    premultiplied = np.rint(pixels[..., :3] * pixels[..., 3:] / 255).astype(np.uint8)
    with Image.open(root / "dogs" / "f16.png") as wide:
        eight_bit = np.rint(np.asarray(wide, np.float64) * 255 / 65535).astype(np.uint8)
    rgb = {name: Image.open(root / name).convert("RGB") for name in ("cats/a.png", "cats/b.jpg")}
    return {
        "cats/a.png": _crop_resize(rgb["cats/a.png"]),
        "cats/b.jpg": _crop_resize(rgb["cats/b.jpg"]),
        "cats/c_gray.png": _crop_resize(Image.open(root / "cats" / "c_gray.png").convert("RGB")),
        "dogs/d_rgba.png": _crop_resize(Image.fromarray(premultiplied)),
        "dogs/dup.png": _crop_resize(rgb["cats/a.png"]),
        "dogs/f16.png": _crop_resize(Image.fromarray(eight_bit).convert("RGB")),
    }


def _arrays(destination):
    with open(destination / "dataset.json") as file:
        manifest = json.load(file)
    images = np.concatenate(
        [np.load(destination / shard["images"], mmap_mode="r") for shard in manifest["shards"]]
    )
    labels = None
    if manifest["label_names"] is not None:
        labels = np.concatenate([np.load(destination / s["labels"]) for s in manifest["shards"]])
    return manifest, images, labels


def _prepare(source, destination, **kwargs):
    kwargs = {"labels": "folders", "workers": 1, "progress": False, **kwargs}
    return gb.data.prepare_images(source, destination, RESOLUTION, **kwargs)


def test_pixels_labels_and_report(source, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="gan_blocks.data.prepared_images"):
        summary = _prepare(source, tmp_path / "out", shard_size=4)
    manifest, images, labels = _arrays(tmp_path / "out")
    expected = _expected(source)
    assert manifest["count"] == summary["count"] == len(images) == 6
    assert [shard["count"] for shard in manifest["shards"]] == [3, 3]  # broken.png in shard 0
    assert images.dtype == np.uint8 and images.shape == (6, RESOLUTION, RESOLUTION, 3)
    assert manifest["label_names"] == ["cats", "dogs"]
    assert labels.dtype == np.int64 and labels.tolist() == [0, 0, 0, 1, 1, 1]
    for image, name in zip(images, sorted(expected)):
        tolerance = 2 if name == "dogs/d_rgba.png" else 0  # alpha rounding differs by 1
        np.testing.assert_allclose(image, expected[name], atol=tolerance, err_msg=name)
    reasons = {entry["path"]: entry["reason"] for entry in manifest["skipped"]}
    assert sorted(reasons) == ["dogs/broken.png", "dogs/notes.txt"]
    assert "corrupt" in reasons["dogs/broken.png"] and "not an image" in reasons["dogs/notes.txt"]
    assert manifest["duplicates"] == 1
    assert manifest["duplicate_files"] == [{"path": "dogs/dup.png", "same_as": "cats/a.png"}]
    assert manifest["upscaled"] == 1 and manifest["filter"] == "lanczos"
    assert manifest["source"]["files"] == 8
    assert "dogs/broken.png" in caplog.text and "dogs/notes.txt" in caplog.text
    assert not os.path.exists(tmp_path / "out" / prepared_images.PROGRESS)


def test_grayscale_no_crop_no_labels_and_deduplicate(source, tmp_path):
    _prepare(source, tmp_path / "out", labels=None, channels=1, crop="none", deduplicate=True)
    manifest, images, labels = _arrays(tmp_path / "out")
    assert labels is None and manifest["label_names"] is None
    assert images.shape == (5, RESOLUTION, RESOLUTION, 1)  # dogs/dup.png dropped
    assert "dogs/dup.png" in {entry["path"] for entry in manifest["skipped"]}
    stretched = Image.open(source / "cats" / "b.jpg").convert("L")
    reference = np.asarray(stretched.resize((RESOLUTION, RESOLUTION), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(images[1, ..., 0], reference)


def test_zip_source_matches_the_folder(source, tmp_path):
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        for path in sorted(source.rglob("*")):
            writer.write(path, path.relative_to(source.parent).as_posix())  # faces/cats/a.png
    from_folder = _prepare(source, tmp_path / "folder")
    from_zip = _prepare(archive, tmp_path / "zip", workers=2)
    _, folder_images, folder_labels = _arrays(tmp_path / "folder")
    _, zip_images, zip_labels = _arrays(tmp_path / "zip")
    np.testing.assert_array_equal(zip_images, folder_images)
    np.testing.assert_array_equal(zip_labels, folder_labels)
    assert from_zip["source"]["sha256"] == from_folder["source"]["sha256"]
    assert from_zip["skipped"] == from_folder["skipped"]


def test_resume_after_an_interruption(source, tmp_path, monkeypatch):
    _prepare(source, tmp_path / "whole", shard_size=2)
    write_shard, calls = prepared_images._write_shard, []

    def interrupted(*args):
        calls.append(args[1])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return write_shard(*args)

    monkeypatch.setattr(prepared_images, "_write_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _prepare(source, tmp_path / "out", shard_size=2)
    monkeypatch.setattr(prepared_images, "_write_shard", write_shard)
    assert not os.path.exists(tmp_path / "out" / "dataset.json")
    (tmp_path / "out" / ("images-00001.npy" + prepared_images.PARTIAL)).write_bytes(b"half")
    summary = _prepare(source, tmp_path / "out", shard_size=2)
    assert summary["reused_shards"] == 1 and summary["count"] == 6
    _, images, labels = _arrays(tmp_path / "out")
    _, whole_images, whole_labels = _arrays(tmp_path / "whole")
    np.testing.assert_array_equal(images, whole_images)
    np.testing.assert_array_equal(labels, whole_labels)
    assert sorted(os.listdir(tmp_path / "out")) == sorted(os.listdir(tmp_path / "whole"))
    again = _prepare(source, tmp_path / "out", shard_size=2)  # finished: nothing to redo
    assert again["reused_shards"] == len(again["shards"]) == 4


def test_other_settings_need_overwrite(source, tmp_path):
    _prepare(source, tmp_path / "out")
    with pytest.raises(ValueError, match="resolution: 16 there, 8 now"):
        gb.data.prepare_images(source, tmp_path / "out", 8, labels="folders", progress=False)
    summary = gb.data.prepare_images(
        source, tmp_path / "out", 8, workers=1, overwrite=True, progress=False
    )
    assert summary["resolution"] == 8 and summary["label_names"] is None
    assert np.load(tmp_path / "out" / "images-00000.npy").shape == (6, 8, 8, 3)


def test_labels_from_json_files(source, tmp_path):
    names = {"cats/a.png": "tabby", "cats/b.jpg": "siamese", "dogs/f16.png": "tabby"}
    (tmp_path / "names.json").write_text(json.dumps(names))
    summary = _prepare(source, tmp_path / "names", labels=str(tmp_path / "names.json"))
    _, _, labels = _arrays(tmp_path / "names")
    assert summary["label_names"] == ["siamese", "tabby"] and labels.tolist() == [1, 0, 1]
    assert "dogs/d_rgba.png" in {entry["path"] for entry in summary["skipped"]}
    stylegan = {"labels": [["cats/a.png", 3], ["dogs/d_rgba.png", 0]]}
    (tmp_path / "stylegan.json").write_text(json.dumps(stylegan))
    summary = _prepare(source, tmp_path / "ids", labels=tmp_path / "stylegan.json")
    _, _, labels = _arrays(tmp_path / "ids")
    assert summary["label_names"] == ["0", "1", "2", "3"] and labels.tolist() == [3, 0]
    with pytest.raises(ValueError, match="names a file of the source"):
        _prepare(source, tmp_path / "bad", labels={"elsewhere/a.png": "x"})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"resolution": 2}, "resolution=2"),
        ({"resolution": 16.0}, "resolution=16.0"),
        ({"channels": 4}, "channels=4"),
        ({"crop": "top"}, "crop='top'"),
        ({"labels": "classes.json"}, "no such file"),
        ({"labels": 3}, "Received: labels=3"),
    ],
)
def test_bad_arguments_are_named(source, tmp_path, kwargs, message):
    kwargs = {"resolution": RESOLUTION, "progress": False, **kwargs}
    with pytest.raises((ValueError, TypeError, FileNotFoundError), match=message):
        gb.data.prepare_images(source, tmp_path / "out", **kwargs)
    assert not os.path.exists(tmp_path / "out")


def test_folder_labels_on_a_flat_folder_say_so(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for index in range(3):
        Image.fromarray(np.full((12, 10, 3), 40 * index, "uint8")).save(flat / f"{index}.png")
    with pytest.raises(ValueError) as error:
        _prepare(flat, tmp_path / "out")
    message = str(error.value)
    assert "but all 3 images of" in message and "lie in its root, in no class folder" in message
    assert not os.path.exists(tmp_path / "out")


def test_destination_checks(source, tmp_path):
    with pytest.raises(ValueError, match="inside the source"):
        _prepare(source, source / "prepared")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("")
    with pytest.raises(ValueError, match="thesis.tex"):
        _prepare(source, tmp_path / "busy")


def test_cli(source, tmp_path, capsys):
    status = main(
        ["prepare", str(source), str(tmp_path / "out"), "--resolution", "16", "--labels",
         "folders", "--workers", "1", "--shard-size", "4", "--no-progress"]
    )  # fmt: skip
    output = capsys.readouterr().out
    assert status == 0
    assert "6 images of 16x16x3 in 2 shards" in output
    assert "labels: 2 classes: cats, dogs" in output
    assert "dogs/broken.png: corrupt" in output and "dogs/dup.png = cats/a.png" in output
    assert np.load(tmp_path / "out" / "images-00001.npy").shape == (3, 16, 16, 3)
    status = main(["prepare", str(tmp_path / "missing"), str(tmp_path / "x"), "--resolution", "8"])
    error = capsys.readouterr().err
    assert status == 2
    assert "gan-blocks prepare: error:" in error and "missing" in error
