"""The NaN guard's restore and divergence warning, and compile's optimizer defaults (issue #14)."""

import warnings

import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.models.non_finite_loss_guard import (
    NonFiniteLossGuard,
    current_values,
    state_variables,
)
from tests.models.helpers import mlp_discriminator, mlp_generator, toy_data
from tests.models.test_data_checks import Batches


def numpy_state(model):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in current_values(model)]


class RecordState(keras.callbacks.Callback):
    """Records the whole training state after every batch (runs before the guard)."""

    def __init__(self, poison_after=None):
        super().__init__()
        self.states, self.poison_after = {}, poison_after

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.poison_after:
            # A step with finite losses whose update wrote NaN (a NaN gradient).
            if keras.backend.backend() == "jax":
                self.model.jax_state_sync()
            kernel = self.model.generator.weights[0]
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))
        self.states[batch] = numpy_state(self.model)


def nan_batches(nan_batch, count=4):
    images = toy_data(8 * count)
    batches = [images[i : i + 8].copy() for i in range(0, 8 * count, 8)]
    batches[nan_batch][3] = np.nan  # Only a later batch: fit's check reads the first.
    return Batches(batches)


def make_gan():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    return gan


def test_a_non_finite_loss_restores_the_last_finite_state_and_says_so():
    gan = make_gan()
    record = RecordState()
    with pytest.raises(
        FloatingPointError,
        match=r"(?s)NaN or inf values in the training data.*"
        r"from batch 2 of epoch 1 .*restored",
    ):
        gan.fit(nan_batches(nan_batch=2), shuffle=False, callbacks=[record], verbose=0)
    assert sorted(record.states) == [0, 1, 2]
    restored = numpy_state(gan)
    assert all(np.isfinite(value).all() for value in restored if value.dtype.kind == "f")
    for got, want in zip(restored, record.states[1]):
        np.testing.assert_array_equal(got, want)
    # The model trains on from there.
    assert np.isfinite(gan.fit(toy_data(32), batch_size=8, verbose=0).history["d_loss"][0])


def test_a_snapshot_holding_nan_is_skipped_for_the_one_before():
    gan = make_gan()
    record = RecordState(poison_after=1)
    with pytest.raises(FloatingPointError, match="from batch 1 of epoch 1"):
        gan.fit(toy_data(32), batch_size=8, shuffle=False, callbacks=[record], verbose=0)
    for got, want in zip(numpy_state(gan), record.states[0]):
        np.testing.assert_array_equal(got, want)


class NaNLayer(keras.layers.Layer):
    def call(self, x):
        return x * float("nan")


def test_a_nan_in_the_first_batch_restores_the_state_before_training():
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1), NaNLayer()])
    gan = gb.models.GAN(mlp_generator(), discriminator, latent_dim=4, seed=0)
    gan.compile()
    before = numpy_state(gan)
    # Under XLA:CPU (TensorFlow without oneDNN picks it) the first step's loss
    # can come out finite (XLA's max/min drop the NaN inside softplus) while its
    # update writes NaN: the guard then stops at batch 2, and still restores
    # the state from before training (batch 1's snapshot holds NaN).
    with pytest.raises(FloatingPointError, match=r"batch [12]\. .*from before training"):
        gan.fit(toy_data(32), batch_size=8, verbose=0)
    for got, want in zip(numpy_state(gan), before):
        np.testing.assert_array_equal(got, want)


def test_the_asynchronous_guard_says_it_restored_nothing(monkeypatch):
    from gan_blocks.trainers import get_trainer

    monkeypatch.setattr(get_trainer(), "runs_on_accelerator", lambda: True)
    gan = make_gan()
    if keras.backend.backend() == "tensorflow":  # Keras keeps TF's callbacks synchronous.
        expected = "restored in memory"
    else:
        expected = "left as they are.*reload your last checkpoint"
    with pytest.raises(FloatingPointError, match=expected):
        gan.fit(nan_batches(nan_batch=1), shuffle=False, verbose=0)


def test_exploding_finite_losses_warn_once_naming_the_loss():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile(keras.optimizers.Adam(1e3), keras.optimizers.Adam(1e3))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        gan.fit(toy_data(128), batch_size=16, epochs=2, verbose=0)
    messages = [str(w.message) for w in record if "diverging" in str(w.message)]
    assert messages, "no divergence warning"
    names = [message.split("`")[1] for message in messages]
    assert len(names) == len(set(names))  # Once per loss.
    assert "lower the learning rate" in messages[0] and "its first value" in messages[0]


