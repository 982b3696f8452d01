"""`gan-blocks sample`: a PNG grid of a saved model's samples."""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np


def add_parser(commands: Any) -> None:
    """Adds `sample` to the `gan-blocks` sub-commands."""
    parser = commands.add_parser(
        "sample",
        help="write a PNG grid of a saved model's samples",
        description=(
            "Load a saved gan-blocks model (.keras: a GAN, ConditionalGAN, StyleGAN2, "
            "ConditionalStyleGAN2 or VAE), call its `generate` (the EMA generator by "
            "default) and write the images as one PNG grid."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", help="the saved model (.keras)")
    parser.add_argument("--num", type=int, default=64, help="number of samples")
    parser.add_argument("--out", default="samples.png", help="the PNG to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latents")
    parser.add_argument(
        "--truncation",
        type=float,
        default=None,
        help="StyleGAN2: truncation psi in W; GAN: redraw latents beyond this bound",
    )
    parser.add_argument(
        "--labels",
        default=None,
        help="conditional models: comma-separated class ids, repeated to --num "
        "(default: classes cycle 0, 1, ...)",
    )
    parser.add_argument(
        "--noise-mode",
        choices=("const", "random", "none"),
        default="const",
        help="StyleGAN2's noise inputs (const: the same grid for the same seed)",
    )
    parser.add_argument("--columns", type=int, default=None, help="images per row")
    parser.add_argument("--no-ema", action="store_true", help="sample the raw generator")
    parser.set_defaults(run=run)


def _labels(text: str | None, count: int) -> np.ndarray | None:
    if text is None:
        return None
    try:
        labels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"--labels takes comma-separated integer class ids (e.g. 0,1,2). Received {text!r}."
        ) from None
    if not labels:
        raise ValueError(f"--labels names no class. Received {text!r}.")
    return np.resize(np.asarray(labels, "int32"), count)


def _value_range(model: Any) -> tuple[float, float]:
    """The range of the model's images: [0, 1] for sigmoid/Bernoulli outputs, else [-1, 1]."""
    import gan_blocks as gb
    from gan_blocks.models.input_checks import final_activation

    if isinstance(model, gb.models.VAE):
        return (0.0, 1.0) if model.reconstruction == "bernoulli" else (-1.0, 1.0)
    return (0.0, 1.0) if final_activation(model.generator) == "sigmoid" else (-1.0, 1.0)


def sample_images(
    model: Any,
    num: int,
    seed: int,
    truncation: float | None = None,
    labels: np.ndarray | None = None,
    noise_mode: str = "const",
    use_ema: bool = True,
) -> np.ndarray:
    """`model.generate` with the options that apply to the model's class."""
    import gan_blocks as gb

    models = gb.models
    name = type(model).__name__
    if isinstance(model, (models.Pix2Pix, models.CycleGAN)):
        raise ValueError(
            f"A {name} translates source images and has no latent space to sample: use "
            "model.translate(images) (or export its generator with gan-blocks export)."
        )
    if isinstance(model, models.VAE):
        for flag, value in (("--truncation", truncation), ("--labels", labels)):
            if value is not None:
                raise ValueError(f"{flag} does not apply to a VAE.")
        return model.generate(num_samples=num, seed=seed)
    if not isinstance(model, models.GAN):
        raise ValueError(
            f"The file holds a {name}, which gan-blocks cannot sample: expected a GAN, "
            "ConditionalGAN, StyleGAN2, ConditionalStyleGAN2 or VAE."
        )
    options: dict[str, Any] = {"num_samples": num, "seed": seed, "use_ema": use_ema}
    if truncation is not None:
        options["truncation"] = truncation
    if isinstance(model, models.StyleGAN2Training):
        options["noise_mode"] = noise_mode
    if labels is not None:
        if not isinstance(model, models.ConditionalGAN):
            raise ValueError(f"--labels needs a conditional model; this {name} is unconditional.")
        options["labels"] = labels
    return model.generate(**options)


def run(args: argparse.Namespace) -> int:
    """`gan-blocks sample`: writes the grid and prints where."""
    import keras
    from PIL import Image

    import gan_blocks as gb  # Registers the model classes for loading.

    if args.num < 1:
        raise ValueError(f"--num must be at least 1. Received {args.num}.")
    if args.columns is not None and args.columns < 1:
        raise ValueError(f"--columns must be at least 1. Received {args.columns}.")
    if not os.path.exists(args.model):
        raise FileNotFoundError(f"No model file {args.model!r}.")
    parent = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"The folder {parent!r} for --out does not exist.")
    model = keras.saving.load_model(args.model)
    images = sample_images(
        model,
        args.num,
        args.seed,
        truncation=args.truncation,
        labels=_labels(args.labels, args.num),
        noise_mode=args.noise_mode,
        use_ema=not args.no_ema,
    )
    grid = gb.callbacks.image_grid(images, columns=args.columns, value_range=_value_range(model))
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(args.out)
    print(
        f"Wrote {args.num} samples of {args.model} to {args.out} ({grid.shape[1]}x{grid.shape[0]})."
    )
    return 0
