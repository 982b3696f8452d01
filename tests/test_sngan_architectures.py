"""SN-GAN builders: shapes, conditional models in ConditionalGAN, saving, resume."""

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import numpy_weights

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("side, blocks", [(28, 2), (32, 3), (48, 3), (64, 4), (128, 5)])
def test_builders_cover_the_sngan_resolutions(side, blocks):
    generator = gb.architectures.sngan_generator(16, (side, side, 3), filters=4)
    discriminator = gb.architectures.sngan_discriminator((side, side, 3), filters=4)
    assert generator.output_shape == (None, side, side, 3)
    assert discriminator.output_shape == (None, 1)
    ups = [layer for layer in generator.layers if isinstance(layer, gb.layers.ResidualUpBlock)]
    downs = [
        layer for layer in discriminator.layers if isinstance(layer, gb.layers.ResidualDownBlock)
    ]
    assert len(ups) == blocks
    # One block per halving down to the generator's base map, one more at that size;
    # the first sees the image without a leading ReLU.
    assert [block.downsample for block in downs] == [True] * blocks + [False]
    assert [block.preactivation for block in downs] == [False] + [True] * blocks
    assert all(block.spectral for block in downs)
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization) for layer in discriminator.layers
    )


def test_generator_images_lie_in_tanh_range():
    generator = gb.architectures.sngan_generator(8, (28, 28, 1), filters=4)
    images = keras.ops.convert_to_numpy(generator(RNG.normal(size=(3, 8)).astype("float32")))
    assert images.shape == (3, 28, 28, 1) and np.all(np.abs(images) <= 1.0)


def conditional_gan(seed=0):
    keras.utils.set_random_seed(seed)  # the same initial weights for every call
    generator = gb.architectures.sngan_generator(8, (28, 28, 1), filters=4, num_classes=3)
    discriminator = gb.architectures.sngan_discriminator((28, 28, 1), filters=4, num_classes=3)
    cgan = gb.models.ConditionalGAN(generator, discriminator, 8, num_classes=3, seed=seed)
    cgan.compile(
        generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        loss="hinge",
    )
    return cgan


def digits(n=16):
    images = RNG.uniform(-1, 1, (n, 28, 28, 1)).astype("float32")
    return images, np.arange(n) % 3


def test_conditional_builders_plug_into_conditional_gan(tmp_path):
    cgan = conditional_gan()
    assert any(
        isinstance(layer, gb.layers.ProjectionDiscriminatorOutput)
        for layer in cgan.discriminator.layers
    )
    ups = [layer for layer in cgan.generator.layers if isinstance(layer, gb.layers.ResidualUpBlock)]
    assert all(block.conditional_classes == 3 for block in ups)
    images, labels = digits()
    history = cgan.fit(images, labels, batch_size=8, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["d_loss"])) and np.all(np.isfinite(history["g_loss"]))
    samples = cgan.generate(labels=[0, 1, 2], seed=0)
    assert samples.shape == (3, 28, 28, 1)
    # The class changes the image: the conditional batch norms' tables differ per class.
    a = cgan.generate(latents=np.zeros((2, 8), "float32"), labels=[0, 1])
    assert not np.allclose(a[0], a[1])
    path = str(tmp_path / "sngan.keras")
    cgan.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        restored.generate(labels=[2, 1, 0], seed=4),
        cgan.generate(labels=[2, 1, 0], seed=4),
        atol=1e-6,
    )


def test_exact_resume_of_an_sngan(tmp_path):
    # Spectral norms' u vectors, batch-norm statistics, both Adams and the seed.
    images, labels = digits()
    reference = conditional_gan(seed=1)
    reference.fit(images, labels, batch_size=8, epochs=2, shuffle=False, verbose=0)
    first = conditional_gan(seed=1)
    first.fit(images, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "resume.keras")
    first.save(path)
    resumed = keras.saving.load_model(path)
    resumed.fit(images, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(numpy_weights(resumed), numpy_weights(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_classes=1"):
        gb.architectures.sngan_generator(8, (28, 28, 1), num_classes=1)
    with pytest.raises(ValueError, match="square"):
        gb.architectures.sngan_discriminator((28, 32, 1))
    with pytest.raises(ValueError, match="power of two"):
        gb.architectures.sngan_generator(8, (36, 36, 3))
