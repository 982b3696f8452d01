import keras
import numpy as np
import pytest
import scipy.linalg

import gan_blocks as gb
from gan_blocks.metrics.frechet_distance import trace_sqrt_product


def identity(x):
    return x


def identity_model(dim):
    return keras.Sequential(
        [keras.Input((dim,)), keras.layers.Identity()], name="identity_features"
    )


def random_covariance(rng, dim, scale=1.0):
    a = rng.normal(size=(dim, dim))
    return scale * (a @ a.T / dim + 0.1 * np.eye(dim))


def scipy_fid(x, y):
    """The pytorch-fid / TTUR reference: scipy.linalg.sqrtm of the product."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def with_exact_moments(samples, mean, covariance):
    """Affinely maps samples so their sample mean/covariance are exactly the targets."""
    centered = samples - samples.mean(0)
    whitened = centered @ np.linalg.inv(np.linalg.cholesky(np.cov(centered, rowvar=False))).T
    return whitened @ np.linalg.cholesky(covariance).T + mean


def test_closed_form_for_two_gaussians():
    rng = np.random.default_rng(0)
    dim = 6
    # Commuting covariances (shared eigenvectors): closed form is
    # ||mu1 - mu2||^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    a, b = rng.uniform(0.5, 2.0, dim), rng.uniform(0.5, 2.0, dim)
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert gb.metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)

    # Large samples from the two Gaussians, as identity "features".
    n = 100_000
    x = rng.multivariate_normal(mu1, s1, size=n)
    y = rng.multivariate_normal(mu2, s2, size=n)
    fid = gb.metrics.FrechetDistance(feature_extractor=identity, batch_size=25_000)
    fid.update_state(x, y)
    # Sampling error of the FID estimate is O(dim / sqrt(n)) here.
    assert fid.result() == pytest.approx(expected, abs=0.05)

    # With sample moments made exact the match is to round-off.
    fid.reset_state()
    fid.update_state(with_exact_moments(x, mu1, s1), with_exact_moments(y, mu2, s2))
    assert fid.result() == pytest.approx(expected, rel=1e-9)


def test_matches_scipy_sqrtm_reference_on_random_features():
    rng = np.random.default_rng(1)
    dim = 16
    x = rng.multivariate_normal(rng.normal(size=dim), random_covariance(rng, dim), size=3000)
    y = rng.multivariate_normal(rng.normal(size=dim), random_covariance(rng, dim, 2.0), size=2000)
    fid = gb.metrics.FrechetDistance(feature_extractor=identity)
    fid.update_state(x, y)
    reference = scipy_fid(x, y)
    assert fid.result() == pytest.approx(reference, rel=1e-6)
    # The matrix square root trace itself against sqrtm.
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    assert trace_sqrt_product(s1, s2) == pytest.approx(
        np.trace(np.real(scipy.linalg.sqrtm(s1 @ s2))), rel=1e-9
    )


def test_streaming_batches_give_the_same_result_and_large_means_are_safe():
    rng = np.random.default_rng(2)
    # A large common offset relative to the spread (cancellation-prone).
    x = rng.normal(size=(900, 8)) + 1e4
    y = 1.5 * rng.normal(size=(700, 8)) + 1e4 + 0.5
    one_shot = gb.metrics.FrechetDistance(feature_extractor=identity)
    one_shot.update_state(x, y)
    streamed = gb.metrics.FrechetDistance(feature_extractor=identity, batch_size=7)
    for start in range(0, 900, 100):
        streamed.update_state(real_images=x[start : start + 100])
    for start in range(0, 700, 300):
        streamed.update_state(generated_images=y[start : start + 300])
    assert streamed.result() == pytest.approx(one_shot.result(), rel=1e-9)
    assert one_shot.result() == pytest.approx(scipy_fid(x - 1e4, y - 1e4), rel=1e-6)
    stats = one_shot.statistics()
    np.testing.assert_allclose(stats["sigma_real"], np.cov(x, rowvar=False), rtol=1e-9)


def test_set_with_itself_is_zero_and_reset_state_works():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 10)).astype("float32")
    fid = gb.metrics.FrechetDistance(feature_extractor=identity_model(10), batch_size=128)
    fid.update_state(x, x)
    assert abs(fid.result()) < 1e-9
    assert fid.protocol["num_real"] == 500 and fid.protocol["num_generated"] == 500
    fid.update_state(generated_images=x + 1.0)
    assert fid.protocol["num_generated"] == 1000
    fid.reset_state()
    assert fid.num_real == 0 and fid.num_generated == 0 and fid.feature_dim is None
    with pytest.raises(ValueError, match="needs at least 2 real"):
        fid.result()
    fid.update_state(x[:1], x[:1])
    with pytest.raises(ValueError) as error:
        fid.result()
    assert str(error.value) == (
        "FrechetDistance needs at least 2 real and 2 generated images; it has seen 1 real "
        "and 1 generated. Pass more images to update_state."
    )
    fid.reset_state()
    fid.update_state(x, x + 2.0)
    assert fid.result() == pytest.approx(40.0, rel=1e-5)
    # Only the generated statistics reset: the real ones stay.
    fid.reset_generated_state()
    assert fid.num_real == 500 and fid.num_generated == 0
    fid.update_state(generated_images=x)
    assert abs(fid.result()) < 1e-9


def test_keras_feature_extractor_on_images_and_protocol_and_config():
    extractor = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()],
        name="tiny_features",
    )
    rng = np.random.default_rng(4)
    real = rng.uniform(-1, 1, (40, 8, 8, 1)).astype("float32")
    fake = rng.uniform(-0.5, 0.5, (30, 8, 8, 1)).astype("float32")
    fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=16)
    fid.update_state(real, keras.ops.convert_to_tensor(fake))
    assert fid.result() > 0
    features = np.asarray(extractor.predict(real, verbose=0), "float64")
    direct = gb.metrics.FrechetDistance(feature_extractor=identity)
    direct.update_features(features, np.asarray(extractor.predict(fake, verbose=0)))
    assert fid.result() == pytest.approx(direct.result(), rel=1e-5)

    # Images of another size than the extractor's input: a clear error, no statistics.
    with pytest.raises(ValueError) as error:
        fid.update_state(None, np.zeros((3, 14, 14, 1), "float32"))
    assert (
        "'tiny_features' takes images of shape (batch, 8, 8, 1); received images of "
        "shape (3, 14, 14, 1)" in str(error.value)
    )
    assert fid.num_generated == 30

    protocol = fid.protocol
    assert protocol["feature_extractor"] == "tiny_features"
    assert protocol["feature_dim"] == 4
    assert protocol["extractor_input_shape"] == [8, 8, 1]
    config = fid.get_config()
    assert config["name"] == "fid" and config["protocol"]["num_real"] == 40
    revived = gb.metrics.FrechetDistance.from_config(config)
    assert revived.name == "fid" and revived.num_real == 0
    assert revived.feature_extractor_name == "tiny_features"
    assert keras.saving.get_registered_name(gb.metrics.FrechetDistance) == (
        "gan_blocks>FrechetDistance"
    )


def test_default_extractor_is_lazy_and_protocol_names_it():
    fid = gb.metrics.FrechetDistance()  # must not build/download anything
    assert fid.protocol["feature_extractor"] == "inception_v3_pool"
    assert fid.protocol["image_size"] == [299, 299]
    assert "bilinear" in fid.protocol["resize"]
    assert fid.get_config()["feature_extractor"] is None


def test_errors_say_what_was_received():
    with pytest.raises(ValueError, match="batch_size"):
        gb.metrics.FrechetDistance(identity, batch_size=0)
    with pytest.raises(TypeError, match="feature_extractor"):
        gb.metrics.FrechetDistance(feature_extractor="resnet")
    with pytest.raises(ValueError, match="only applies to the default"):
        gb.metrics.FrechetDistance(identity, weights="/tmp/w.h5")
    fid = gb.metrics.FrechetDistance(identity)
    with pytest.raises(ValueError, match=r"shape \(num_images, feature_dim\)"):
        fid.update_state(np.zeros((4, 2, 2)), np.zeros((4, 2, 2)))
    fid.update_state(np.zeros((4, 3)), None)
    with pytest.raises(ValueError, match="Feature size changed"):
        fid.update_state(None, np.zeros((4, 5)))
    with pytest.raises(ValueError, match="sample_weight"):
        fid.update_state(np.zeros((4, 3)), np.zeros((4, 3)), sample_weight=1.0)
    with pytest.raises(ValueError, match="NaN"):
        fid.update_state(None, np.full((4, 3), np.nan))


def test_warns_when_fewer_images_than_feature_dimensions():
    import warnings

    rng = np.random.default_rng(0)
    fid = gb.metrics.FrechetDistance(feature_extractor=identity)
    fid.update_state(rng.normal(size=(10, 16)), rng.normal(size=(40, 16)))
    with pytest.warns(UserWarning, match=r"10 real and 40 generated images of 16-d.*at least 16"):
        fid.result()
    fid = gb.metrics.FrechetDistance(feature_extractor=identity)
    fid.update_state(rng.normal(size=(40, 16)), rng.normal(size=(40, 16)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fid.result()
