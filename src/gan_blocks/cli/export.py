"""`gan-blocks export`: a saved model's generator as a SavedModel, ONNX or LiteRT file."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from gan_blocks.export.export_formats import FORMATS, SUFFIXES


def add_parser(commands: Any) -> None:
    """Adds `export` to the `gan-blocks` sub-commands."""
    parser = commands.add_parser(
        "export",
        help="export a saved model's generator for serving (SavedModel, ONNX, LiteRT)",
        description=(
            "Export the generator of a saved gan-blocks model (.keras; the EMA generator by "
            "default) in float32 with named inputs (latents, plus labels for conditional "
            "models; images for Pix2Pix, CycleGAN and a VAE encoder). Nothing random is "
            "sampled in the exported graph. Which backend writes which format: "
            "tf_saved_model: tensorflow, jax; onnx: tensorflow, jax (jax2onnx), torch; "
            "litert: tensorflow (torch with litert-torch). Set KERAS_BACKEND accordingly."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", help="the saved model (.keras)")
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="the export format")
    parser.add_argument(
        "--out",
        default=None,
        help="where to write (default: next to MODEL: NAME.onnx, NAME.tflite, NAME_saved_model/)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="a fixed batch size (default: any)"
    )
    parser.add_argument("--no-ema", action="store_true", help="export the raw generator")
    parser.add_argument(
        "--truncation", type=float, default=None, help="StyleGAN2: truncation psi, in the graph"
    )
    parser.add_argument(
        "--truncation-cutoff", type=int, default=None, help="StyleGAN2: truncate the first styles"
    )
    parser.add_argument(
        "--noise-mode", choices=("const", "none"), default="const", help="StyleGAN2's noise"
    )
    parser.add_argument(
        "--part", choices=("decoder", "encoder"), default=None, help="VAE: which network"
    )
    parser.add_argument(
        "--direction", choices=("a_to_b", "b_to_a"), default=None, help="CycleGAN: which way"
    )
    parser.set_defaults(run=run)


def default_path(model_path: str, format: str, part: str | None, direction: str | None) -> str:
    """`NAME[_part].onnx` / `.tflite` / `_saved_model` next to the model file."""
    stem = os.path.splitext(model_path)[0]
    for name in (part, direction):
        if name:
            stem += f"_{name}"
    return stem + (SUFFIXES[format] or "_saved_model")


def run(args: argparse.Namespace) -> int:
    """`gan-blocks export`: writes the artifact and prints its inputs and outputs."""
    import keras

    import gan_blocks as gb  # Registers the model classes for loading.

    try:
        gb.export.check_export_format(args.format)
    except ImportError as error:  # A missing converter is bad input here: exit 2, no traceback.
        raise ValueError(str(error)) from error
    if not os.path.exists(args.model):
        raise FileNotFoundError(f"No model file {args.model!r}.")
    out = args.out or default_path(args.model, args.format, args.part, args.direction)
    model = keras.saving.load_model(args.model)
    options = {
        "use_ema": not args.no_ema,
        "batch_size": args.batch_size,
        "truncation": args.truncation,
        "truncation_cutoff": args.truncation_cutoff,
        "noise_mode": args.noise_mode,
        "part": args.part,
        "direction": args.direction,
    }
    network = gb.export.inference_network(model, **options)  # Checks before the slow part.
    start = time.perf_counter()
    gb.export.export_generator(model, out, format=args.format, **options)
    inputs = ", ".join(f"{t.name} {tuple(t.shape)} {t.dtype}" for t in network.inputs)
    outputs = ", ".join(f"{name} {tuple(t.shape)}" for name, t in sorted(network.output.items()))
    print(
        f"Exported {type(model).__name__} {args.model} as {args.format} to {out} in "
        f"{time.perf_counter() - start:.1f} s. Inputs: {inputs}. Outputs: {outputs}."
    )
    return 0
