"""`GAN.fit` under data parallelism: `tf.distribute.MirroredStrategy` and JAX `DataParallel`.

Both run in a subprocess: TensorFlow's logical CPU devices must be configured
before TensorFlow initializes its devices, and JAX's host device count
(`XLA_FLAGS=--xla_force_host_platform_device_count=2`) before JAX is imported.
Each script trains the same small GAN (SGD, no dropout or batch norm, fixed
initializers) for one step on the same global batch on one device and on two,
and prints the logged losses and the updated weights as JSON: data parallelism
must give the one-device step (losses are global-batch means).
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

COMMON = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    import gan_blocks as gb

    init = keras.initializers


    def generator():
        # Exact comparison with one device needs the replicas together to use
        # the latents one device draws for the global batch: under
        # DataParallel the step is one program over the global batch; under
        # MirroredStrategy GAN.sample_latents keeps each replica's slice of the
        # global draw (replicas share the seed-generator state).
        return keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(8, kernel_initializer=init.GlorotUniform(seed=1)),
            keras.layers.ReLU(),
            keras.layers.Dense(2, activation="tanh",
                               kernel_initializer=init.GlorotUniform(seed=5)),
        ])


    def discriminator():
        return keras.Sequential([
            keras.Input((2,)),
            keras.layers.Dense(8, kernel_initializer=init.GlorotUniform(seed=2),
                               bias_initializer=init.RandomNormal(seed=3)),
            keras.layers.LeakyReLU(0.2),
            keras.layers.Dense(1, kernel_initializer=init.GlorotUniform(seed=4)),
        ])


    def weights(gan):
        return [np.asarray(w).tolist()
                for w in gan.generator.get_weights() + gan.discriminator.get_weights()]


    def one_step(gan, count):
        history = gan.fit(DATA, batch_size=16, epochs=1, shuffle=False, verbose=0)
        result = {
            "losses": {k: float(v[-1]) for k, v in history.history.items()},
            "weights": weights(gan),
        }
        if count == 2:
            # fit keeps training: more steps, finite losses, weights move.
            history = gan.fit(MORE, batch_size=16, epochs=2, verbose=0)
            result["more_losses"] = history.history
            result["weights_after"] = weights(gan)
        return result


    DATA = np.random.default_rng(0).uniform(-0.9, 0.9, (16, 2)).astype("float32")
    MORE = np.random.default_rng(1).uniform(-0.9, 0.9, (64, 2)).astype("float32")
    """
)

TF_SCRIPT = (
    textwrap.dedent(
        """
    import os
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf

    # Two logical CPU devices; must run before TensorFlow initializes devices.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    """
    )
    + COMMON
    + textwrap.dedent(
        """

    def per_replica(strategy, function):
        # `function` run on every replica within one compiled step.
        values = strategy.experimental_local_results(tf.function(lambda: strategy.run(function))())
        return [np.asarray(t).tolist() for t in values]


    results = {}
    for replicas in (1, 2):
        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(replicas)])
        with strategy.scope():
            gan = gb.models.GAN(generator(), discriminator(), latent_dim=4, seed=0)
            gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))  # defaults
            # Random draws beyond the latents: label noise and the gradient
            # penalty's interpolation weights.
            noisy = gb.models.GAN(generator(), discriminator(), latent_dim=4, seed=0)
            noisy.compile(
                keras.optimizers.SGD(0.1),
                keras.optimizers.SGD(0.1),
                loss=gb.losses.NonSaturatingLoss(label_noise=0.2),
                penalty="gradient_penalty",
            )
            augment = gb.layers.DiffAugment(seed=3)
        result = one_step(gan, replicas)
        result["noisy"] = one_step(noisy, 1)
        result["replicas"] = strategy.num_replicas_in_sync
        if replicas == 2:
            # Each replica's draws within one step, on the same inputs.
            images = tf.constant(np.random.default_rng(2).uniform(-1, 1, (4, 8, 8, 1)), "float32")
            real = tf.constant(DATA[:4])
            penalty = gb.losses.GradientPenalty()
            critic = noisy.discriminator
            result["replica_latents"] = per_replica(strategy, lambda: gan.sample_latents(4))
            result["replica_augmented"] = per_replica(strategy, lambda: augment(images))
            result["replica_penalty"] = per_replica(
                strategy, lambda: penalty(critic, real, -real, seed=noisy.seed_generator)
            )
        results[replicas] = result
    print("RESULTS" + json.dumps(results))
    """
    )
)

