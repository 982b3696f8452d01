"""`generate(truncation=...)`: BigGAN's truncated latents, checked statistically."""

import keras
import numpy as np
import pytest

import gan_blocks as gb


def identity_gan(latent_dim=6):
    # The generator returns its latents: samples *are* the latents drawn.
    generator = keras.Sequential(
        [keras.Input((latent_dim,)), keras.layers.Dense(latent_dim, use_bias=False)]
    )
    generator.layers[0].kernel.assign(np.eye(latent_dim, dtype="float32"))
    discriminator = keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(1)])
    return gb.models.GAN(generator, discriminator, latent_dim=latent_dim)


@pytest.mark.parametrize("truncation", [0.5, 1.0, 2.0])
def test_truncation_bounds_and_shrinks_the_latent_variance(truncation):
    samples = identity_gan().generate(20_000, seed=3, truncation=truncation)
    assert np.abs(samples).max() <= truncation + 1e-6
    expected = gb.latents.truncated_normal_variance(truncation)
    # 120k entries: the sample variance is within ~1% of the closed form.
    assert samples.var() == pytest.approx(expected, rel=0.03)
    assert abs(samples.mean()) < 0.02
    plain = identity_gan().generate(20_000, seed=3)
    assert samples.var() < plain.var()
    assert plain.var() == pytest.approx(1.0, rel=0.03)


def test_closed_form_variance_against_numerical_integration():
    for t in (0.3, 1.0, 2.5):
        z = np.linspace(-t, t, 200_001)
        density = np.exp(-0.5 * z**2)
        # Trapezoid rule (written out: np.trapezoid needs numpy 2).
        weights = np.full_like(z, z[1] - z[0])
        weights[[0, -1]] /= 2
        numeric = np.sum(weights * z**2 * density) / np.sum(weights * density)
        assert gb.latents.truncated_normal_variance(t) == pytest.approx(numeric, rel=1e-6)


def test_numpy_scalars_are_accepted_as_truncation():
    gan = identity_gan()
    np.testing.assert_array_equal(
        gan.generate(8, seed=1, truncation=np.int64(1)), gan.generate(8, seed=1, truncation=1.0)
    )
    assert np.abs(gan.generate(8, seed=1, truncation=np.float32(0.5))).max() <= 0.5 + 1e-6


def test_truncated_samples_are_reproducible_and_seeded():
    gan = identity_gan()
    np.testing.assert_array_equal(
        gan.generate(8, seed=1, truncation=0.7), gan.generate(8, seed=1, truncation=0.7)
    )
    assert not np.allclose(gan.generate(8, seed=1, truncation=0.7), gan.generate(8, seed=2))


def test_conditional_gan_truncates_too():
    latents, labels = keras.Input((4,)), keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([latents, keras.layers.Embedding(3, 1)(labels)])
    generator = keras.Model([latents, labels], keras.layers.Dense(2)(h))
    x, c = keras.Input((2,)), keras.Input((), dtype="int32")
    discriminator = keras.Model([x, c], keras.layers.Dense(1)(x))
    cgan = gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3)
    wide = cgan.generate(labels=np.zeros(4000, "int32"), seed=0)
    narrow = cgan.generate(labels=np.zeros(4000, "int32"), seed=0, truncation=0.5)
    assert narrow.var(axis=0).sum() < 0.2 * wide.var(axis=0).sum()


def test_bad_truncation_is_refused():
    gan = identity_gan()
    with pytest.raises(ValueError, match="truncation=0"):
        gan.generate(4, truncation=0)
    with pytest.raises(ValueError, match="explicit `latents`"):
        gan.generate(latents=np.zeros((2, 6), "float32"), truncation=1.0)
    with pytest.raises(TypeError, match="truncation"):
        gan.generate(4, truncation="high")
