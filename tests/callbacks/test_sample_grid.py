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


def tiny_pix2pix():
    """A compiled 8x8 Pix2Pix and two source images."""
    generator = gb.architectures.unet_generator((8, 8, 3), 3, filters=4)
    discriminator = gb.architectures.patchgan_discriminator((8, 8, 3), filters=4, num_layers=1)
    p2p = gb.models.Pix2Pix(generator, discriminator)
    p2p.compile()
    return p2p, np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")


def test_pix2pix_rows_are_source_output_target(tmp_path):
    p2p, source = tiny_pix2pix()
    callback = gb.callbacks.SampleGrid(str(tmp_path), num_samples=2, pairs=(source, -source))
    p2p.fit(source, -source, batch_size=2, verbose=0, callbacks=[callback])
    images, columns = callback.samples()
    assert columns == 3 and images.shape == (6, 8, 8, 3)
    np.testing.assert_array_equal(images[0], source[0])
    np.testing.assert_array_equal(images[2], -source[0])


def test_missing_or_malformed_preview_inputs_are_refused_before_training(tmp_path):
    import pytest

    p2p, source = tiny_pix2pix()
    weights = [w.copy() for w in p2p.get_weights()]
    cases = [
        (None, r"need fixed pairs: pass SampleGrid\(\.\.\., inputs=\(sources, targets\)\)\.$"),
        (source, r"Received one array of shape \(2, 8, 8, 3\)"),
        ((source, source[:1]), r"as many sources as targets.* \(2, 8, 8, 3\) and \(1, 8, 8, 3\)"),
    ]
    for inputs, message in cases:
        callback = gb.callbacks.SampleGrid(str(tmp_path), num_samples=2, inputs=inputs)
        with pytest.raises(ValueError, match=message):
            p2p.fit(source, -source, batch_size=2, verbose=0, callbacks=[callback])
    # Refused before the first step: no weight moved, no file written.
    for before, after in zip(weights, p2p.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not list(tmp_path.iterdir())
    # Validation data, which adversarial models have no loss for, is refused up front too.
    with pytest.raises(NotImplementedError, match="no validation loss"):
        p2p.fit(source, -source, batch_size=2, verbose=0, validation_split=0.5)
    with pytest.raises(NotImplementedError, match="`validation_data` or `validation_split`"):
        p2p.fit(source, -source, verbose=0, validation_data=(source, -source))
    for before, after in zip(weights, p2p.get_weights()):
        np.testing.assert_array_equal(before, after)


def _tensorboard_images(log_dir):
    """(step, tag, decoded uint8 image) of every image summary under `log_dir`."""
    import io
    import os

    loader = __import__("pytest").importorskip(
        "tensorboard.backend.event_processing.event_file_loader"
    )
    found = []
    for name in sorted(os.listdir(log_dir)):
        for event in loader.LegacyEventFileLoader(os.path.join(log_dir, name)).Load():
            for value in event.summary.value:
                if value.HasField("image"):  # torch.utils.tensorboard
                    png = value.image.encoded_image_string
                elif value.HasField("tensor"):  # tf.summary.image: [width, height, png]
                    png = value.tensor.string_val[2]
                else:
                    continue
                found.append((event.step, value.tag, np.asarray(Image.open(io.BytesIO(png)))))
    return found


def _fit_with_tensorboard(tmp_path):
    import keras

    generator = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(48, activation="tanh"),
            keras.layers.Reshape((4, 4, 3)),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    gan = gb.models.GAN(generator, discriminator, latent_dim=4, seed=0)
    gan.compile()
    callback = gb.callbacks.SampleGrid(
        str(tmp_path / "png"), num_samples=4, every_n_epochs=2, tensorboard_dir=str(tmp_path / "tb")
    )
    data = toy_data(16, dim=48).reshape(16, 4, 4, 3)
    gan.fit(data, batch_size=8, epochs=4, verbose=0, callbacks=[callback])
    return callback


def _check_summaries_equal_pngs(callback, log_dir):
    images = _tensorboard_images(log_dir)
    assert [(step, tag) for step, tag, _ in images] == [(2, "samples"), (4, "samples")]
    for (_, _, image), path in zip(images, callback.paths):
        np.testing.assert_array_equal(image, np.asarray(Image.open(path)))


def test_sample_grid_writes_the_same_grids_to_tensorboard(tmp_path):
    __import__("pytest").importorskip("tensorflow")
    callback = _fit_with_tensorboard(tmp_path)
    _check_summaries_equal_pngs(callback, tmp_path / "tb")


def test_without_tensorflow_the_torch_writer_is_used(tmp_path, monkeypatch):
    import sys

    pytest = __import__("pytest")
    pytest.importorskip("torch.utils.tensorboard")
    import keras

    if keras.backend.backend() == "tensorflow":
        pytest.skip("the TensorFlow backend cannot train without TensorFlow")
    # `import tensorflow` fails, even where something imported it already.
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    callback = _fit_with_tensorboard(tmp_path)
    monkeypatch.undo()
    _check_summaries_equal_pngs(callback, tmp_path / "tb")


def test_tensorboard_dir_without_tensorboard_fails_at_construction(tmp_path, monkeypatch):
    import sys

    pytest = __import__("pytest")
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        gb.callbacks.SampleGrid(str(tmp_path), tensorboard_dir=str(tmp_path / "tb"))