def test_the_divergence_rule():
    guard = NonFiniteLossGuard(("d_loss",), divergence_factor=1e4)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        guard._check_divergence("d_loss", 1e-3, 0)  # First value, floored at 1.
        guard._check_divergence("d_loss", 9e3, 1)
        assert not record
        guard._check_divergence("d_loss", -2e4, 2)
        guard._check_divergence("d_loss", 3e4, 3)
    assert len(record) == 1 and "`d_loss` reached -2e+04" in str(record[0].message)


def test_state_variables_cover_weights_seeds_and_optimizer():
    gan = make_gan()
    gan.fit(toy_data(16), batch_size=8, verbose=0)
    ids = {id(v) for v in state_variables(gan)}
    assert {id(v) for v in gan.weights} <= ids
    assert {id(v) for v in gan.optimizer.variables} <= ids
    assert id(gan.seed_generator.state) in ids


def test_compile_warns_when_only_one_optimizer_is_given():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    with pytest.warns(UserWarning, match=r"no optimizer for the group\(s\) \['discriminator'\]"):
        gan.compile(generator_optimizer=keras.optimizers.Adam(1e-4))
    optimizer = gan.discriminator_optimizer
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert float(optimizer.beta_1) == 0.5
    assert np.isclose(float(keras.ops.convert_to_numpy(optimizer.learning_rate)), 2e-4)
    for arguments in ({}, {"generator_optimizer": "adam", "discriminator_optimizer": "adam"}):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4).compile(**arguments)
        assert not [w for w in record if "no optimizer" in str(w.message)]
    assert "Adam(learning_rate=2e-4, beta_1=0.5)" in gb.models.AdversarialModel.compile.__doc__


def test_one_optimizer_object_cannot_train_two_models():
    shared = keras.optimizers.Adam()
    first = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    first.compile(shared, keras.optimizers.Adam())
    first.fit(toy_data(16), batch_size=8, verbose=0)
    second = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    with pytest.raises(ValueError, match="already belongs to another model"):
        second.compile(shared, keras.optimizers.Adam())
    with pytest.raises(ValueError, match="already belongs to another model"):
        second.compile(keras.optimizers.Adam(), first.discriminator_optimizer)


def test_the_seed_is_documented_not_to_seed_the_initial_weights():
    for model in (gb.models.AdversarialModel, gb.models.GAN):
        assert "keras.utils.set_random_seed" in model.__doc__
    # What the docs promise: same seed, data and initial weights, same run.
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
        gan.compile()
        gan.fit(toy_data(32), batch_size=16, shuffle=False, verbose=0)
        runs.append(gan.generate(latents=np.ones((2, 4), "float32")))
    np.testing.assert_array_equal(runs[0], runs[1])


class _PoisonMovingVariance(keras.callbacks.Callback):
    """Writes NaN into the generator's batch-norm moving variance after batch 2.

    In training mode batch norm uses the batch's statistics, so every loss
    stays finite while the model is broken for inference.
    """

    def on_train_batch_end(self, batch, logs=None):
        if batch == 1:
            norm = next(
                layer
                for layer in self.model.generator.layers
                if isinstance(layer, keras.layers.BatchNormalization)
            )
            norm.moving_variance.assign(np.full(norm.moving_variance.shape, np.nan, "float32"))


def test_non_finite_weights_with_finite_losses_stop_training_at_the_epoch_end():
    if keras.backend.backend() == "jax":
        pytest.skip("JAX's fit keeps the state outside the variables: a callback cannot poison it")
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    with pytest.raises(FloatingPointError, match=r"moving_variance.*after epoch 1.*finite"):
        gan.fit(
            toy_data(32), batch_size=8, epochs=2, verbose=0, callbacks=[_PoisonMovingVariance()]
        )
    # The last state without NaN (before the poisoned batch) came back.
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(gan.generator.layers[1].moving_variance)))


def test_non_finite_weights_before_training_are_refused_by_name():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    kernel = gan.discriminator.layers[0].kernel
    kernel.assign(np.full(kernel.shape, np.inf, "float32"))
    gan.compile()
    with pytest.raises(ValueError, match=r"dense.*kernel.*before training"):
        gan.fit(toy_data(16), batch_size=8, epochs=1, verbose=0)


def test_an_optimizer_of_a_deleted_model_is_refused():
    # JAX continued the old step count and moments silently (issue #31, item 10).
    import gc

    optimizers = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile(*optimizers)
    gan.fit(toy_data(16), batch_size=8, verbose=0)
    del gan
    gc.collect()
    fresh = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    with pytest.raises(ValueError, match="a model that no longer exists"):
        fresh.compile(*optimizers)
    fresh.compile(*optimizers[:0])  # new default optimizers are fine
    fresh.compile(fresh.generator_optimizer, fresh.discriminator_optimizer)  # its own, again
