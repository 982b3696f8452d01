"""`gb.metrics.fid_inception_v3` against pytorch-fid's FID Inception blocks (random weights)."""

import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.cli.main import main
from gan_blocks.metrics import fid_inception

torch = pytest.importorskip("torch")
F = torch.nn.functional
from tests.metrics.torch_fid_inception_reference import (  # noqa: E402
    clean_fid_resize,
    random_fid_inception,
)


@pytest.fixture(scope="module")
def reference():
    return random_fid_inception(seed=0)


@pytest.fixture(scope="module")
def state(reference):
    return {key: value.numpy() for key, value in reference.state_dict().items()}


@pytest.fixture(scope="module")
def keras_model(state):
    return gb.metrics.fid_inception_v3(weights=state, output="both")


def torch_outputs(reference, images):
    """pytorch-fid's inputs are NCHW in [0, 1]; gan-blocks' NHWC in [-1, 1]."""
    with torch.no_grad():
        pool, logits = reference(torch.from_numpy((images.transpose(0, 3, 1, 2) + 1) / 2))
    return pool.numpy(), logits.numpy()


def assert_close(got, expected, what):
    scale = np.abs(expected).max()
    error = np.abs(np.asarray(got) - expected).max()
    assert error <= 1e-4 * scale, f"{what}: max error {error} at scale {scale}"


@pytest.mark.parametrize("size", [32, 320])  # up- and down-sampled to 299
def test_pool3_features_and_logits_equal_pytorch_fid(reference, keras_model, size):
    images = np.random.default_rng(size).uniform(-1, 1, (3, size, size, 3)).astype("float32")
    pool, logits = torch_outputs(reference, images)
    keras_pool, keras_logits = keras_model(images, training=False)
    assert keras_pool.shape == (3, 2048) and keras_logits.shape == (3, 1008)
    assert_close(keras.ops.convert_to_numpy(keras_pool), pool, "pool3")
    assert_close(keras.ops.convert_to_numpy(keras_logits), logits, "logits")
    # The features depend on the image (a wrong block could not hide in constants).
    assert pool.std(axis=0).mean() > 0.02 * np.abs(pool).mean()


@pytest.mark.parametrize("size", [(17, 23), (400, 333)])
def test_resize_matches_pytorch_fids_interpolate(size):
    images = np.random.default_rng(0).uniform(-1, 1, (2, *size, 3)).astype("float32")
    resized = keras.layers.Resizing(299, 299, interpolation="bilinear")(images)
    with torch.no_grad():
        expected = F.interpolate(
            torch.from_numpy(images.transpose(0, 3, 1, 2)),
            size=(299, 299),
            mode="bilinear",
            align_corners=False,
        )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(resized), expected.numpy().transpose(0, 2, 3, 1), atol=1e-5
    )


def test_convert_inception_round_trips_the_state_dict(reference, state, tmp_path):
    pth, npz = str(tmp_path / "fid.pth"), str(tmp_path / "fid.npz")
    torch.save(reference.state_dict(), pth)
    assert main(["convert-inception", pth, npz]) == 0
    with np.load(npz) as converted:
        assert sorted(converted.files) == sorted(state)
        for key in state:
            np.testing.assert_array_equal(converted[key], state[key])
    from_npz = gb.metrics.fid_inception_v3(weights=npz)
    back = fid_inception.state_dict_from_model(from_npz)
    for key, value in back.items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    images = np.random.default_rng(1).uniform(-1, 1, (2, 40, 40, 3)).astype("float32")
    from_pth = gb.metrics.fid_inception_v3(weights=pth)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(from_npz(images)), keras.ops.convert_to_numpy(from_pth(images))
    )


def test_metrics_take_it_with_grayscale_images_and_check_the_range(state):
    extractor = gb.metrics.fid_inception_v3(weights=state)
    fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=4)
    gray = np.random.default_rng(2).uniform(-1, 1, (3, 28, 28, 1)).astype("float32")
    features = fid.extract_features(gray)
    expected = extractor(np.repeat(gray, 3, axis=-1), training=False)
    assert_close(features, keras.ops.convert_to_numpy(expected), "grayscale repeated")
    with pytest.raises(ValueError, match=r"values in \[-1, 1\]"):
        fid.extract_features(gray * 127.5 + 127.5)
    assert fid.protocol["resize"].startswith("pytorch_fid: bilinear, align_corners=False")
    assert fid.extractor_identity == "fid_inception_v3_pool (weights=state dict)"


def test_foreign_weights_and_offline_downloads_get_clear_errors(state, tmp_path):
    partial = {key: value for key, value in state.items() if not key.startswith("Mixed_7c")}
    with pytest.raises(ValueError, match="lack 'Mixed_7c.branch1x1.conv.weight'"):
        gb.metrics.fid_inception_v3(weights=partial)
    extra = dict(state, **{"AuxLogits.fc.weight": np.zeros((1008, 768), "float32")})
    with pytest.raises(ValueError, match="parameters the FID Inception does not have"):
        gb.metrics.fid_inception_v3(weights=extra)
    with pytest.raises(FileNotFoundError, match="No FID Inception weights file"):
        gb.metrics.fid_inception_v3(weights=str(tmp_path / "missing.pth"))
    # Files that are no state dict at all: a script, a zip that is no torch archive.
    script = tmp_path / "run.sh"
    script.write_text("echo hello\n")
    archive = tmp_path / "model.npz"
    archive.write_bytes(b"PK\x03\x04 not a zip")
    for path in (script, archive):
        with pytest.raises(ValueError, match="not pytorch-fid's FID Inception: .* holds no state"):
            gb.metrics.fid_inception_v3(weights=str(path))
    with pytest.raises(OSError, match="Could not download the FID Inception weights"):
        gb.metrics.fid_inception_v3(
            weights="http://127.0.0.1:9/pt_inception-2015-12-05-6726825d.pth"
        )
    with pytest.raises(ValueError, match="`output` must be one of"):
        gb.metrics.fid_inception_v3(weights=None, output="features")


def test_clean_resize_matches_clean_fids_and_the_metrics_apply_it(state):
    rng = np.random.default_rng(4)
    uint8 = rng.integers(0, 256, (2, 37, 41, 3)).astype("uint8")
    images = uint8 / 127.5 - 1.0
    expected = np.stack([clean_fid_resize(image.astype("float32")) for image in uint8])
    np.testing.assert_allclose(
        fid_inception.clean_resize(images), expected / 127.5 - 1.0, atol=1e-5
    )
    extractor = gb.metrics.fid_inception_v3(weights=state, resize="clean")
    fid = gb.metrics.FrechetDistance(feature_extractor=extractor)
    direct = extractor(fid_inception.clean_resize(images).astype("float32"), training=False)
    assert_close(fid.extract_features(images), keras.ops.convert_to_numpy(direct), "clean")
    assert fid.protocol["resize"].startswith("clean (clean-fid)")
