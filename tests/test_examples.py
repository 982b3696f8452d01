"""Smoke tests: each example's --quick run works on the active backend."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    "example, artifact, options",
    [
        ("dcgan", "dcgan.keras", ["--augment", "ada"]),
        ("vae", "vae.keras", []),
        ("pix2pix", "pix2pix.keras", ["--augment", "diffaugment"]),
        ("cyclegan", "cyclegan.keras", []),
    ],
)
def test_example_quick_run(example, artifact, options, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "examples", f"{example}.py"),
            "--quick",
            "--output",
            str(tmp_path),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert os.path.exists(tmp_path / artifact)
    assert os.path.exists(tmp_path / "metrics.csv")
    samples = os.listdir(tmp_path / "samples")
    assert samples and all(name.endswith(".png") for name in samples)
