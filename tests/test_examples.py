"""The example scripts: each --quick run works on the active backend, and the
mistakes a newcomer makes on the command line get a usage error at once."""

import csv
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
# TensorFlow's C++ start-up lines, which the examples hide while Keras imports.
STARTUP_NOISE = ("cuInit", "oneDNN custom operations", "absl::InitializeLog", "cpu_feature_guard")


def run_example(name, *options, cwd, env=None, timeout=600):
    environment = dict(os.environ)
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as on a user's machine
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, name)] + list(options),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(cwd),
        env=environment,
    )


@pytest.mark.parametrize(
    "example, artifact, options",
    [
        pytest.param(
            "dcgan", "dcgan.keras", ["--augment", "ada"], marks=pytest.mark.one_backend("jax")
        ),
        pytest.param("vae", "vae.keras", [], marks=pytest.mark.one_backend("torch")),
        pytest.param(
            "pix2pix",
            "pix2pix.keras",
            ["--augment", "diffaugment"],
            marks=pytest.mark.one_backend("tensorflow"),
        ),
        pytest.param("cyclegan", "cyclegan.keras", [], marks=pytest.mark.one_backend("jax")),
        pytest.param(
            "stylegan2",
            "stylegan2.keras",
            ["--augment", "ada"],
            marks=pytest.mark.one_backend("torch"),
        ),
    ],
)
def test_example_quick_run(example, artifact, options, tmp_path):
    result = run_example(
        f"{example}.py", "--quick", "--output", str(tmp_path), *options, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert os.path.exists(tmp_path / artifact)
    samples = os.listdir(tmp_path / "samples")
    assert samples and all(name.endswith(".png") for name in samples)
    # Only the columns that training logs: no always-empty val_* columns.
    with open(tmp_path / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    assert rows and "epoch" in rows[0]
    empty = [name for name in rows[0] if all(row[name] in ("", "NA") for row in rows)]
    assert not empty, empty
    noise = [line for line in result.stderr.splitlines() if any(s in line for s in STARTUP_NOISE)]
    assert not noise, noise
    # A second run into the same folder refuses to replace the checkpoint.
    again = run_example(f"{example}.py", "--quick", "--output", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr, again.stderr[-2000:]
    if example == "stylegan2":
        pictures = ["samples", "style_mixing", "truncation", "projection"]
        for picture in pictures:
            assert os.path.exists(tmp_path / f"stylegan2_{picture}.png"), picture


@pytest.mark.parametrize(
    "example", ["dcgan.py", "vae.py", "pix2pix.py", "cyclegan.py", "stylegan2.py"]
)
def test_numeric_options_are_validated_before_anything_runs(example, tmp_path):
    result = run_example(example, "--epochs", "-3", cwd=tmp_path)
    assert result.returncode == 2
    assert "argument --epochs: must be > 0, got -3" in result.stderr
    assert not os.listdir(tmp_path)  # nothing written


@pytest.mark.parametrize(
    "example", ["dcgan.py", "vae.py", "pix2pix.py", "cyclegan.py", "stylegan2.py", "latent_walk.py"]
)
def test_help_shows_defaults_without_importing_tensorflow(example, tmp_path):
    result = run_example(example, "--help", cwd=tmp_path, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(default:" in result.stdout
    # An option whose help states its default does not get a second one.
    twice = re.findall(r"\(default[^()]*\)\s*\(default", " ".join(result.stdout.split()))
    assert not twice, twice
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert imported and not [name for name in imported if name.startswith(("tensorflow", "keras"))]


@pytest.mark.parametrize(
    "example, options, message",
    [
        ("pix2pix.py", ["--dataset", "folder"], "--dataset folder needs --data-dir"),
        ("pix2pix.py", ["--image-size", "16"], "must be >= 28"),
        ("cyclegan.py", ["--dataset", "folder"], "--dataset folder needs --data-dir"),
        ("cyclegan.py", ["--dataset", "tfds"], "--dataset tfds needs --tfds"),
        ("cyclegan.py", ["--cycle-weight", "-1"], "must be >= 0"),
        ("dcgan.py", ["--dataset", "digits", "--data-dir", "."], "--data-dir holds MNIST"),
        ("dcgan.py", ["--data-dir", "/nonexistent"], "--data-dir /nonexistent: no such file"),
        ("vae.py", ["--data-dir", "/nonexistent"], "--data-dir /nonexistent: no such file"),
        ("pix2pix.py", ["--data-dir", "/nonexistent"], "--data-dir /nonexistent: no such file"),
        ("cyclegan.py", ["--data-dir", "/nonexistent"], "--data-dir /nonexistent: no such file"),
        ("stylegan2.py", ["--data-dir", "/nonexistent"], "--data-dir /nonexistent: no such file"),
        ("stylegan2.py", ["--projection-steps", "-1"], "--projection-steps must be >= 0"),
        ("latent_walk.py", ["missing.keras"], "no such file: missing.keras"),
        ("latent_walk.py", ["missing.keras", "--steps", "2"], "--steps must be >= 4"),
    ],
)
def test_option_mistakes_get_a_usage_error(example, options, message, tmp_path):
    result = run_example(example, *options, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]


@pytest.mark.one_backend("tensorflow")
def test_latent_walk_draws_walks_of_a_trained_dcgan(tmp_path):
    trained = run_example(
        "dcgan.py", "--quick", "--fid-samples", "0", "--output", "dcgan", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    walk = run_example(
        "latent_walk.py", "dcgan/dcgan.keras", "--rows", "2", "--output", "walk.png", cwd=tmp_path
    )
    assert walk.returncode == 0, walk.stderr[-3000:]
    from PIL import Image

    picture = Image.open(tmp_path / "walk.png")
    # 2 walks + the arithmetic row, 8 images of 28x28 each, 1-pixel borders.
    assert picture.size == (8 * 29 + 1, 3 * 29 + 1)
