"""The "Your own images" tutorial runs as written, at a smaller size.

Its `gan-blocks` commands run in order (in process, through the console entry
point) on a generated folder of mixed images, with only the sizes shrunk and
the Inception extractor swapped for a tiny one (no download); then its Python
blocks run. The served images must equal the Keras model's own.
"""

import re
import shlex
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from gan_blocks.cli.main import main

PAGE = Path(__file__).resolve().parents[1] / "docs" / "tutorials" / "own-images.md"
RESOLUTION = 16


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def shrunk(command, extractor):
    """The page's command at test size: 16x16, a few steps of 16, a tiny SN-GAN."""
    replacements = [
        (r"--resolution \d+", f"--resolution {RESOLUTION}"),
        (r"data/photos\d+", "data/photos16"),
        (r"--kimg \d+", "--kimg 0.064 --snapshot-kimg 0.032 --preset tiny"),
        (r"--batch \d+", "--batch 16"),
        (r"--num-samples \d+", "--num-samples 40"),
        (r"--num \d+", "--num 4"),
        (r"--extractor fid-inception", f"--extractor {extractor}"),
    ]
    for pattern, replacement in replacements:
        command = re.sub(pattern, replacement, command)
    return shlex.split(command)[1:]  # without the program name


def write_photos(folder):
    """Mixed formats, modes and sizes, like a folder a user brings."""
    rng = np.random.default_rng(0)
    for index in range(40):
        height, width = rng.integers(20, 48, 2)
        pixels = rng.integers(0, 256, (height, width, 3), dtype="uint8")
        image = Image.fromarray(pixels)
        if index % 5 == 0:
            image = image.convert("L")
        extension = ("png", "jpg", "webp")[index % 3]
        (folder / f"sub{index % 2}").mkdir(parents=True, exist_ok=True)
        image.save(folder / f"sub{index % 2}" / f"photo_{index:02d}.{extension}")


@pytest.mark.one_backend("torch")
def test_the_tutorial_goes_from_a_folder_to_a_served_onnx_generator(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.chdir(tmp_path)
    write_photos(tmp_path / "my_photos")
    extractor = keras.Sequential(
        [keras.Input((RESOLUTION, RESOLUTION, 3)), keras.layers.Flatten(), keras.layers.Dense(4)]
    )
    extractor.save("extractor.keras")

    commands = [
        line.strip()
        for block in blocks("bash")
        for line in block.splitlines()
        if line.strip().startswith("gan-blocks ")
    ]
    assert [shlex.split(c)[1] for c in commands] == [
        "prepare",
        "train",
        "train",
        "sample",
        "evaluate",
        "export",
    ]
    for command in commands:
        assert main(shrunk(command, "extractor.keras")) == 0, command

    assert Image.open("grid.png").size[0] > 2 * RESOLUTION
    served = [b for b in blocks("python") if "onnxruntime" in b]
    assert len(served) == 1
    namespace = {}
    exec(compile(served[0], "own-images.md", "exec"), namespace)
    assert namespace["images"].shape == (4, RESOLUTION, RESOLUTION, 3)
    model = keras.saving.load_model("runs/photos/final.keras")
    expected = keras.ops.convert_to_numpy(model.generate(latents=namespace["latents"]))
    np.testing.assert_allclose(namespace["images"], expected, atol=1e-5)
    assert Image.open("served.png").size == (4 * RESOLUTION, RESOLUTION)

    from_python = [b for b in blocks("python") if "prepare_images" in b]
    assert len(from_python) == 1
    script = re.sub(r"(resolution=|photos|batch_size=)64", r"\g<1>16", from_python[0])
    namespace = {}
    exec(compile(script, "own-images.md", "exec"), namespace)
    images = namespace["dataset"][0]
    assert images.shape == (16, RESOLUTION, RESOLUTION, 3)
    assert -1.0 <= images.min() and images.max() <= 1.0
