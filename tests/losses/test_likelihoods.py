import math

import keras
import numpy as np
import pytest

import gan_blocks as gb


def test_bernoulli_negative_log_likelihood_is_the_summed_cross_entropy():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, 2, 2, 1)).astype("float32")
    logits = rng.normal(0, 3, (3, 2, 2, 1)).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    want = -np.sum(images * np.log(p) + (1 - images) * np.log1p(-p), axis=(1, 2, 3))
    got = keras.ops.convert_to_numpy(
        gb.losses.BernoulliLikelihood().negative_log_likelihood(images, logits)
    )
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(gb.losses.BernoulliLikelihood().mean(logits)), p, rtol=1e-6
    )


@pytest.mark.parametrize("variance", [1.0, 0.04])
def test_gaussian_negative_log_likelihood_matches_the_density(variance):
    rng = np.random.default_rng(1)
    images = rng.normal(size=(4, 3, 3, 2)).astype("float32")
    means = rng.normal(size=(4, 3, 3, 2)).astype("float32")
    residual = images.astype("float64") - means
    log_density = -(residual**2) / (2 * variance) - 0.5 * math.log(2 * math.pi * variance)
    want = -log_density.sum(axis=(1, 2, 3))
    likelihood = gb.losses.GaussianLikelihood(variance=variance)
    got = keras.ops.convert_to_numpy(likelihood.negative_log_likelihood(images, means))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_bad_likelihood_arguments_and_data_are_refused():
    for bad in (0.0, -1.0, "fixed", True):
        with pytest.raises(ValueError, match="variance"):
            gb.losses.GaussianLikelihood(variance=bad)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        gb.losses.BernoulliLikelihood().check_data(np.full((1, 2), 2.0))
    gb.losses.GaussianLikelihood().check_data(np.full((1, 2), 200.0))  # any real value


def small_vae(likelihood):
    return gb.models.VAE(
        gb.architectures.vae_encoder((8, 8, 1), 2, filters=8, hidden=16),
        gb.architectures.vae_decoder(2, (8, 8, 1), filters=8),
        reconstruction=likelihood,
        seed=0,
    )


def test_a_learned_variance_is_trained_saved_and_calibrates_to_the_residual(tmp_path):
    keras.utils.set_random_seed(0)
    vae = small_vae(gb.losses.GaussianLikelihood(variance="learned"))
    assert len(vae.likelihood.trainable_weights) == 1  # trained with the networks
    vae.compile(keras.optimizers.Adam(1e-2))
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(0, 1, (2, 8, 8, 1)).astype("float32")
    x = prototypes[rng.integers(0, 2, 128)] + rng.normal(0, 0.05, (128, 8, 8, 1))
    history = vae.fit(x.astype("float32"), batch_size=16, epochs=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # Unit variance is badly calibrated for these small residuals: the learned
    # variance falls from 1 towards the mean squared residual.
    log_variance = keras.ops.convert_to_numpy(vae.likelihood.log_variance)
    residual = np.mean((vae.predict(x.astype("float32"), verbose=0) - x) ** 2)
    assert math.log(residual) < log_variance[0] < -1.5, (log_variance, residual)
    path = str(tmp_path / "vae.keras")
    vae.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored.likelihood, gb.losses.GaussianLikelihood)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(restored.likelihood.log_variance), log_variance
    )
    sample = x[:8].astype("float32")
    np.testing.assert_allclose(
        restored.log_likelihood(sample, num_samples=4), vae.log_likelihood(sample, num_samples=4)
    )


def test_the_learned_variance_minimising_the_likelihood_is_the_mean_squared_residual():
    rng = np.random.default_rng(2)
    images = rng.normal(size=(16, 4, 4, 1)).astype("float32")
    means = (images + rng.normal(0, 0.3, images.shape)).astype("float32")
    mse = float(np.mean((images - means) ** 2))
    likelihood = gb.losses.GaussianLikelihood(variance="learned")
    likelihood.build(images.shape)

    def nll(log_variance):
        likelihood.log_variance.assign(np.array([log_variance], "float32"))
        return float(
            np.mean(keras.ops.convert_to_numpy(likelihood.negative_log_likelihood(images, means)))
        )

    best = nll(math.log(mse))
    assert best < nll(math.log(mse) - 0.2) and best < nll(math.log(mse) + 0.2)
    fixed = gb.losses.GaussianLikelihood(variance=mse).negative_log_likelihood(images, means)
    assert best == pytest.approx(float(np.mean(keras.ops.convert_to_numpy(fixed))), rel=1e-5)
