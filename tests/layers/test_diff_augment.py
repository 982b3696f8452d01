"""`DiffAugment`: each policy against a numpy reference, gradients, errors (issue #16)."""

import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.trainers import get_trainer


def images(batch=64, side=16, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch, side, side, channels)).astype("float32")


def augment(policy, x, seed=3):
    layer = gb.layers.DiffAugment(policy=policy, seed=seed)
    return np.asarray(keras.ops.convert_to_numpy(layer(x)))


def shifted(image, rows, columns):
    """numpy reference: output[i, j] = image[i + rows, j + columns], zeros outside."""
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    for i in range(height):
        for j in range(width):
            if 0 <= i + rows < height and 0 <= j + columns < width:
                out[i, j] = image[i + rows, j + columns]
    return out


def test_translation_moves_each_image_by_its_own_whole_pixel_offset():
    x = images(batch=32, side=16)
    out = augment("translation", x)
    limit = int(16 * 0.125 + 0.5)  # 2 pixels.
    offsets = []
    for image, result in zip(x, out):
        matches = [
            (rows, columns)
            for rows in range(-limit, limit + 1)
            for columns in range(-limit, limit + 1)
            if np.allclose(shifted(image, rows, columns), result, atol=1e-6)
        ]
        assert len(matches) == 1, matches
        offsets.append(matches[0])
    assert len(set(offsets)) > 8  # Drawn per image, over the whole range.
    assert {rows for rows, _ in offsets} == set(range(-limit, limit + 1))


def test_cutout_zeroes_exactly_one_square_of_half_the_side():
    x = images(batch=64, side=16)
    mask = augment("cutout", np.ones_like(x))
    out = augment("cutout", x)  # Same seed: the same squares.
    np.testing.assert_array_equal(out, x * mask)
    full_squares = 0
    for image_mask in mask[..., 0]:
        rows, columns = np.nonzero(image_mask == 0)
        top, bottom, left, right = rows.min(), rows.max(), columns.min(), columns.max()
        # The zeros form one filled axis-aligned box, at most 8x8, clipped at the border.
        assert np.all(image_mask[top : bottom + 1, left : right + 1] == 0)
        assert (image_mask == 0).sum() == (bottom - top + 1) * (right - left + 1)
        assert bottom - top + 1 <= 8 and right - left + 1 <= 8
        full_squares += (bottom - top + 1, right - left + 1) == (8, 8)
        assert np.all(mask[..., 1] == mask[..., 0])  # The same square on every channel.
    assert 10 < full_squares < 64  # Some inside, some clipped at the border.


def test_color_on_one_channel_shifts_the_mean_and_scales_the_contrast():
    x = images(batch=64, side=8, channels=1)
    out = augment("color", x)
    x_mean = x.mean(axis=(1, 2, 3))
    out_mean = out.mean(axis=(1, 2, 3))
    # One channel: saturation is a no-op, contrast keeps the mean.
    brightness = out_mean - x_mean
    contrast = out.std(axis=(1, 2, 3)) / x.std(axis=(1, 2, 3))
    assert np.all(np.abs(brightness) <= 0.5 + 1e-5)
    assert np.all((contrast >= 0.5 - 1e-4) & (contrast <= 1.5 + 1e-4))
    expected = (x - x_mean[:, None, None, None]) * contrast[:, None, None, None]
    np.testing.assert_allclose(out - out_mean[:, None, None, None], expected, atol=1e-4)
    # Uniform draws: both spread over their ranges.
    assert brightness.min() < -0.3 and brightness.max() > 0.3
    assert contrast.min() < 0.7 and contrast.max() > 1.3


def test_color_on_three_channels_scales_the_colour_around_the_pixel_mean():
    x = images(batch=64, side=8, channels=3)
    out = augment("color", x)
    x_deviation = x - x.mean(axis=-1, keepdims=True)
    out_deviation = out - out.mean(axis=-1, keepdims=True)
    # Saturation x U(0, 2) then contrast x U(0.5, 1.5): one factor per image.
    factor = (out_deviation * x_deviation).sum(axis=(1, 2, 3)) / (x_deviation**2).sum(
        axis=(1, 2, 3)
    )
    np.testing.assert_allclose(out_deviation, x_deviation * factor[:, None, None, None], atol=1e-4)
    assert np.all((factor >= 0) & (factor <= 3.0 + 1e-4))
    assert factor.min() < 0.3 and factor.max() > 1.5


def numpy_gradient(fn, x):
    gradient = get_trainer().input_gradients(fn, x)
    if hasattr(gradient, "detach"):  # torch keeps the graph (create_graph=True).
        gradient = gradient.detach().cpu()
    return np.asarray(keras.ops.convert_to_numpy(gradient))


def test_gradients_reach_the_images_through_every_policy():
    x = images(batch=4, side=8)
    weights = np.random.default_rng(1).normal(size=x.shape).astype("float32")
    gradient = numpy_gradient(
        lambda v: keras.ops.multiply(gb.layers.DiffAugment(seed=0)(v), weights), x
    )
    assert np.all(np.isfinite(gradient)) and np.abs(gradient).sum() > 0


def test_the_gradient_of_translation_and_cutout_is_their_transpose():
    # Both are linear in the images: <L x, w> = <x, L^T w>, and L^T w is the
    # input gradient of sum(L(x) * w). Pixels moved out or cut out get none.
    x = images(batch=8, side=12)
    weights = np.random.default_rng(1).normal(size=x.shape).astype("float32")
    out = augment("translation,cutout", x, seed=4)
    gradient = numpy_gradient(
        lambda v: keras.ops.multiply(
            gb.layers.DiffAugment("translation,cutout", seed=4)(v), weights
        ),
        x,
    )
    np.testing.assert_allclose(
        (out * weights).sum(axis=(1, 2, 3)),
        (x * gradient).sum(axis=(1, 2, 3)),
        rtol=1e-4,
        atol=1e-4,
    )
    assert 0.1 < (gradient == 0).mean() < 0.6


def test_same_seed_same_draws_and_inference_passes_through():
    x = images(batch=8)
    np.testing.assert_array_equal(
        augment("color,translation,cutout", x, seed=5),
        augment("color,translation,cutout", x, seed=5),
    )
    layer = gb.layers.DiffAugment(seed=5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    clone = gb.layers.DiffAugment.from_config(layer.get_config())
    assert clone.policies == ("color", "translation", "cutout") and clone.seed == 5


def test_clear_errors():
    with pytest.raises(
        ValueError, match=r"Unknown DiffAugment policy 'flip'.*color, translation, cutout"
    ):
        gb.layers.DiffAugment(policy="color,flip")
    with pytest.raises(ValueError, match=r"rank 4.*\(8, 8, 3\).*rank 3"):
        gb.layers.DiffAugment()(np.zeros((8, 8, 3), "float32"))


def test_a_gan_trains_through_it_compiled_with_xla():
    jit_compile = keras.backend.backend() != "torch"  # XLA is for JAX and TensorFlow.
    x = images(batch=32, side=16, channels=1) * 0.9
    generator = gb.architectures.dcgan_generator(8, (16, 16, 1), filters=8)
    discriminator = gb.architectures.dcgan_discriminator((16, 16, 1), filters=8)
    gan = gb.models.GAN(
        generator, discriminator, latent_dim=8, augmentation=gb.layers.DiffAugment(seed=0), seed=0
    )
    gan.compile(jit_compile=jit_compile)
    history = gan.fit(x, batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0]) and np.isfinite(history["g_loss"][0])
