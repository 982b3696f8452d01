"""A `.keras` file moves between backends: the optimizers are saved as public Keras classes."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import mlp_discriminator, mlp_generator, toy_data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LOAD_AND_FIT = """
import sys, numpy as np, keras
import gan_blocks as gb
gan = keras.models.load_model(sys.argv[1])
data = np.random.default_rng(0).uniform(-0.9, 0.9, (32, 2)).astype("float32")
history = gan.fit(data, batch_size=16, epochs=1, verbose=0)
assert np.isfinite(history.history["d_loss"]).all()
print("TRAINED", type(gan.generator_optimizer).__name__, int(gan.generator_optimizer.iterations))
"""


def small_gan():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.RMSprop(1e-3))
    return gan


def test_the_compile_config_names_the_public_optimizer_classes():
    config = small_gan().get_compile_config()
    for key, name in (("generator_optimizer", "Adam"), ("discriminator_optimizer", "RMSprop")):
        assert config[key]["module"] == "keras.optimizers"
        assert config[key]["class_name"] == name


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="saves on torch, loads elsewhere")
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_file_saved_on_torch_trains_on_other_backends(tmp_path, backend):
    # Saved with keras.src.backend.torch.optimizers.torch_adam, it failed to
    # compile on TensorFlow and JAX (issue #31).
    gan = small_gan()
    gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "torch_gan.keras")
    gan.save(path)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_FIT, path],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Resumed: the step count continues from the torch run's 2 updates.
    assert "TRAINED Adam 4" in result.stdout, result.stdout
    assert np.isfinite(gan.generate(2, seed=0)).all()
