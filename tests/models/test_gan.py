import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import (
    mlp_discriminator,
    mlp_generator,
    numpy_weights,
    toy_data,
)


def make_gan(**kwargs):
    kwargs.setdefault("seed", 0)
    return gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, **kwargs)


def test_fit_logs_epoch_means_of_both_losses_and_penalty():
    gan = make_gan()
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), penalty="r1")
    history = gan.fit(toy_data(), batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "r1_penalty"}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in history.history.values())
    # Trackers reset each epoch: the logged value is that epoch's mean.
    assert gan.loss_tracker("d_loss").count is not None


def test_both_optimizers_update_their_iterations_and_moments():
    gan = make_gan(discriminator_steps=3)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    g_before = numpy_weights(gan.generator_optimizer)
    d_before = numpy_weights(gan.discriminator_optimizer)
    gan.fit(toy_data(64), batch_size=16, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(gan.generator_optimizer.iterations)) == 4
    assert int(keras.ops.convert_to_numpy(gan.discriminator_optimizer.iterations)) == 12
    # Adam's moments (the variables after the iteration counter and learning
    # rate) moved for both players; only the Dense bias feeding BatchNorm gets
    # a zero gradient, so allow one unchanged pair of moments.
    for optimizer, before in (
        (gan.generator_optimizer, g_before),
        (gan.discriminator_optimizer, d_before),
    ):
        moments_after = numpy_weights(optimizer)[2:]
        changed = [not np.allclose(a, b) for a, b in zip(moments_after, before[2:])]
        assert len(changed) >= 4 and sum(changed) >= len(changed) - 2, changed
    # And model.optimizer.variables carries both (what JAX threads through).
    assert len(gan.optimizer.variables) >= len(g_before) + len(d_before)


def test_generator_ema_follows_closed_form():
    # decay_t = min(decay, (1 + t) / (10 + t)) after generator update t: 2/11,
    # 3/12, ... until it reaches 0.5 at t = 8 (9/18). Twelve steps cover both.
    decay = 0.5
    gan = make_gan(generator_ema=decay)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    expected = numpy_weights(gan.generator)
    assert all(np.allclose(a, b) for a, b in zip(numpy_weights(gan.ema_generator), expected))

    data = toy_data(16)
    for t in range(1, 13):  # One step per fit: the weights are readable between.
        gan.fit(data, batch_size=16, epochs=1, verbose=0)
        step_decay = min(decay, (1 + t) / (10 + t))
        weights = numpy_weights(gan.generator)
        expected = [
            step_decay * e + (1 - step_decay) * w if variable.trainable else w
            for variable, e, w in zip(gan.generator.weights, expected, weights)
        ]
    for e, reference in zip(numpy_weights(gan.ema_generator), expected):
        np.testing.assert_allclose(e, reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gan.ema_decay()), decay, rtol=1e-6)
    # generate() uses the EMA generator.
    z = np.random.default_rng(0).normal(size=(4, 4)).astype("float32")
    np.testing.assert_allclose(
        gan.generate(latents=z),
        keras.ops.convert_to_numpy(gan.ema_generator(z, training=False)),
        rtol=1e-6,
    )


def test_generate_is_reproducible_by_seed_and_checks_latents():
    gan = make_gan()
    a = gan.generate(num_samples=5, seed=3)
    b = gan.generate(num_samples=5, seed=3)
    c = gan.generate(num_samples=5, seed=4)
    assert a.shape == (5, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    with pytest.raises(ValueError, match=r"latents of shape \(n, 4\).*\(3, 5\)"):
        gan.generate(latents=np.zeros((3, 5), "float32"))


def test_same_seed_same_training_different_seed_different():
    def run(seed):
        keras.utils.set_random_seed(7)
        gan = make_gan(seed=seed)
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
        gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0, shuffle=False)
        return numpy_weights(gan.generator)

    first, second, other = run(1), run(1), run(2)
    for a, b in zip(first, second):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert any(not np.allclose(a, b) for a, b in zip(first, other))


def test_save_and_load_restore_players_ema_optimizers_and_seed(tmp_path):
    gan = gb.models.GAN(
        mlp_generator(),
        mlp_discriminator(dropout=0.2),
        latent_dim=4,
        generator_ema=0.9,
        seed=0,
    )
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.RMSprop(1e-3), loss="hinge")
    gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, gb.models.GAN)
    assert isinstance(restored.adversarial_loss, gb.losses.HingeLoss)
    assert isinstance(restored.discriminator_optimizer, keras.optimizers.RMSprop)
    for a, b in [
        (gan.generator, restored.generator),
        (gan.discriminator, restored.discriminator),
        (gan.ema_generator, restored.ema_generator),
        (gan.generator_optimizer, restored.generator_optimizer),
        (gan.discriminator_optimizer, restored.discriminator_optimizer),
    ]:
        for x, y in zip(numpy_weights(a), numpy_weights(b)):
            np.testing.assert_array_equal(x, y)
    for x, y in zip(gan._seed_states(), restored._seed_states()):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y))
    np.testing.assert_array_equal(gan.generate(4, seed=1), restored.generate(4, seed=1))


