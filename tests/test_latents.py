import numpy as np
import pytest

import gan_blocks as gb


def test_slerp_keeps_norm_between_orthogonal_unit_vectors():
    path = gb.latents.interpolate([1.0, 0.0, 0.0], [0.0, 0.0, 1.0], steps=5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(path[0], [1, 0, 0], atol=1e-7)
    np.testing.assert_allclose(path[-1], [0, 0, 1], atol=1e-7)
    angles = np.arccos(np.clip(path @ np.array([1.0, 0, 0]), -1, 1))
    np.testing.assert_allclose(np.diff(angles), np.pi / 8, rtol=1e-5)  # constant speed


def test_linear_interpolation_and_errors():
    path = gb.latents.interpolate(np.zeros(2), np.ones(2), steps=3, method="linear")
    np.testing.assert_allclose(path, [[0, 0], [0.5, 0.5], [1, 1]])
    with pytest.raises(ValueError, match="method"):
        gb.latents.interpolate(np.zeros(2), np.ones(2), method="cubic")


def test_latent_arithmetic_on_a_linear_generator():
    # With a linear generator, the image of mean(A) - mean(B) + mean(C) equals
    # mean image(A) - mean image(B) + mean image(C): the DCGAN property, exactly.
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(4, 6))
    a, b, c = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    z = gb.latents.latent_arithmetic(a, b, c)
    expected = (a @ weights).mean(0) - (b @ weights).mean(0) + (c @ weights).mean(0)
    np.testing.assert_allclose((z @ weights)[0], expected, rtol=1e-5)
    with pytest.raises(ValueError, match="latent shape"):
        gb.latents.latent_arithmetic(a, b, np.zeros((2, 5)))


@pytest.mark.parametrize("truncation", [1e-7, 1e-5, 0.3, 0.99, 1.0, 2.5])
def test_truncated_normal_is_exact_and_quick_for_any_threshold(truncation):
    # Redrawing normal entries beyond 1e-7 never finished (issue #31); the
    # uniform proposal below 1 keeps most draws whatever the threshold.
    from scipy import stats

    z = gb.latents.truncated_normal((4000, 4), truncation, seed=1).ravel().astype("float64")
    assert np.abs(z).max() <= truncation
    limits = stats.truncnorm(-truncation, truncation)
    assert stats.kstest(z, limits.cdf).pvalue > 1e-3
    np.testing.assert_allclose(
        z.var() / truncation**2,
        gb.latents.truncated_normal_variance(truncation) / truncation**2,
        rtol=0.08,
    )
