"""`TrainingMonitor`: statistics from the step, signals on sick runs, none on healthy ones."""

import warnings

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import mlp_discriminator, mlp_generator, numpy_weights


def eight_gaussians(n=512, seed=0):
    rng = np.random.default_rng(seed)
    angles = rng.integers(0, 8, n) * (2 * np.pi / 8)
    centres = 0.7 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return (centres + 0.05 * rng.normal(size=(n, 2))).astype("float32")


def monitored_fit(gan, data, epochs, monitor=None, batch_size=64, callbacks=()):
    monitor = monitor or gb.callbacks.TrainingMonitor(patience=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = gan.fit(
            data,
            batch_size=batch_size,
            epochs=epochs,
            shuffle=False,
            callbacks=[*callbacks, monitor],
            verbose=0,
        ).history
    messages = [str(w.message) for w in caught if "TrainingMonitor" in str(w.message)]
    return history, monitor, messages


class Zeros(keras.layers.Layer):
    """Ignores the latent: the generator's output is its bias alone."""

    def call(self, z):
        return keras.ops.zeros_like(z)


def test_statistics_and_gradient_norms_match_a_closed_form():
    # D(x) = w.x + b and a generator whose output is tanh(c), the same for every
    # latent: with learning rate 0 nothing moves, so every batch's gradients
    # have a closed form. Non-saturating loss, mean over the batch:
    #   d_loss = softplus(-D(r)) + softplus(D(f)),  g_loss = softplus(-D(f)).
    generator = keras.Sequential(
        [
            keras.Input((4,)),
            Zeros(),
            keras.layers.Dense(
                2, activation="tanh", bias_initializer=keras.initializers.Constant(0.3)
            ),
        ]
    )
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    gan = gb.models.GAN(generator, discriminator, latent_dim=4, seed=0)
    gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
    real = np.random.default_rng(0).uniform(-0.9, 0.9, (64, 2)).astype("float32")
    history, _, _ = monitored_fit(gan, real, epochs=1, batch_size=64)

    w, b = (np.asarray(keras.ops.convert_to_numpy(v), "float64") for v in discriminator.weights)
    w = w[:, 0]
    fake = np.tanh(np.full(2, 0.3))
    real_logits, fake_logit = real @ w + b[0], fake @ w + b[0]

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    grad_w = np.mean(-sigmoid(-real_logits)[:, None] * real, axis=0) + sigmoid(fake_logit) * fake
    grad_b = np.mean(-sigmoid(-real_logits)) + sigmoid(fake_logit)
    d_norm = np.sqrt(np.sum(grad_w**2) + grad_b**2)
    # The generator's kernel sees zeros; its bias gets dL/df * (1 - f^2).
    grad_c = -sigmoid(-fake_logit) * w * (1 - fake**2)
    g_norm = np.sqrt(np.sum(grad_c**2))
    np.testing.assert_allclose(history["discriminator_grad_norm"][0], d_norm, rtol=1e-4)
    np.testing.assert_allclose(history["generator_grad_norm"][0], g_norm, rtol=1e-4)
    np.testing.assert_allclose(history["d_real_accuracy"][0], np.mean(real_logits > 0), atol=1e-6)
    np.testing.assert_allclose(history["d_fake_accuracy"][0], float(fake_logit < 0), atol=1e-6)
    np.testing.assert_allclose(history["d_real_logit"][0], real_logits.mean(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(history["d_fake_logit"][0], fake_logit, rtol=1e-4, atol=1e-6)
    assert history["diversity"][0] == pytest.approx(0.0, abs=1e-3)  # One image, 64 times.


def test_a_collapsed_generator_is_flagged_and_stops_training():
    generator = keras.Sequential(
        [keras.Input((4,)), Zeros(), keras.layers.Dense(2, activation="tanh")]
    )
    gan = gb.models.GAN(generator, mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    monitor = gb.callbacks.TrainingMonitor(patience=1, stop_on=("collapse",))
    history, monitor, messages = monitored_fit(gan, eight_gaussians(), epochs=5, monitor=monitor)
    assert monitor.signals == {0: ["collapse"]}
    assert len(history["d_loss"]) == 1  # Stopped after the first epoch.
    assert len(messages) == 1 and "collapsing" in messages[0] and "MinibatchStdDev" in messages[0]


def test_a_far_stronger_discriminator_is_flagged_as_winning():
    # Five fast discriminator steps per step of a nearly frozen generator
    # whose samples (within 0.1 of the origin) are far from the data.
    generator = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(2, activation="tanh"), keras.layers.Rescaling(0.1)]
    )
    gan = gb.models.GAN(
        generator, mlp_discriminator(hidden=64), latent_dim=4, discriminator_steps=5, seed=0
    )
    gan.compile(keras.optimizers.Adam(1e-6), keras.optimizers.Adam(1e-2))
    corner = 0.8 + 0.05 * np.random.default_rng(0).normal(size=(512, 2)).astype("float32")
    _, monitor, messages = monitored_fit(gan, np.clip(corner, -1, 1), epochs=6)
    assert any("discriminator_wins" in signals for signals in monitor.signals.values())
    assert any("winning" in m and "label_smoothing" in m for m in messages)


def test_a_diverging_run_is_flagged():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile(keras.optimizers.Adam(1e3), keras.optimizers.Adam(1e3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, monitor, messages = monitored_fit(gan, eight_gaussians(), epochs=4)
        except FloatingPointError:  # The NaN guard may stop it first: then it was flagged too.
            pytest.skip("the NaN guard stopped this run before the monitor's epoch end")
    assert any("divergence" in signals for signals in monitor.signals.values())
    assert any("diverging" in m or "became" in m for m in messages)


def test_a_healthy_run_raises_no_signal():
    keras.utils.set_random_seed(0)
    gan = gb.models.GAN(
        mlp_generator(hidden=64), mlp_discriminator(hidden=64), latent_dim=4, seed=0
    )
    gan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5))
    history, monitor, messages = monitored_fit(gan, eight_gaussians(1024), epochs=8)
    assert monitor.signals == {} and messages == []
    assert 0.5 < history["diversity"][-1] < 1.5
    assert all(np.isfinite(history[key]).all() for key in history)


class Sabotage(keras.callbacks.Callback):
    """Records the weights after each epoch, then makes the learning rates explode."""

    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch, self.weights = at_epoch, {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = numpy_weights(self.model)
        if epoch + 1 == self.at_epoch:
            for optimizer in self.model.optimizer.optimizers.values():
                optimizer.learning_rate.assign(1e3)  # Adam: huge but finite steps.


def test_restore_best_brings_back_the_last_healthy_epoch():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    sabotage = Sabotage(at_epoch=2)
    monitor = gb.callbacks.TrainingMonitor(patience=1, divergence_factor=10.0, restore_best=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        monitored_fit(gan, eight_gaussians(), epochs=4, monitor=monitor, callbacks=[sabotage])
    assert 0 not in monitor.signals and 1 not in monitor.signals
    assert monitor.signals and min(monitor.signals) >= 2
    healthy = max(epoch for epoch in sabotage.weights if epoch not in monitor.signals)
    restored = [np.asarray(keras.ops.convert_to_numpy(w)) for w in gan.get_weights()]
    expected = sabotage.weights[healthy][: len(restored)]
    for got, want in zip(restored, expected):
        np.testing.assert_array_equal(got, want)


def test_a_monitored_model_still_saves_and_loads(tmp_path):
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    monitored_fit(gan, eight_gaussians(128), epochs=1)
    path = str(tmp_path / "monitored.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.generate(4, seed=1)),
        keras.ops.convert_to_numpy(gan.generate(4, seed=1)),
        atol=1e-6,
    )
    assert np.isfinite(
        loaded.fit(eight_gaussians(128), batch_size=64, verbose=0).history["d_loss"][0]
    )


def test_clear_errors():
    with pytest.raises(ValueError, match=r"Unknown signal 'nan'.*discriminator_wins, collapse"):
        gb.callbacks.TrainingMonitor(stop_on=("nan",))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    with pytest.raises(TypeError, match="adversarial models.*Sequential"):
        model.fit(
            np.zeros((4, 2)),
            np.zeros((4, 1)),
            callbacks=[gb.callbacks.TrainingMonitor()],
            verbose=0,
        )


def _signals_for(model, rows):
    monitor = gb.callbacks.TrainingMonitor(patience=2, stop_on=("collapse",))
    monitor.set_model(model)
    monitor.on_train_begin()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch, row in enumerate(rows):
            monitor.on_epoch_end(epoch, row)
    return monitor.signals, model.stop_training


def test_translators_are_not_flagged_for_collapse():
    # Healthy Pix2Pix/CycleGAN runs on digits have low translation spread
    # (it follows the sources) and were flagged and stopped (issue #31).
    rows = [
        {
            "d_loss": 1.3,
            "g_loss": 2.0 - 0.1 * e,
            "diversity": 0.05,
            "d_real_accuracy": 0.6,
            "d_fake_accuracy": 0.6,
        }
        for e in range(4)
    ]
    generator = gb.architectures.unet_generator((16, 16, 1), output_channels=1, filters=4)
    discriminator = gb.architectures.patchgan_discriminator((16, 16, 1), filters=4, num_layers=1)
    translator = gb.models.Pix2Pix(generator, discriminator)
    translator.compile()
    signals, stopped = _signals_for(translator, rows)
    assert signals == {} and not stopped
    assert "collapse" not in gb.models.CycleGAN.monitor_signals

    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    gan.compile()
    signals, stopped = _signals_for(gan, rows)
    assert signals == {1: ["collapse"], 2: ["collapse"], 3: ["collapse"]} and stopped
