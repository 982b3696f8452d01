import numpy as np
from PIL import Image

import gan_blocks as gb
from tests.models.helpers import toy_data


def test_image_grid_layout_and_scaling():
    images = np.stack([np.full((2, 3, 1), v, "float32") for v in (-1.0, 0.0, 1.0)])
    grid = gb.callbacks.image_grid(images, columns=2)
    assert grid.shape == (2 * 3 + 1, 2 * 4 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 5, 0] == 128 and grid[4, 1, 0] == 255
    assert grid[0, 0, 0] == 255  # border


def test_sample_grid_writes_pngs_from_fixed_latents(tmp_path):
    import keras

    generator = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(12, activation="tanh"),
            keras.layers.Reshape((2, 2, 3)),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    gan = gb.models.GAN(generator, discriminator, latent_dim=4, seed=0)
    gan.compile()
    callback = gb.callbacks.SampleGrid(str(tmp_path), num_samples=4, every_n_epochs=2)
    data = toy_data(16, dim=12).reshape(16, 2, 2, 3)
    gan.fit(data, batch_size=8, epochs=4, verbose=0, callbacks=[callback])
    assert [p.split("/")[-1] for p in callback.paths] == ["epoch_0002.png", "epoch_0004.png"]
    picture = np.asarray(Image.open(callback.paths[-1]))
    assert picture.shape == (7, 7, 3)
    first, _ = callback.samples()
    second, _ = callback.samples()
    np.testing.assert_array_equal(first, second)  # the same latents every time


def test_pix2pix_rows_are_source_output_target(tmp_path):
    generator = gb.architectures.unet_generator((8, 8, 3), 3, filters=4)
    discriminator = gb.architectures.patchgan_discriminator((8, 8, 3), filters=4, num_layers=1)
    p2p = gb.models.Pix2Pix(generator, discriminator)
    p2p.compile()
    source = np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    callback = gb.callbacks.SampleGrid(str(tmp_path), num_samples=2, pairs=(source, -source))
    p2p.fit(source, -source, batch_size=2, verbose=0, callbacks=[callback])
    images, columns = callback.samples()
    assert columns == 3 and images.shape == (6, 8, 8, 3)
    np.testing.assert_array_equal(images[0], source[0])
    np.testing.assert_array_equal(images[2], -source[0])
