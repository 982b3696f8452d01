import keras
import numpy as np
import pytest

import gan_blocks as gb


def linear_critic(weights):
    critic = keras.Sequential([keras.Input((len(weights),)), keras.layers.Dense(1)])
    critic.layers[0].kernel.assign(np.asarray(weights, "float32")[:, None])
    return critic


def test_gradient_penalty_closed_form_for_linear_critic():
    w = np.array([3.0, 0.0, 4.0, 1.0], "float32")  # ||w|| = sqrt(26)
    critic = linear_critic(w)
    rng = np.random.default_rng(0)
    real = rng.normal(size=(16, 4)).astype("float32")
    fake = rng.normal(size=(16, 4)).astype("float32")
    penalty = gb.losses.GradientPenalty(weight=10.0)
    value = float(keras.ops.convert_to_numpy(penalty(critic, real, fake, seed=0)))
    np.testing.assert_allclose(value, 10.0 * (np.sqrt(26.0) - 1.0) ** 2, rtol=1e-5)


def test_r1_penalty_closed_form_for_linear_critic():
    w = np.array([1.0, 2.0, 2.0], "float32")  # ||w||^2 = 9
    critic = linear_critic(w)
    real = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")
    value = float(keras.ops.convert_to_numpy(gb.losses.R1Penalty(gamma=4.0)(critic, real)))
    np.testing.assert_allclose(value, 0.5 * 4.0 * 9.0, rtol=1e-5)


def test_gradient_penalty_on_quadratic_critic_matches_numpy():
    # D(x) = sum(x^2): grad = 2x, so the penalty depends on the interpolation;
    # with identical real and fake images the interpolate is the image itself.
    x = np.random.default_rng(2).normal(size=(6, 5)).astype("float32")
    penalty = gb.losses.GradientPenalty(weight=1.0)
    value = float(
        keras.ops.convert_to_numpy(
            penalty(lambda t: keras.ops.sum(t * t, axis=1), x, x.copy(), seed=0)
        )
    )
    norms = np.linalg.norm(2 * x, axis=1)
    np.testing.assert_allclose(value, np.mean((norms - 1) ** 2), rtol=1e-5)


def _wgan_gp_update(penalty_weight, learning_rate):
    """One WGAN-GP discriminator step through `fit`, on every backend.

    Generator: zero kernel, so fake = tanh(bias) for every latent. Critic:
    linear, D(x) = w.x + b. Then the critic loss is
        w.(fake - mean(real)) + lambda * (||w|| - 1)^2
    whose gradient w.r.t. w is (fake - mean(real)) + 2 lambda (||w|| - 1) w/||w||:
    only right if the penalty's gradient-of-gradient is right.
    """
    w0 = np.array([0.5, -1.5], "float32")
    bias = np.array([0.3, -0.2], "float32")
    generator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="tanh")])
    generator.layers[0].kernel.assign(np.zeros((3, 2), "float32"))
    generator.layers[0].bias.assign(bias)
    critic = linear_critic(w0)
    gan = gb.models.GAN(generator, critic, latent_dim=3, seed=0)
    gan.compile(
        keras.optimizers.SGD(0.0),
        keras.optimizers.SGD(learning_rate),
        loss="wasserstein",
        penalty=gb.losses.GradientPenalty(weight=penalty_weight),
    )
    real = np.random.default_rng(3).uniform(-1, 1, (8, 2)).astype("float32")
    gan.fit(real, batch_size=8, epochs=1, verbose=0, shuffle=False)
    w1 = keras.ops.convert_to_numpy(critic.layers[0].kernel)[:, 0]
    fake = np.tanh(bias)
    norm = np.linalg.norm(w0)
    grad = (fake - real.mean(0)) + 2 * penalty_weight * (norm - 1) * w0 / norm
    return w1, w0 - learning_rate * grad


def test_gradient_penalty_gradient_of_gradient_through_fit():
    actual, expected = _wgan_gp_update(penalty_weight=10.0, learning_rate=0.01)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-6)


def test_penalty_names_and_errors():
    assert gb.losses.get_penalty("gradient_penalty").weight == 10.0
    assert gb.losses.get_penalty("r1").name == "r1_penalty"
    assert gb.losses.get_penalty(None) is None
    with pytest.raises(ValueError, match="gamma=-1"):
        gb.losses.R1Penalty(gamma=-1)
