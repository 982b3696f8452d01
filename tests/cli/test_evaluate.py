"""`gan-blocks evaluate` against the metrics computed directly in Python."""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import gan_blocks as gb
from gan_blocks.cli.main import main


def write_png_folder(folder, images):
    os.makedirs(folder, exist_ok=True)
    for index, image in enumerate(images):
        Image.fromarray(image[..., 0]).save(os.path.join(folder, f"{index:03d}.png"))


def digits(seed, count):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 8, 8, 1)).astype("uint8")


@pytest.fixture
def extractor_path(tmp_path):
    extractor = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(6, kernel_initializer=keras.initializers.GlorotUniform(seed=1)),
        ],
        name="tiny_extractor",
    )
    path = str(tmp_path / "extractor.keras")
    extractor.save(path)
    return path


def expected_values(real, generated, extractor_path):
    extractor = keras.models.load_model(extractor_path)
    features = [np.asarray(extractor.predict(x, verbose=0)) for x in (real, generated)]
    values = {}
    for metric in (
        gb.metrics.FrechetDistance(lambda x: x),
        gb.metrics.PrecisionRecall(lambda x: x),
        gb.metrics.DensityCoverage(lambda x: x),
    ):
        metric.update_features(*features)
        values.update(metric.log_values())
    return values


