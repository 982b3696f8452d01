"""When `torch.compile` pays for itself: compile time against the per-step saving.

For each builder pair the library ships (DCGAN, SN-GAN, Pix2Pix, CycleGAN),
on the torch backend, this trains

  (a) with `jit_compile=False` (eager): seconds per step after two warm-up steps;
  (b) with `jit_compile=True` in a fresh TorchInductor cache (cold): the first
      `fit` of a few steps (compilation included) and then seconds per step;
  (c) a second, identical model in the same process (what a reloaded model or a
      repeated run in a warm cache pays): its first `fit`'s compilation.

compile seconds = first fit's seconds - its steps x the compiled step's seconds;
crossover = compile seconds / (eager - compiled seconds per step): the planned
steps above which a compiled run finishes first. `jit_compile="auto"` on torch
compiles when the remaining steps of a `fit` pass the crossover of its cost
model (`gan_blocks.trainers.torch_auto_compile.compile_pays`); this script is
how that model's constants were measured. Each case runs in a subprocess of its own (a cold
in-memory cache) with `TORCHINDUCTOR_CACHE_DIR` set to a fresh folder.

    python benchmarks/torch_compile_crossover.py
    python benchmarks/torch_compile_crossover.py --cases dcgan-b64 pix2pix --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from benchmark_utils import run_in_cold_torch_process

CASES = ("dcgan-b4", "dcgan-b64", "sngan-b64", "pix2pix", "cyclegan")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--steps", type=int, default=30, help="timed steps per variant")
    parser.add_argument("--first-fit-steps", type=int, default=3)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build(case):
    """(model, data, batch_size, description) for one case, small enough for a CPU."""
    import numpy as np

    import gan_blocks as gb

    arch = gb.architectures
    rng = np.random.default_rng(0)
    if case.startswith("dcgan"):
        batch = 4 if case == "dcgan-b4" else 64
        model = gb.models.GAN(
            arch.dcgan_generator(64, (28, 28, 1), filters=32),
            arch.dcgan_discriminator((28, 28, 1), filters=32),
            latent_dim=64,
            seed=0,
        )
        data = rng.uniform(-1, 1, (batch * 64, 28, 28, 1)).astype("float32")
        return model, data, None, batch, "examples/dcgan.py's DCGAN, 28x28x1, filters 32"
    if case == "sngan-b64":
        model = gb.models.GAN(
            arch.sngan_generator(128, (32, 32, 3), filters=32),
            arch.sngan_discriminator((32, 32, 3), filters=32),
            latent_dim=128,
            seed=0,
        )
        data = rng.uniform(-1, 1, (64 * 64, 32, 32, 3)).astype("float32")
        return model, data, None, 64, "SN-GAN ResNet, 32x32x3, filters 32"
    if case == "pix2pix":
        model = gb.models.Pix2Pix(
            arch.unet_generator((64, 64, 3), filters=16),
            arch.patchgan_discriminator((64, 64, 3), filters=16),
            seed=0,
        )
        x = rng.uniform(-1, 1, (4 * 64, 64, 64, 3)).astype("float32")
        return model, x, x[:, ::-1].copy(), 4, "Pix2Pix U-Net + PatchGAN, 64x64x3, filters 16"
    model = gb.models.CycleGAN(
        arch.resnet_generator((64, 64, 3), filters=16, num_blocks=3),
        arch.resnet_generator((64, 64, 3), filters=16, num_blocks=3),
        arch.patchgan_discriminator((64, 64, 3), filters=16, conditional=False),
        arch.patchgan_discriminator((64, 64, 3), filters=16, conditional=False),
        seed=0,
    )
    x = rng.uniform(-1, 1, (4 * 64, 64, 64, 3)).astype("float32")
    return (
        model,
        x,
        x[:, ::-1].copy(),
        4,
        "CycleGAN ResNet (3 blocks) + PatchGAN, 64x64x3, filters 16",
    )


def seconds_per_step(model, x, y, batch, steps):
    import keras

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch_index, logs=None):
            if batch_index == 1:
                self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.stop = time.perf_counter()

    timer = Timer()
    n = (steps + 1) * batch
    model.fit(
        x[:n],
        None if y is None else y[:n],
        batch_size=batch,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[timer],
    )
    return (timer.stop - timer.start) / steps


def first_fit_seconds(model, x, y, batch, steps):
    n = steps * batch
    start = time.perf_counter()
    model.fit(
        x[:n], None if y is None else y[:n], batch_size=batch, epochs=1, verbose=0, shuffle=False
    )
    return time.perf_counter() - start


def run_case(case, args):
    import torch

    eager, x, y, batch, description = build(case)
    eager.compile(jit_compile=False)
    first_fit_seconds(eager, x, y, batch, 2)
    eager_step = min(seconds_per_step(eager, x, y, batch, args.steps) for _ in range(2))

    compiled = build(case)[0]
    compiled.compile(jit_compile=True)
    cold_first = first_fit_seconds(compiled, x, y, batch, args.first_fit_steps)
    compiled_step = min(seconds_per_step(compiled, x, y, batch, args.steps) for _ in range(2))
    graphs_after_one = torch._dynamo.utils.counters["stats"]["unique_graphs"]

    again = build(case)[0]
    again.compile(jit_compile=True)
    warm_first = first_fit_seconds(again, x, y, batch, args.first_fit_steps)

    cold = cold_first - args.first_fit_steps * compiled_step
    warm = warm_first - args.first_fit_steps * compiled_step
    saving = eager_step - compiled_step
    return {
        "case": case,
        "model": description,
        "batch": batch,
        "eager_ms": 1000 * eager_step,
        "compiled_ms": 1000 * compiled_step,
        "compile_cold_s": cold,
        "compile_warm_s": warm,
        "crossover_cold": cold / saving if saving > 0 else None,
        "crossover_warm": warm / saving if saving > 0 else None,
        "graphs": graphs_after_one,
    }


def main(argv=None):
    args = parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args)))
        return
    import keras
    import torch

    print(
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
        f"cores; keras {keras.__version__}, torch {torch.__version__}"
    )
    print(f"- {args.steps} timed steps per variant (best of 2 runs), float32\n")
    print(
        "| case | model | batch | eager ms/step | compiled ms/step | compile s (cold cache) "
        "| compile s (same process, 2nd model) | crossover steps (cold) | (warm) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        row = run_in_cold_torch_process(
            __file__,
            ["--case", case, "--steps", args.steps, "--first-fit-steps", args.first_fit_steps],
        )

        def steps(value):
            return "never (compiled is not faster)" if value is None else f"{value:,.0f}"

        print(
            f"| {row['case']} | {row['model']} | {row['batch']} | {row['eager_ms']:.1f} | "
            f"{row['compiled_ms']:.1f} | {row['compile_cold_s']:.1f} | "
            f"{row['compile_warm_s']:.1f} | {steps(row['crossover_cold'])} | "
            f"{steps(row['crossover_warm'])} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