RESUME_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, keras, gan_blocks as gb
    sys.path.insert(0, {root!r})
    from tests.models.helpers import mlp_discriminator, mlp_generator, toy_data
    mode, path = sys.argv[1], sys.argv[2]
    data = toy_data(48)
    def build():
        gan = gb.models.GAN(mlp_generator(), mlp_discriminator(dropout=0.3), latent_dim=4,
                            generator_ema=0.9, seed=5)
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(2e-3),
                    loss="non_saturating", penalty="gradient_penalty")
        return gan
    if mode == "first":
        keras.utils.set_random_seed(0)
        gan = build()
        gan.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False)
        gan.save(path)
        gan.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False)  # 2N straight
    else:
        keras.utils.set_random_seed(123)  # a different global seed must not matter
        gan = keras.models.load_model(path)
        gan.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False)
    weights = [keras.ops.convert_to_numpy(v) for v in
               gan.generator.weights + gan.discriminator.weights + gan.ema_generator.weights
               + gan.optimizer.variables]
    np.savez(path + "." + mode + ".npz", *weights)
    """
)


def test_exact_resume_in_a_fresh_process(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT.format(root=root))
    path = str(tmp_path / "resume.keras")
    for mode in ("first", "second"):
        result = subprocess.run(
            [sys.executable, str(script), mode, path],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    straight = np.load(path + ".first.npz")
    resumed = np.load(path + ".second.npz")
    assert len(straight.files) == len(resumed.files) > 10
    for key in straight.files:
        np.testing.assert_allclose(resumed[key], straight[key], rtol=1e-5, atol=1e-6, err_msg=key)


class NaNLayer(keras.layers.Layer):
    def call(self, x):
        return x * float("nan")


def test_nan_loss_stops_training_naming_the_loss():
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1), NaNLayer()])
    gan = gb.models.GAN(mlp_generator(), discriminator, latent_dim=4)
    gan.compile()
    with pytest.raises(FloatingPointError, match="d_loss.*nan"):
        gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)


def test_async_nan_guard_on_accelerators_still_stops_training(monkeypatch):
    # On a GPU/TPU the guard runs in Keras' callback thread (no per-step wait);
    # force that path here and check the error still surfaces from `fit`.
    import threading

    from gan_blocks.models.non_finite_loss_guard import NonFiniteLossGuard
    from gan_blocks.trainers import get_trainer

    monkeypatch.setattr(get_trainer(), "runs_on_accelerator", lambda: True)
    threads = set()
    check = NonFiniteLossGuard.on_train_batch_end

    def recording_check(self, batch, logs=None):
        threads.add(threading.current_thread() is threading.main_thread())
        return check(self, batch, logs)

    monkeypatch.setattr(NonFiniteLossGuard, "on_train_batch_end", recording_check)
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1), NaNLayer()])
    gan = gb.models.GAN(mlp_generator(), discriminator, latent_dim=4)
    gan.compile()
    with pytest.raises(FloatingPointError, match="d_loss.*nan.*batch 1"):
        gan.fit(toy_data(64), batch_size=16, epochs=1, verbose=0)
    # TensorFlow's backend is not thread-safe: Keras keeps callbacks synchronous.
    assert threads == ({True} if keras.backend.backend() == "tensorflow" else {False})


def test_bad_input_raises_clear_errors():
    gan = make_gan()
    gan.compile()
    with pytest.raises(ValueError, match="integer dtype uint8.*127.5"):
        gan.fit(np.zeros((8, 2), "uint8"), verbose=0)
    with pytest.raises(ValueError, match=r"range over \[0, 255\].*\[-1, 1\]"):
        gan.fit(np.array([[0.0, 255.0]] * 8, "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"shape \(batch, 2\).*\(8, 3\)"):
        gan.fit(np.zeros((8, 3), "float32"), verbose=0)
    with pytest.raises(ValueError, match="latent_dim=5.*expects inputs of shape \\(4,\\)"):
        gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=5)
    for bad in ("4", 4.0, True, (4, "2"), 0):  # Not read digit by digit, nor rounded.
        with pytest.raises(ValueError, match=r"must be a positive int .* Received: latent_dim="):
            gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=bad)
    with pytest.raises(
        ValueError,
        match=r"produces images of shape \(2,\).*expects inputs of shape \(3,\)",
    ):
        gb.models.GAN(mlp_generator(), mlp_discriminator(input_dim=3), latent_dim=4)
    with pytest.raises(ValueError, match="discriminator_steps=0"):
        make_gan(discriminator_steps=0)
    with pytest.raises(ValueError, match="Known loss names"):
        make_gan().compile(loss="not_a_loss")
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="distinct"):
        make_gan().compile(optimizer, optimizer)


def test_generator_and_images_must_be_in_tanh_range_only_when_data_is_wrong():
    gan = make_gan()
    gan.compile()
    gan.fit(np.full((8, 2), -1.0, "float32"), batch_size=8, verbose=0)


class Zero(keras.layers.Layer):
    def call(self, x):
        return x * 0.0


def test_augmentation_is_applied_to_real_and_fake_before_discriminator():
    # An augmentation that erases the images leaves the generator with no
    # gradient (it flows through the augmentation), so its weights stay put.
    gan = make_gan(augmentation=Zero())
    gan.compile(keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.5))
    kernel_before = numpy_weights(gan.generator)[0]
    gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)
    np.testing.assert_array_equal(numpy_weights(gan.generator)[0], kernel_before)
    # Without it the generator does learn.
    gan = make_gan()
    gan.compile(keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.5))
    gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)
    assert not np.allclose(numpy_weights(gan.generator)[0], kernel_before)


class ToyPyDataset(keras.utils.PyDataset):
    def __init__(self, data, batch_size):
        super().__init__()
        self.data, self.batch_size = data, batch_size

    def __len__(self):
        return len(self.data) // self.batch_size

    def __getitem__(self, index):
        return self.data[index * self.batch_size : (index + 1) * self.batch_size]


def test_fit_on_pydataset():
    gan = make_gan()
    gan.compile()
    history = gan.fit(ToyPyDataset(toy_data(32), 8), epochs=1, verbose=0)
    assert len(history.history["g_loss"]) == 1
    bad = ToyPyDataset(toy_data(32) * 200, 8)
    with pytest.raises(ValueError, match="Scale your data"):
        gan.fit(bad, epochs=1, verbose=0)


def test_fit_on_tf_data():
    tf = pytest.importorskip("tensorflow")
    gan = make_gan()
    gan.compile()
    dataset = tf.data.Dataset.from_tensor_slices(toy_data(32)).batch(8)
    history = gan.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_loss_scaling_for_both_players(policy):
    keras.config.set_dtype_policy(policy)
    gan = make_gan()
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    if policy == "mixed_float16":
        assert isinstance(gan.optimizer.generator_optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(
            gan.optimizer.discriminator_optimizer, keras.optimizers.LossScaleOptimizer
        )
    history = gan.fit(toy_data(32), batch_size=16, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["d_loss"]))
    assert gan.generate(2, seed=0).dtype == np.float32


@pytest.mark.parametrize(
    "loss", ["minimax", "least_squares", "hinge", "wasserstein", "relativistic_average"]
)
def test_every_loss_trains(loss):
    gan = make_gan()
    gan.compile(loss=loss)
    history = gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])


def test_generate_inside_a_batch_callback_sees_the_current_weights():
    # JAX: Keras keeps the step's state outside the variables during fit; a
    # callback that generates after a batch must see the trained weights.
    seen = []

    class GenerateAfterEachBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(self.model.generate(latents=np.ones((2, 4), "float32")))

    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0, callbacks=[GenerateAfterEachBatch()])
    assert len(seen) == 2 and not np.allclose(seen[0], seen[1])  # the weights moved
    after = gan.generate(latents=np.ones((2, 4), "float32"))
    np.testing.assert_allclose(seen[-1], after, atol=1e-6)


def test_gan_resumes_exactly_and_trains_compiled_as_eager():
    # Label noise, EMA, a lazy R1 and a discriminator with seeded dropout: every
    # random stream and state a GAN keeps must come back from the file.
    def model_fn(jit_compile):
        gan = gb.models.GAN(
            mlp_generator(),
            mlp_discriminator(dropout=0.2),
            latent_dim=4,
            generator_ema=0.9,
            seed=0,
        )
        gan.compile(
            loss=gb.losses.NonSaturatingLoss(label_smoothing=0.1, label_noise=0.05),
            penalty=gb.losses.R1Penalty(gamma=1.0, every=2),
            jit_compile=jit_compile,
        )
        return gan

    # torch.compile of this model costs ~40 s; the compiled GAN step is
    # checked against eager in tests/trainers/test_torch_steps.py.
    gb.testing.TestCase().run_adversarial_model_test(
        model_fn,
        toy_data(16),
        fit_kwargs={"batch_size": 4},
        check_compiled=keras.backend.backend() != "torch",
    )