JAX_SCRIPT = (
    textwrap.dedent(
        """
    import os
    os.environ["KERAS_BACKEND"] = "jax"
    # Two host devices; must be set before JAX is imported.
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2")
    import jax
    """
    )
    + COMMON
    + textwrap.dedent(
        """

    results = {}
    for count in (1, 2):
        devices = jax.devices()[:count]
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        gan = gb.models.GAN(generator(), discriminator(), latent_dim=4, seed=0)
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))  # defaults
        result = one_step(gan, count)
        result["devices"] = len(jax.devices())
        result["weight_devices"] = len(gan.discriminator.weights[0].value.sharding.device_set)
        results[count] = result
    keras.distribution.set_distribution(None)
    print("RESULTS" + json.dumps(results))
    """
    )
)


def run_script(script):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(ROOT, "src"), ROOT, env.get("PYTHONPATH", "")]
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULTS"))
    return {int(k): v for k, v in json.loads(line[len("RESULTS") :]).items()}


def assert_same_step(one, two):
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(two["losses"][key], one["losses"][key], rtol=1e-5, atol=1e-6)
    assert len(one["weights"]) == len(two["weights"]) >= 6
    for index, (a, b) in enumerate(zip(one["weights"], two["weights"])):
        np.testing.assert_allclose(
            np.array(b), np.array(a), rtol=1e-5, atol=1e-6, err_msg=f"weight {index}"
        )


def assert_keeps_training(two):
    losses = two["more_losses"]
    assert set(losses) == {"d_loss", "g_loss"}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in losses.values())
    moved = [not np.allclose(a, b) for a, b in zip(two["weights"], two["weights_after"])]
    assert sum(moved) >= 4, moved


@pytest.fixture(scope="module")
def mirrored_results():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.distribute.MirroredStrategy needs KERAS_BACKEND=tensorflow")
    return run_script(TF_SCRIPT)


def test_mirrored_strategy_step_equals_one_device_step(mirrored_results):
    one, two = mirrored_results[1], mirrored_results[2]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert_same_step(one, two)
    assert_keeps_training(two)


def test_mirrored_strategy_step_with_label_noise_and_penalty_equals_one_device_step(
    mirrored_results,
):
    # Every draw (latents, noisy labels, interpolation weights) is the
    # replica's share of the one-device draw (gb.backend.random).
    assert_same_step(mirrored_results[1]["noisy"], mirrored_results[2]["noisy"])


@pytest.mark.parametrize(
    "key, shape",
    [("replica_latents", (4, 4)), ("replica_augmented", (4, 8, 8, 1)), ("replica_penalty", ())],
)
def test_mirrored_strategy_replicas_draw_different_values(mirrored_results, key, shape):
    first, second = (np.array(z) for z in mirrored_results[2][key])
    assert first.shape == second.shape == shape
    assert not np.allclose(first, second), f"both replicas drew the same {key}"


def test_jax_data_parallel_step_equals_one_device_step():
    if keras.backend.backend() != "jax":
        pytest.skip("keras.distribution.DataParallel is tested under KERAS_BACKEND=jax")
    results = run_script(JAX_SCRIPT)
    one, two = results[1], results[2]
    assert two["devices"] == 2
    assert (one["weight_devices"], two["weight_devices"]) == (1, 2)
    assert_same_step(one, two)
    assert_keeps_training(two)
