"""Lazy R1 (StyleGAN2): the R1 term times `every` on its steps, absent between."""

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import mlp_generator, numpy_weights, toy_data


class PerBatchPenalty(keras.callbacks.Callback):
    """Each batch's own penalty, recovered from Keras' running epoch means."""

    def on_epoch_begin(self, epoch, logs=None):
        self.means = []

    def on_train_batch_end(self, batch, logs=None):
        self.means.append(float(logs["r1_penalty"]))

    def values(self):
        totals = [mean * (index + 1) for index, mean in enumerate(self.means)]
        return np.diff([0.0] + totals)


def linear_critic_gan(kernel):
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    critic.layers[0].kernel.assign(np.asarray(kernel, "float32").reshape(2, 1))
    return gb.models.GAN(mlp_generator(), critic, latent_dim=4, seed=0)


def test_lazy_r1_is_every_times_r1_on_its_steps_and_zero_between():
    # A linear critic has input gradient w everywhere: R1 = gamma / 2 * |w|^2.
    gan = linear_critic_gan([3.0, 4.0])
    gan.compile(
        discriminator_optimizer=keras.optimizers.SGD(0.0),  # w stays fixed
        penalty=gb.losses.R1Penalty(gamma=2.0, every=3),
    )
    probe = PerBatchPenalty()
    gan.fit(toy_data(56), batch_size=8, epochs=1, shuffle=False, callbacks=[probe], verbose=0)
    # Discriminator steps 0..6: the penalty applies at 0, 3 and 6, weighted by 3.
    np.testing.assert_allclose(probe.values(), [75.0, 0, 0, 75.0, 0, 0, 75.0], atol=1e-3)
    assert int(keras.ops.convert_to_numpy(gan.discriminator_optimizer.iterations)) == 7


def test_every_one_is_plain_r1_on_every_step():
    gan = linear_critic_gan([1.0, 2.0])
    gan.compile(
        discriminator_optimizer=keras.optimizers.SGD(0.0),
        penalty=gb.losses.R1Penalty(gamma=4.0),
    )
    probe = PerBatchPenalty()
    gan.fit(toy_data(24), batch_size=8, epochs=1, shuffle=False, callbacks=[probe], verbose=0)
    np.testing.assert_allclose(probe.values(), [10.0] * 3, atol=1e-3)


def test_the_lazy_penalty_changes_the_discriminator_only_on_its_steps():
    # With a learning rate, the R1 gradient on w is gamma * every * w on lazy
    # steps: compare the critic after one step with and without the penalty.
    def first_step_kernel(penalty, steps):
        keras.utils.set_random_seed(0)
        gan = linear_critic_gan([3.0, 4.0])
        gan.compile(discriminator_optimizer=keras.optimizers.SGD(0.01), penalty=penalty)
        gan.fit(toy_data(8 * steps), batch_size=8, epochs=1, shuffle=False, verbose=0)
        return keras.ops.convert_to_numpy(gan.discriminator.layers[0].kernel).reshape(-1)

    plain = first_step_kernel(None, 1)
    lazy = first_step_kernel(gb.losses.R1Penalty(gamma=1.0, every=4), 1)
    # Step 0 is a lazy step: w -= 0.01 * gamma * every * w (on top of the GAN loss).
    np.testing.assert_allclose(lazy, plain - 0.01 * 4 * np.array([3.0, 4.0]), atol=1e-5)


def test_exact_resume_keeps_the_lazy_schedule(tmp_path):
    def make():
        keras.utils.set_random_seed(1)
        gan = linear_critic_gan([0.5, -0.5])
        gan.compile(penalty=gb.losses.R1Penalty(gamma=1.0, every=3))
        return gan

    data = toy_data(40)  # 5 batches: the schedule straddles epochs
    reference = make()
    reference.fit(data, batch_size=8, epochs=2, shuffle=False, verbose=0)
    first = make()
    first.fit(data, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "lazy.keras")
    first.save(path)
    resumed = keras.saving.load_model(path)
    assert resumed.penalty.every == 3
    resumed.fit(data, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(numpy_weights(resumed), numpy_weights(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_every_must_be_a_positive_int():
    with pytest.raises(ValueError, match="every=0"):
        gb.losses.R1Penalty(every=0)
    with pytest.raises(ValueError, match="every=2.5"):
        gb.losses.R1Penalty(every=2.5)
