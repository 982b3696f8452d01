"""`export_generator`: writes a trained model's generator as a SavedModel, ONNX or LiteRT file."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from typing import Any

import keras

from gan_blocks.export.export_formats import SUFFIXES, check_export_format
from gan_blocks.export.inference_network import inference_network


def _input_signature(network: keras.Model) -> list:
    specs = [
        keras.InputSpec(shape=tuple(tensor.shape), dtype=tensor.dtype, name=tensor.name)
        for tensor in network.inputs
    ]
    # One positional argument: the functional model's input structure.
    return [specs] if len(specs) > 1 else specs


def _name_onnx_outputs(path: str, names: list[str]) -> None:
    """Gives the ONNX graph's outputs the network's output names (torch numbers them)."""
    import onnx

    graph_model = onnx.load(path)
    graph = graph_model.graph
    current = [output.name for output in graph.output]
    if sorted(current) == sorted(names) or len(current) != len(names):
        return
    renames = dict(zip(current, names))
    for node in graph.node:
        node.output[:] = [renames.get(name, name) for name in node.output]
        node.input[:] = [renames.get(name, name) for name in node.input]
    for output in graph.output:
        output.name = renames[output.name]
    onnx.save(graph_model, path)


def _check_path(path: Any, format: str) -> str:
    path = os.fspath(path)
    suffix = SUFFIXES[format]
    if suffix and not path.endswith(suffix):
        raise ValueError(
            f"format={format!r} writes a {suffix} file: give a path ending in {suffix!r}. "
            f"Received: path={path!r}"
        )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"The folder {parent!r} to export into does not exist.")
    return path


def export_generator(
    model: keras.Model,
    path: str | os.PathLike,
    format: str = "tf_saved_model",
    use_ema: bool = True,
    batch_size: int | None = None,
    truncation: float | None = None,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    part: str | None = None,
    direction: str | None = None,
    verbose: bool = False,
) -> str:
    """Exports a trained model's generator for serving without gan-blocks.

    Exports `gb.export.inference_network(model, ...)`: a float32 copy of the
    (EMA) generator, not the training wrapper, with named inputs (`latents`,
    plus `labels` for conditional models, or `images` for translators and
    a VAE encoder) and named outputs (`images`; a VAE encoder: `z_mean`,
    `z_log_var`). Nothing random is sampled in the graph: latents are an
    input, StyleGAN2 noise is fixed (`noise_mode`), and StyleGAN2's
    truncation towards the saved W average is applied in the graph when
    `truncation` is given. The artifact reproduces
    `model.generate(latents=..., noise_mode="const", truncation_psi=...)`.

    Which backend writes which format (Keras 3's exporters; see the API page):

    | format | tensorflow | jax | torch |
    |---|---|---|---|
    | `"tf_saved_model"` | yes | yes (needs TensorFlow) | needs torch-xla |
    | `"onnx"` | yes (tf2onnx) | yes (jax2onnx) | yes |
    | `"litert"` | yes | no | needs litert-torch |

    Reload: `tf.saved_model.load(path).serve([latents, labels])` (or the
    `serving_default` signature with keyword inputs),
    `onnxruntime.InferenceSession(path).run(None, {"latents": ...})`,
    `ai_edge_litert.interpreter.Interpreter(path).get_signature_runner()`.

    Args:
        model: A trained gan-blocks model (`GAN`, `ConditionalGAN`, `StyleGAN2`,
            `ConditionalStyleGAN2`, `Pix2Pix`, `CycleGAN` or `VAE`).
        path: Where to write: a folder for `"tf_saved_model"`, a `.onnx` or
            `.tflite` file.
        format: `"tf_saved_model"`, `"onnx"` or `"litert"`.
        use_ema: Export the EMA generator where the model keeps one.
        batch_size: A fixed batch size; `None` exports a free batch dimension
            (the torch backend's LiteRT exporter fixes it to 1).
        truncation: StyleGAN2's truncation psi, applied in the graph (see
            `inference_network`; refused for a plain `GAN`).
        truncation_cutoff: StyleGAN2: truncate only the first styles.
        noise_mode: `"const"` or `"none"` (StyleGAN2's noise inputs).
        part: VAE: `"decoder"` (latents -> images, default) or `"encoder"`
            (images -> `z_mean`, `z_log_var`); export both with two calls.
        direction: CycleGAN: `"a_to_b"` (default) or `"b_to_a"`.
        verbose: Let the exporters print their progress.

    Returns:
        `path`, as a string.

    Raises:
        ValueError: An unknown format, one the active backend cannot write,
            a wrong file suffix, or arguments that do not apply to the model.
        ImportError: When the format's converter is not installed.
        TypeError: A model without a generator.

    Example:
    >>> import os, tempfile, keras, numpy as np, gan_blocks as gb
    >>> generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> gan = gb.models.GAN(generator, discriminator, latent_dim=4)
    >>> path = os.path.join(tempfile.mkdtemp(), "generator.onnx")
    >>> gb.export.export_generator(gan, path, format="mp4")
    Traceback (most recent call last):
    ...
    ValueError: Unknown export format 'mp4'; choose from tf_saved_model, onnx, litert.
    >>> if "onnx" in gb.export.supported_formats():
    ...     _ = gb.export.export_generator(gan, path, format="onnx")
    """
    check_export_format(format)
    path = _check_path(path, format)
    network = inference_network(
        model,
        use_ema=use_ema,
        batch_size=batch_size,
        truncation=truncation,
        truncation_cutoff=truncation_cutoff,
        noise_mode=noise_mode,
        part=part,
        direction=direction,
    )
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with quiet, warnings.catch_warnings():
        if not verbose:
            # torch's ONNX tracer warns about every Python bool Keras' conv padding takes
            # from a shape: constants of the exported (fixed-architecture) graph.
            warnings.filterwarnings("ignore", message=".*might cause the trace to be incorrect")
        network.export(
            path, format=format, input_signature=_input_signature(network), verbose=verbose
        )
    if format == "onnx":
        _name_onnx_outputs(path, sorted(network.output))  # Keras flattens dicts sorted.
    return path
