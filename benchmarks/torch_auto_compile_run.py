"""Whole runs on torch: `GAN.fit` with its defaults against a plain `torch.nn` loop.

Issue #30's measure of `jit_compile="auto"`: wall-clock seconds of a whole
training run (from the first step to the last; compilation included, building
the models not), for

  - `GAN.fit` with default settings (`jit_compile="auto"`: eager first steps,
    then compiled where the cost model says it pays back);
  - `GAN.fit` with `jit_compile=False` (eager, the default before);
  - `GAN.fit` with `jit_compile=True`;
  - the plain `torch.nn` loop of `benchmarks/throughput.py` (channels-first
    modules, `torch.optim.Adam`), what a PyTorch user writes by hand;

on examples/dcgan.py's model (latent 64, filters 32) and the first `--images`
MNIST digits shipped in examples/data/mnist at `--batch-size`, for `--epochs`
epochs. Each variant runs in
a subprocess of its own with a fresh `TORCHINDUCTOR_CACHE_DIR` (a cold
compilation, as a user's first run).

    python benchmarks/torch_auto_compile_run.py --epochs 20
    python benchmarks/torch_auto_compile_run.py --epochs 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from benchmark_utils import run_in_cold_torch_process

VARIANTS = ("fit-auto", "fit-eager", "fit-compiled", "torch.nn")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--images", type=int, default=8000, help="the first N digits")
    parser.add_argument("--data-dir", default="examples/data/mnist", help="MNIST IDX files")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--variant", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_variant(args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import throughput

    import gan_blocks as gb

    model_args = throughput.parse_args(["--backend", "torch", "--small-batch"])
    data = gb.data.load_mnist_idx(args.data_dir)[: args.images]
    if args.variant == "torch.nn":
        loop = throughput.TorchModuleLoop(model_args, args.batch_size)
        start = time.perf_counter()
        for _ in range(args.epochs):
            loop.run(data)
        return {"seconds": time.perf_counter() - start, "compiled": None}
    generator, discriminator = throughput.build_models(model_args, seed=1)
    gan = gb.models.GAN(generator, discriminator, latent_dim=model_args.latent_dim, seed=0)
    kwargs = {"fit-eager": {"jit_compile": False}, "fit-compiled": {"jit_compile": True}}
    gan.compile(throughput.adam(), throughput.adam(), **kwargs.get(args.variant, {}))
    start = time.perf_counter()  # Building the models is the user's either way.
    gan.fit(data, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    return {"seconds": time.perf_counter() - start, "compiled": bool(gan.jit_compile)}


def main(argv=None):
    args = parse_args(argv)
    if args.variant:
        print(json.dumps(run_variant(args)))
        return
    import torch

    steps = args.epochs * -(-args.images // args.batch_size)
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} logical cores; torch "
        f"{torch.__version__}; {args.epochs} epochs of {args.images} images at batch "
        f"{args.batch_size} ({steps:,} steps), cold TorchInductor cache per variant\n"
    )
    print("| variant | wall s (incl. compilation) | vs torch.nn loop | step compiled at the end |")
    print("|---|---|---|---|")
    rows = {}
    for variant in args.variants:
        rows[variant] = run_in_cold_torch_process(
            __file__,
            [
                "--variant",
                variant,
                "--epochs",
                args.epochs,
                "--images",
                args.images,
                "--batch-size",
                args.batch_size,
            ],
        )
    reference = rows.get("torch.nn", {}).get("seconds")
    for variant, row in rows.items():
        ratio = f"{reference / row['seconds']:.2f}x" if reference else "-"
        print(f"| {variant} | {row['seconds']:.1f} | {ratio} | {row['compiled']} |")


if __name__ == "__main__":
    main()
