import math

import keras
import numpy as np
import pytest

import gan_blocks as gb


def tiny_vae(reconstruction="bernoulli", beta=1.0, log_var_bias=0.0):
    images = keras.Input((2, 2, 1))
    flat = keras.layers.Flatten()(images)
    z_mean = keras.layers.Dense(2, name="z_mean")(flat)
    z_log_var = keras.layers.Dense(2, name="z_log_var")(flat)
    encoder = keras.Model(images, [z_mean, z_log_var])
    latents = keras.Input((2,))
    decoder = keras.Model(latents, keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4)(latents)))
    encoder.get_layer("z_log_var").kernel.assign(np.zeros((4, 2), "float32"))
    encoder.get_layer("z_log_var").bias.assign(np.full(2, log_var_bias, "float32"))
    return gb.models.VAE(encoder, decoder, beta=beta, reconstruction=reconstruction, seed=0)


def numpy_elbo(vae, x, reconstruction):
    w_mu, b_mu = (keras.ops.convert_to_numpy(v) for v in vae.encoder.get_layer("z_mean").weights)
    log_var_bias = keras.ops.convert_to_numpy(vae.encoder.get_layer("z_log_var").bias)
    w_d, b_d = (keras.ops.convert_to_numpy(v) for v in vae.decoder.layers[1].weights)
    flat = x.reshape(len(x), -1).astype("float64")
    mu = flat @ w_mu + b_mu
    log_var = np.broadcast_to(log_var_bias, mu.shape)
    out = mu @ w_d + b_d  # z = mu: the posterior variance is ~0 (log_var = -40)
    if reconstruction == "bernoulli":
        rec = flat * np.logaddexp(0, -out) + (1 - flat) * np.logaddexp(0, out)
    else:
        rec = 0.5 * (flat - out) ** 2 + 0.5 * math.log(2 * math.pi)
    kl = -0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=1)
    return rec.sum(1).mean(), kl.mean()


@pytest.mark.parametrize("reconstruction", ["bernoulli", "gaussian"])
def test_elbo_matches_a_hand_computation(reconstruction):
    vae = tiny_vae(reconstruction, beta=0.5, log_var_bias=-40.0)
    vae.compile()
    x = np.random.default_rng(0).uniform(0, 1, (6, 2, 2, 1)).astype("float32")
    logs = vae.evaluate(x, batch_size=6, verbose=0, return_dict=True)
    rec, kl = numpy_elbo(vae, x, reconstruction)
    np.testing.assert_allclose(logs["reconstruction_loss"], rec, rtol=1e-4)
    np.testing.assert_allclose(logs["kl_loss"], kl, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(logs["loss"], rec + 0.5 * kl, rtol=1e-4)


def test_fit_decreases_loss_and_save_load_reproduces_outputs(tmp_path):
    vae = gb.models.VAE(
        gb.architectures.vae_encoder((8, 8, 1), 2),
        gb.architectures.vae_decoder(2, (8, 8, 1)),
        seed=0,
    )
    vae.compile(keras.optimizers.Adam(3e-3))
    rng = np.random.default_rng(0)
    prototypes = (rng.uniform(0, 1, (2, 8, 8, 1)) > 0.5).astype("float32")
    x = prototypes[rng.integers(0, 2, 128)]
    history = vae.fit(x, batch_size=32, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    assert set(history.history) == {"loss", "reconstruction_loss", "kl_loss"}
    path = str(tmp_path / "vae.keras")
    vae.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(restored.predict(x[:4], verbose=0), vae.predict(x[:4], verbose=0))
    z_mean, z_log_var = restored.encode(x[:3])
    assert z_mean.shape == z_log_var.shape == (3, 2)
    assert restored.decode(z_mean).shape == (3, 8, 8, 1)
    np.testing.assert_array_equal(restored.generate(2, seed=1), vae.generate(2, seed=1))
    restored.fit(x, batch_size=32, epochs=1, verbose=0)  # the optimizer state came back


def test_bad_inputs_raise():
    vae = tiny_vae()
    vae.compile()
    with pytest.raises(ValueError, match=r"\[0, 1\].*255"):
        vae.fit(np.full((4, 2, 2, 1), 255, "uint8"), verbose=0)
    with pytest.raises(ValueError, match="reconstruction"):
        tiny_vae(reconstruction="laplace")
    with pytest.raises(ValueError, match="latents of size 2"):
        vae.decode(np.zeros((1, 3), "float32"))
    gaussian = tiny_vae(reconstruction="gaussian")
    gaussian.compile()
    with pytest.raises(ValueError, match=r"integer dtype uint8 \(values 255\.\.255\)"):
        gaussian.fit(np.full((4, 2, 2, 1), 255, "uint8"), verbose=0)
    # Players that do not fit together are refused when the VAE is built.
    encoder = tiny_vae().encoder
    latents = keras.Input((3,))
    wide = keras.Model(latents, keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4)(latents)))
    with pytest.raises(ValueError, match="sizes 2 and 2, but the decoder takes latents of size 3"):
        gb.models.VAE(encoder, wide)
    latents = keras.Input((2,))
    larger = keras.Model(latents, keras.layers.Reshape((3, 3, 1))(keras.layers.Dense(9)(latents)))
    with pytest.raises(
        ValueError, match=r"shape \(3, 3, 1\), but the encoder takes .* \(2, 2, 1\)"
    ):
        gb.models.VAE(encoder, larger)


