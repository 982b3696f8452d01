"""`gan-blocks train`: train a GAN on a prepared dataset, in snapshots that resume exactly."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from gan_blocks.cli import train_recipes

S = argparse.SUPPRESS  # Absent flags stay absent: --config and the defaults fill them in.


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_parser(commands: Any) -> None:
    """Adds `train` to the `gan-blocks` sub-commands."""
    parser = commands.add_parser(
        "train",
        help="train a GAN on a prepared dataset (resumable)",
        description=(
            "Train DCGAN, SN-GAN or StyleGAN2 on a dataset prepared with `gan-blocks "
            "prepare`, for --kimg thousand images, in snapshots of --snapshot-kimg: each "
            "writes a sample grid, a metrics row, the FID (with reference statistics) and a "
            "checkpoint. --resume continues from the latest checkpoint exactly as the "
            "uninterrupted run would have gone on. The settings are saved as OUT/run.json; "
            "--config OUT/run.json repeats a run (flags given override it). Writes "
            "OUT/final.keras (for `gan-blocks sample` / `export`), OUT/metrics.csv, "
            "OUT/samples/*.png and OUT/checkpoints/."
        ),
    )
    parser.add_argument("--data", default=S, help="prepared dataset folder (gan-blocks prepare)")
    models = ", ".join(train_recipes.MODEL_NAMES)
    parser.add_argument("--model", default=S, help=f"architecture and recipe: {models}")
    parser.add_argument("--kimg", type=_positive_float, default=S, help="thousands of images")
    parser.add_argument("--batch", type=_positive_int, default=S, help="images a step (32)")
    parser.add_argument("--out", default=S, help="output folder of the run")
    parser.add_argument(
        "--augment",
        default=S,
        choices=("ada", "diffaugment", "none"),
        help="augment what the discriminator sees (none); ada for small datasets",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--config", default=None, help="a run.json whose settings to repeat")
    parser.add_argument(
        "--snapshot-kimg",
        type=_positive_float,
        default=S,
        help="kimg between snapshots (a tenth of --kimg)",
    )
    parser.add_argument("--seed", type=int, default=S, help="seed of weights, data and draws (0)")
    parser.add_argument(
        "--ema",
        default=S,
        help="generator EMA: auto (0.999 decay; StyleGAN2: 10 kimg half-life), off, or a "
        "number (a decay; for stylegan2 a half-life in kimg)",
    )
    parser.add_argument(
        "--lr", type=_positive_float, default=S, help="learning rate of both players"
    )
    parser.add_argument(
        "--jit-compile",
        dest="jit_compile",
        default=S,
        choices=("auto", "true", "false"),
        help="compile the training step (auto)",
    )
    parser.add_argument(
        "--preset",
        default=S,
        choices=train_recipes.PRESET_NAMES,
        help="network widths (auto); tiny and small train on a CPU; cifar, paper256: stylegan2",
    )
    parser.add_argument(
        "--cond",
        action="store_const",
        const=True,
        default=S,
        help="class-conditional model on the dataset's labels (sngan, stylegan2)",
    )
    parser.add_argument(
        "--no-xflip", dest="xflip", action="store_const", const=False, default=S,
        help="do not flip training images horizontally at random",
    )  # fmt: skip
    parser.add_argument("--grid", type=_positive_int, default=S, help="samples in each grid (64)")
    parser.add_argument(
        "--fid-reference",
        default=S,
        help="reference statistics .npz (default: DATA/reference_statistics.npz if present)",
    )
    parser.add_argument(
        "--fid-extractor",
        default=S,
        help="inception, fid-inception or a .keras model (default: the statistics' own)",
    )
    parser.add_argument("--fid-weights", default=S, help="weights of the Inception extractor")
    parser.add_argument(
        "--fid-samples", type=_positive_int, default=S, help="generated images per FID (5000)"
    )
    parser.add_argument(
        "--tensorboard",
        action="store_const",
        const=True,
        default=S,
        help="also write TensorBoard logs to OUT/tensorboard (needs tensorboard)",
    )
    parser.add_argument(
        "--keep-checkpoints", type=_positive_int, default=S, help="recent checkpoints kept (3)"
    )
    parser.add_argument(
        "--workers", type=_positive_int, default=S, help="threads preparing batches (1)"
    )
    parser.set_defaults(run=run)


def settings(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """The run's settings: `--config`'s (or, with `--resume`, OUT/run.json's), then the flags.

    Returns:
        `(settings, resume)`.
    """
    from gan_blocks.cli.training_run import RUN_FILE

    flags = {
        key: value
        for key, value in vars(args).items()
        if key not in ("command", "run", "config", "resume")
    }
    base: dict[str, Any] = {}
    if args.config is not None:
        base = _read_settings(args.config)
    elif args.resume and "out" in flags and os.path.isfile(os.path.join(flags["out"], RUN_FILE)):
        base = _read_settings(os.path.join(flags["out"], RUN_FILE))
    merged = {**base, **flags}
    if args.resume and "out" not in merged:
        raise ValueError("--resume needs --out, the folder of the run to continue.")
    return merged, bool(args.resume)


def _read_settings(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such --config file: {path!r}.")
    with open(path, encoding="utf-8") as file:
        try:
            record = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"--config {path!r} is not valid JSON: {error}") from error
    found = record.get("settings", record) if isinstance(record, dict) else None
    if not isinstance(found, dict):
        raise ValueError(f"--config {path!r} holds no settings object.")
    return found


def run(args: argparse.Namespace) -> int:
    """`gan-blocks train`: trains, printing a line at the start and one per snapshot."""
    from gan_blocks.cli.training_run import TrainingRun

    config, resume = settings(args)
    if "model" in config:
        train_recipes.check_model_name(config["model"])
    TrainingRun(config, resume=resume, log=lambda line: print(line, flush=True)).run()
    return 0