def run_json(capsys, *argv):
    assert main(["evaluate", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_folders_and_saved_statistics_give_the_metrics(tmp_path, capsys, extractor_path):
    real, fake = digits(0, 60), digits(1, 50)
    write_png_folder(tmp_path / "real", real)
    write_png_folder(tmp_path / "fake" / "nested", fake)
    stats_path = str(tmp_path / "real_stats.npz")
    options = ["--extractor", extractor_path, "--metrics", "fid,pr,dc"]
    report = run_json(
        capsys,
        str(tmp_path / "fake"),
        "--reference",
        str(tmp_path / "real"),
        "--save-reference",
        stats_path,
        *options,
    )
    expected = expected_values(real / 127.5 - 1, fake / 127.5 - 1, extractor_path)
    assert report["metrics"] == pytest.approx(expected, abs=1e-6)
    assert (report["num_real"], report["num_generated"]) == (60, 50)
    assert report["feature_extractor"] == "tiny_extractor"
    # The saved statistics stand in for the reference folder.
    again = run_json(capsys, str(tmp_path / "fake"), "--reference", stats_path, *options)
    assert again["reference_kind"] == "statistics"
    assert again["metrics"] == pytest.approx(report["metrics"], abs=1e-9)


def test_a_prepared_dataset_is_a_reference_like_its_folder(tmp_path, capsys, extractor_path):
    real, fake = digits(2, 40), digits(3, 30)
    write_png_folder(tmp_path / "real", real)
    write_png_folder(tmp_path / "fake", fake)
    gb.data.prepare_images(
        tmp_path / "real", tmp_path / "prepared", 8, channels=1, workers=1, progress=False
    )
    options = ["--extractor", extractor_path, "--metrics", "fid,pr"]
    from_prepared = run_json(
        capsys, str(tmp_path / "fake"), "--reference", str(tmp_path / "prepared"), *options
    )
    expected = expected_values(real / 127.5 - 1, fake / 127.5 - 1, extractor_path)
    assert from_prepared["num_real"] == 40
    assert from_prepared["metrics"]["fid"] == pytest.approx(expected["fid"], abs=1e-6)
    assert from_prepared["metrics"]["precision"] == pytest.approx(expected["precision"])


def test_a_saved_model_is_sampled_with_its_generate(tmp_path, capsys, extractor_path):
    generator = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(64, activation="tanh"),
            keras.layers.Reshape((8, 8, 1)),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    gan = gb.models.GAN(generator, discriminator, latent_dim=4, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    gan.fit(digits(0, 32) / 127.5 - 1, batch_size=16, epochs=1, verbose=0)
    model_path = str(tmp_path / "gan.keras")
    gan.save(model_path)
    real = digits(2, 40)
    np.savez(tmp_path / "real.npz", images=real)
    report = run_json(
        capsys,
        model_path,
        "--reference",
        str(tmp_path / "real.npz"),
        "--num-samples",
        "120",
        "--seed",
        "3",
        "--extractor",
        extractor_path,
        "--metrics",
        "fid,pr,dc",
    )
    seeds = np.random.default_rng(3).integers(0, 2**31 - 1, size=2)
    samples = np.concatenate(
        [gan.generate(num_samples=n, seed=int(s)) for n, s in zip((100, 20), seeds)]
    )
    expected = expected_values(real / 127.5 - 1, samples, extractor_path)
    assert report["num_generated"] == 120
    assert report["metrics"] == pytest.approx(expected, abs=1e-5)


def test_train_reference_flags_copied_training_images(tmp_path, capsys, extractor_path):
    training = digits(0, 80)
    fake = np.concatenate([digits(1, 20), training[[3, 50]], digits(2, 10)])
    write_png_folder(tmp_path / "train", training)
    write_png_folder(tmp_path / "fake", fake)
    argv = [
        str(tmp_path / "fake"),
        "--reference",
        str(tmp_path / "train"),
        "--train-reference",
        str(tmp_path / "train"),
        "--extractor",
        extractor_path,
        "--metrics",
        "fid",
        # 6-d features of noise images: nearest-neighbour ratios spread more than
        # Inception's 2048-d ones, so a stricter threshold than the default 0.5.
        "--copy-threshold",
        "0.2",
    ]
    report = run_json(capsys, *argv)
    assert report["memorization"]["copies"] == [20, 21]
    assert report["metrics"]["memorization_fraction"] == pytest.approx(2 / 32)
    assert main(["evaluate", *argv]) == 0
    assert "2 of 32 samples are closer to a training image" in capsys.readouterr().out


def test_bad_input_is_reported_without_a_traceback(tmp_path, capsys, extractor_path):
    write_png_folder(tmp_path / "real", digits(0, 10))
    (tmp_path / "empty").mkdir()
    cases = [
        (
            [
                str(tmp_path / "empty"),
                "--reference",
                str(tmp_path / "real"),
                "--extractor",
                extractor_path,
            ],
            "No .jpg/.jpeg/.png/.bmp images under",
        ),
        (
            [
                str(tmp_path / "real"),
                "--reference",
                str(tmp_path / "real"),
                "--extractor",
                "fid-inception",
                "--weights",
                str(tmp_path / "missing.pth"),
            ],
            "No FID Inception weights file",
        ),
        (["missing_folder", "--reference", str(tmp_path / "real")], "No such file or folder"),
        (
            [
                str(tmp_path / "real"),
                "--reference",
                str(tmp_path / "real"),
                "--metrics",
                "fod",
                "--extractor",
                extractor_path,
            ],
            "Unknown metric 'fod'",
        ),
        (
            [
                str(tmp_path / "real"),
                "--reference",
                str(tmp_path / "real"),
                "--metrics",
                "is",
                "--extractor",
                extractor_path,
            ],
            "Inception Score needs InceptionV3",
        ),
    ]
    write_png_folder(tmp_path / "mixed", digits(1, 3))
    Image.fromarray(np.zeros((9, 8), "uint8")).save(tmp_path / "mixed" / "odd.png")
    cases.append(
        (
            [
                str(tmp_path / "mixed"),
                "--reference",
                str(tmp_path / "real"),
                "--extractor",
                extractor_path,
            ],
            "must all have one size",
        )
    )

    def flatten(images):
        return images.reshape(len(images), -1)

    gb.metrics.reference_statistics(digits(0, 10) / 127.5 - 1, flatten).save(
        str(tmp_path / "flat_stats.npz")
    )
    cases.append(
        (
            [
                str(tmp_path / "real"),
                "--reference",
                str(tmp_path / "real"),
                "--train-reference",
                str(tmp_path / "flat_stats.npz"),
                "--extractor",
                extractor_path,
            ],
            "were computed with 'flatten', but this run's extractor is 'tiny_extractor'",
        )
    )
    # Images of another size than the extractor's input, and weights that are no state dict.
    big = np.random.default_rng(2).integers(0, 256, (3, 14, 14, 1)).astype("uint8")
    write_png_folder(tmp_path / "big", big)
    (tmp_path / "run.sh").write_text("echo hello\n")
    cases.append(
        (
            [str(tmp_path / "big"), "--reference", str(tmp_path / "real")]
            + ["--extractor", extractor_path],
            "takes images of shape (batch, 8, 8, 1); received images of shape (3, 14, 14, 1)",
        )
    )
    if importlib.util.find_spec("torch"):  # Reading a .pth needs torch.
        cases.append(
            (
                [str(tmp_path / "real"), "--reference", str(tmp_path / "real")]
                + ["--extractor", "fid-inception", "--weights", str(tmp_path / "run.sh")],
                "holds no state dict of arrays",
            )
        )
    for argv, message in cases:
        assert main(["evaluate", *argv]) == 2
        error = capsys.readouterr().err
        assert error.strip().splitlines()[-1].startswith("gan-blocks evaluate: error:"), error
        assert message in error, (message, error)


def test_the_console_command_is_installed(tmp_path, extractor_path):
    write_png_folder(tmp_path / "real", digits(0, 12))
    command = [
        sys.executable,
        "-m",
        "gan_blocks.cli.main",
        "evaluate",
        str(tmp_path / "real"),
        "--reference",
        str(tmp_path / "real"),
        "--extractor",
        extractor_path,
        "--metrics",
        "fid",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "fid: " in result.stdout


@pytest.mark.filterwarnings("ignore:FID from")
def test_the_fid_inception_extractor_gives_fid_and_inception_score(tmp_path, capsys):
    from gan_blocks.metrics import fid_inception

    network = gb.metrics.fid_inception_v3(weights=None, output="both")
    weights = str(tmp_path / "fid_weights.npz")
    np.savez(weights, **fid_inception.state_dict_from_model(network))
    real, fake = digits(0, 12), digits(1, 10)
    write_png_folder(tmp_path / "real", real)
    write_png_folder(tmp_path / "fake", fake)
    report = run_json(
        capsys,
        str(tmp_path / "fake"),
        "--reference",
        str(tmp_path / "real"),
        "--extractor",
        "fid-inception",
        "--weights",
        weights,
        "--metrics",
        "fid,is",
    )

    def outputs(images):
        rgb = np.repeat(images / 127.5 - 1, 3, axis=-1).astype("float32")
        return [keras.ops.convert_to_numpy(t) for t in network(rgb, training=False)]

    (real_pool, _), (fake_pool, fake_logits) = outputs(real), outputs(fake)
    fid = gb.metrics.FrechetDistance(lambda x: x)
    fid.update_features(real_pool, fake_pool)
    score = gb.metrics.InceptionScore(lambda x: x, from_logits=True)
    score.update_state(generated_images=fake_logits)
    assert report["metrics"]["fid"] == pytest.approx(fid.result(), rel=1e-3)
    assert report["metrics"]["inception_score"] == pytest.approx(score.result(), rel=1e-4)
    assert report["feature_extractor"] == "fid_inception_v3_pool (weights=fid_weights.npz)"
