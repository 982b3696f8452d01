"""DiffAugment and ADA inside the adversarial models: p in the step, logs, exact resume (#16)."""

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import numpy_weights


def digits(count=16, side=16, seed=0):
    """Blobs at random places: a tiny image set a discriminator memorizes fast."""
    rng = np.random.default_rng(seed)
    grid = np.arange(side)
    images = np.full((count, side, side, 1), -0.9, "float32")
    for image in images:
        row, column = rng.integers(3, side - 3, 2)
        blob = np.exp(-((grid[:, None] - row) ** 2 + (grid[None, :] - column) ** 2) / 6.0)
        image[..., 0] += 1.8 * blob
    return images


def make_gan(augmentation, discriminator=None, seed=0):
    keras.utils.set_random_seed(seed)
    generator = gb.architectures.dcgan_generator(8, (16, 16, 1), filters=8)
    discriminator = discriminator or gb.architectures.dcgan_discriminator((16, 16, 1), filters=8)
    return gb.models.GAN(
        generator, discriminator, latent_dim=8, augmentation=augmentation, seed=seed
    )


def p_of(model):
    return float(keras.ops.convert_to_numpy(model.adaptive_augmentations()[0].probability))


def test_p_rises_while_the_discriminator_overfits_and_is_logged():
    ada = gb.layers.AdaptiveAugment(adjustment_images=400, interval=2, seed=0)
    gan = make_gan(ada)
    # XLA where the backend has it: the update of p compiles into the step.
    gan.compile(jit_compile=keras.backend.backend() != "torch")
    history = gan.fit(digits(16), batch_size=8, epochs=12, shuffle=False, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "augment_p"}
    curve = history["augment_p"]
    assert curve[-1] == pytest.approx(p_of(gan))
    assert curve[-1] > 0.1, curve  # The discriminator scores its 16 reals as real.
    steps = np.diff([0.0] + curve)
    # Every move is a whole number of 16-image updates of 16/400.
    np.testing.assert_allclose(np.round(steps / 0.04), steps / 0.04, atol=1e-4)


def test_p_falls_when_the_discriminator_calls_every_real_image_fake():
    # A discriminator that cannot learn and says 'fake' (logit -1) to everything.
    discriminator = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(
                1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(-1.0)
            ),
        ]
    )
    ada = gb.layers.AdaptiveAugment(
        adjustment_images=160, interval=1, initial_probability=0.5, seed=0
    )
    # Inside a Sequential pipeline: the model still finds the adaptive layer.
    pipeline = keras.Sequential(
        [keras.Input((16, 16, 1)), gb.layers.DiffAugment("translation", seed=0), ada]
    )
    gan = make_gan(pipeline, discriminator)
    assert gan.adaptive_augmentations() == [ada]
    gan.compile(discriminator_optimizer=keras.optimizers.SGD(0.0))
    history = gan.fit(digits(16), batch_size=8, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["augment_p"], [0.4, 0.3, 0.2], atol=1e-6)


def train(model, epochs):
    model.fit(digits(16), batch_size=8, epochs=epochs, shuffle=False, verbose=0)


def test_exact_resume_includes_the_augmentation_state(tmp_path):
    # DiffAugment's seed state and ADA's p, sums and seed state, in one pipeline.
    def augmentation():
        return keras.Sequential(
            [
                keras.Input((16, 16, 1)),
                gb.layers.DiffAugment("translation,cutout", seed=2),
                gb.layers.AdaptiveAugment(
                    adjustment_images=200, interval=2, initial_probability=0.5, seed=3
                ),
            ]
        )

    reference = make_gan(augmentation())
    reference.compile()
    train(reference, 4)

    first = make_gan(augmentation())
    first.compile()
    train(first, 2)
    path = str(tmp_path / "augmented.keras")
    first.save(path)
    resumed = keras.saving.load_model(path, safe_mode=True)
    assert [type(layer) for layer in resumed.augmentation.layers] == [
        gb.layers.DiffAugment,
        gb.layers.AdaptiveAugment,
    ]
    assert p_of(resumed) == p_of(first)
    train(resumed, 2)
    for got, want in zip(numpy_weights(resumed), numpy_weights(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert p_of(resumed) == pytest.approx(p_of(reference))
    ada, reference_ada = resumed.adaptive_augmentations()[0], reference.adaptive_augmentations()[0]
    for name in ("sign_sum", "images_seen", "steps"):
        assert keras.ops.convert_to_numpy(getattr(ada, name)) == (
            keras.ops.convert_to_numpy(getattr(reference_ada, name))
        )


def test_cycle_gan_feeds_both_discriminators_to_ada():
    # CycleGAN: both discriminators see augmented images; their real logits
    # both feed ADA's heuristic (4 observations per step of 2 images each).
    def generator():
        return keras.Sequential(
            [keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 3, padding="same", activation="tanh")]
        )

    def discriminator():
        return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(1, 3, padding="same")])

    ada = gb.layers.AdaptiveAugment(adjustment_images=1000, interval=1000, seed=0)
    cycle = gb.models.CycleGAN(
        generator(), generator(), discriminator(), discriminator(), augmentation=ada, seed=0
    )
    cycle.compile()
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-0.9, 0.9, (4, 8, 8, 3)).astype("float32") for _ in range(2))
    history = cycle.fit((a, b), batch_size=2, epochs=1, verbose=0).history
    assert "augment_p" in history
    assert int(keras.ops.convert_to_numpy(ada.steps)) == 4  # 2 batches x 2 discriminators.