def test_nan_loss_stops_training_naming_the_loss():
    vae = tiny_vae(reconstruction="gaussian")
    vae.encoder.get_layer("z_log_var").bias.assign(np.full(2, 1e4, "float32"))  # exp overflows
    vae.compile()
    with pytest.raises(FloatingPointError, match="loss") as error:
        vae.fit(np.zeros((4, 2, 2, 1), "float32"), batch_size=4, verbose=0)
    # The causes named are a VAE's, not a GAN's.
    assert "log-variance" in str(error.value) and "discriminator" not in str(error.value)


def linear_gaussian_vae(exact_posterior=True):
    """A VAE whose marginal is known: z ~ N(0, I), x = W'z + b + N(0, I)."""
    weights = np.array([[1.0, 2.0, 0.0, -1.0], [2.0, -1.0, 1.5, 0.0]])  # orthogonal rows
    bias = np.array([0.5, -0.2, 0.1, 0.3])
    posterior_cov = np.linalg.inv(np.eye(2) + weights @ weights.T)  # diagonal
    vae = tiny_vae("gaussian")
    decoder_dense = vae.decoder.layers[1]
    decoder_dense.kernel.assign(weights.astype("float32"))
    decoder_dense.bias.assign(bias.astype("float32"))
    encoder_kernel = weights.T @ posterior_cov
    mean_layer = vae.encoder.get_layer("z_mean")
    mean_layer.kernel.assign(encoder_kernel.astype("float32"))
    mean_layer.bias.assign((-bias @ encoder_kernel).astype("float32"))
    log_var = np.log(np.diag(posterior_cov)) if exact_posterior else np.zeros(2)
    vae.encoder.get_layer("z_log_var").bias.assign(log_var.astype("float32"))
    marginal_cov = weights.T @ weights + np.eye(4)
    return vae, bias, marginal_cov


def gaussian_log_density(x, mean, cov):
    diff = x.reshape(len(x), -1) - mean
    _, log_det = np.linalg.slogdet(cov)
    mahalanobis = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
    return -0.5 * (mahalanobis + log_det + len(mean) * math.log(2 * math.pi))


def test_log_likelihood_is_exact_with_the_true_posterior():
    vae, mean, cov = linear_gaussian_vae()
    x = np.random.default_rng(0).normal(size=(7, 2, 2, 1)).astype("float32")
    want = gaussian_log_density(x.astype("float64"), mean, cov)
    # p(x, z) / q(z | x) = p(x) for every z: any K gives log p(x).
    for num_samples in (1, 10):
        got = vae.log_likelihood(x, num_samples=num_samples, batch_size=3)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_log_likelihood_tightens_towards_the_marginal_with_more_samples():
    vae, mean, cov = linear_gaussian_vae(exact_posterior=False)  # a too-wide proposal
    x = np.random.default_rng(1).normal(size=(20, 2, 2, 1)).astype("float32")
    want = gaussian_log_density(x.astype("float64"), mean, cov)
    one = vae.log_likelihood(x, num_samples=1, seed=0)
    many = vae.log_likelihood(x, num_samples=20_000, seed=0)
    # A lower bound in expectation, whose gap shrinks as K grows.
    assert np.mean(want - one) > 0.5
    assert np.abs(many - want).max() < 0.05
    # K = 1 averages to the ELBO, here in closed form: E_q[log p(x|z)] - KL(q || p).
    z_mean, z_log_var = (np.asarray(v, "float64") for v in vae.encode(x))
    weights = keras.ops.convert_to_numpy(vae.decoder.layers[1].kernel).astype("float64")
    residual = x.reshape(len(x), -1) - (z_mean @ weights + mean)
    spread = np.exp(z_log_var) @ np.square(weights)  # E_q of each pixel's extra variance
    expected_log_likelihood = -0.5 * np.sum(np.square(residual) + spread + math.log(2 * math.pi), 1)
    kl = 0.5 * np.sum(np.exp(z_log_var) + np.square(z_mean) - 1.0 - z_log_var, axis=1)
    elbo = np.mean(expected_log_likelihood - kl)
    repeated = np.mean([vae.log_likelihood(x, num_samples=1, seed=s).mean() for s in range(400)])
    assert repeated == pytest.approx(elbo, abs=0.1)  # 8,000 samples: standard error ~0.03


def test_log_likelihood_rejects_bad_arguments():
    vae, _, _ = linear_gaussian_vae()
    with pytest.raises(ValueError, match="num_samples"):
        vae.log_likelihood(np.zeros((2, 2, 2, 1), "float32"), num_samples=0)


@pytest.mark.parametrize("likelihood", ["bernoulli", "learned_gaussian"])
def test_vae_resumes_exactly_and_trains_compiled_as_eager(likelihood):
    images = np.random.default_rng(0).uniform(0, 1, (16, 2, 2, 1)).astype("float32")

    def model_fn(jit_compile):
        reconstruction = (
            gb.losses.GaussianLikelihood(variance="learned")
            if likelihood == "learned_gaussian"
            else likelihood
        )
        vae = tiny_vae(reconstruction)
        vae.compile(keras.optimizers.Adam(1e-2), jit_compile=jit_compile)
        return vae

    gb.testing.TestCase().run_adversarial_model_test(model_fn, images, fit_kwargs={"batch_size": 4})
