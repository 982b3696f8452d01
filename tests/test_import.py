import subprocess
import sys

import keras
import pytest

PUBLIC_MODULES = [
    "gan_blocks",
    "gan_blocks.layers",
    "gan_blocks.losses",
    "gan_blocks.models",
    "gan_blocks.trainers",
    "gan_blocks.registry",
    "gan_blocks.plugins",
    "gan_blocks.testing",
]


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("jax", marks=pytest.mark.one_backend("jax")),
        pytest.param("torch", marks=pytest.mark.one_backend("torch")),
    ],
)
def test_import_does_not_load_tensorflow(backend):
    pytest.importorskip(backend)
    code = (
        "import sys, gan_blocks as gb; "
        "import gan_blocks.layers, gan_blocks.models, gan_blocks.losses, "
        "gan_blocks.testing; "
        "print(sorted(m for m in sys.modules if m == 'tensorflow' or m.startswith('tensorflow.')))"
    )
    env = {"KERAS_BACKEND": backend, "PATH": "/usr/bin:/bin"}
    import os

    env.update({k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND",)})
    env["KERAS_BACKEND"] = backend
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout


def test_every_public_module_imports():
    import importlib

    for name in PUBLIC_MODULES:
        importlib.import_module(name)


def test_version_is_single_sourced():
    import gan_blocks
    from gan_blocks.version import __version__

    assert gan_blocks.__version__ == __version__
    assert keras.__version__ >= "3.15"
