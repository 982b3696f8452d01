"""`gan-blocks export`: writes a runnable artifact of a saved model's generator."""

import keras
import numpy as np

import gan_blocks as gb
from gan_blocks.cli.export import default_path
from gan_blocks.cli.main import main
from tests.cli.test_sample_command import tiny_gan
from tests.test_export import exportable, run_artifact


def test_the_exported_file_reproduces_generate(tmp_path, capsys):
    formats = gb.export.supported_formats()
    format = "onnx" if "onnx" in formats else (formats or ["onnx"])[0]
    exportable(format)
    gan = tiny_gan()
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    assert main(["export", path, "--format", format]) == 0
    out = default_path(path, format, None, None)
    assert out == str(tmp_path / ("gan.onnx" if format == "onnx" else "gan_saved_model"))
    assert f"to {out}" in capsys.readouterr().out
    latents = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    images = run_artifact(format, out, {"latents": latents})["images"]
    np.testing.assert_allclose(images, gan.generate(latents=latents), atol=1e-5)


def test_bad_requests_exit_with_an_error(tmp_path, capsys):
    path = str(tmp_path / "gan.keras")
    tiny_gan().save(path)
    formats = gb.export.supported_formats() or ["onnx"]
    assert main(["export", path, "--format", formats[0], "--truncation", "0.5"]) == 2
    error = capsys.readouterr().err
    assert "gan-blocks export: error:" in error
    assert "truncated_normal" in error or "pip install" in error
    unsupported = next(
        (f for f in gb.export.FORMATS if f not in gb.export.supported_formats()), None
    )
    if unsupported is not None:
        assert main(["export", path, "--format", unsupported]) == 2
        assert keras.backend.backend() in capsys.readouterr().err
    assert main(["export", str(tmp_path / "none.keras")]) == 2
    assert "gan-blocks export: error:" in capsys.readouterr().err
