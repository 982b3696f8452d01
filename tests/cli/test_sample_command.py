"""`gan-blocks sample`: the PNG grid holds `generate`'s images, mapped to uint8."""

import keras
import numpy as np
import pytest
from PIL import Image

import gan_blocks as gb
from gan_blocks.cli.main import main


def tiny_gan(conditional=False):
    keras.utils.set_random_seed(0)
    z = keras.Input((4,))
    inputs, h = z, z
    if conditional:
        labels = keras.Input((), dtype="int32")
        inputs = [z, labels]
        h = keras.layers.Concatenate()([z, keras.layers.Embedding(3, 4)(labels)])
    h = keras.layers.Dense(4 * 5 * 1, activation="tanh")(h)
    generator = keras.Model(inputs, keras.layers.Reshape((4, 5, 1))(h))
    x = keras.Input((4, 5, 1))
    if conditional:
        c = keras.Input((), dtype="int32")
        flat = keras.layers.Concatenate()(
            [keras.layers.Flatten()(x), keras.layers.Embedding(3, 2)(c)]
        )
        discriminator = keras.Model([x, c], keras.layers.Dense(1)(flat))
        return gb.models.ConditionalGAN(
            generator, discriminator, 4, num_classes=3, generator_ema=0.9
        )
    discriminator = keras.Model(x, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    return gb.models.GAN(generator, discriminator, 4, generator_ema=0.9)


def tiles(grid, count, columns, height, width):
    """The images of a grid with a 1-pixel border, row-major."""
    found = []
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = 1 + row * (height + 1), 1 + column * (width + 1)
        found.append(grid[top : top + height, left : left + width])
    return np.stack(found)


def as_uint8(images):
    return np.round((np.clip(images[..., 0], -1, 1) + 1) / 2 * 255).astype("uint8")


def test_the_grid_holds_the_generated_images(tmp_path, capsys):
    gan = tiny_gan()
    ema = gan.ema_generator
    ema.set_weights([w * 1.5 for w in ema.get_weights()])  # EMA differs from the raw generator.
    path, out = str(tmp_path / "gan.keras"), str(tmp_path / "grid.png")
    gan.save(path)
    assert main(["sample", path, "--num", "7", "--out", out, "--seed", "3", "--columns", "3"]) == 0
    assert "Wrote 7 samples" in capsys.readouterr().out
    grid = np.asarray(Image.open(out))
    assert grid.shape == (3 * 5 + 1, 3 * 6 + 1)  # 3 rows of 4x5 images, 1-pixel borders.
    expected = as_uint8(gan.generate(num_samples=7, seed=3))
    found = tiles(grid, 7, 3, 4, 5)
    assert np.abs(found.astype(int) - expected).max() <= 1
    raw = as_uint8(gan.generate(num_samples=7, seed=3, use_ema=False))
    assert np.abs(found.astype(int) - raw).max() > 5
    assert (
        main(
            [
                "sample",
                path,
                "--num",
                "7",
                "--out",
                out,
                "--seed",
                "3",
                "--columns",
                "3",
                "--no-ema",
            ]
        )
        == 0
    )
    found = tiles(np.asarray(Image.open(out)), 7, 3, 4, 5)
    assert np.abs(found.astype(int) - raw).max() <= 1


def test_labels_pick_the_classes_of_a_conditional_model(tmp_path):
    cgan = tiny_gan(conditional=True)
    path, out = str(tmp_path / "cgan.keras"), str(tmp_path / "grid.png")
    cgan.save(path)
    assert main(["sample", path, "--num", "4", "--out", out, "--labels", "2,0"]) == 0
    found = tiles(np.asarray(Image.open(out)), 4, 2, 4, 5)
    expected = as_uint8(cgan.generate(labels=[2, 0, 2, 0], seed=0))
    assert np.abs(found.astype(int) - expected).max() <= 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--labels", "1"], "needs a conditional model"),
        (["--labels", "a,b"], "comma-separated integer class ids"),
        (["--num", "0"], "--num must be at least 1"),
    ],
)
def test_bad_requests_exit_with_an_error(tmp_path, capsys, arguments, message):
    path = str(tmp_path / "gan.keras")
    tiny_gan().save(path)
    assert main(["sample", path, "--out", str(tmp_path / "g.png"), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_model_file_is_reported(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "none.keras")]) == 2
    assert "No model file" in capsys.readouterr().err
