"""Eager against two `torch.compile` backends for `GAN.fit`'s step, side by side.

gan-blocks' compiled torch step (`jit_compile=True`) hands each player's loss
and each optimizer's update to `torch.compile` with TorchInductor, which
generates fused kernels (C++ on a CPU). How much of its saving is TorchDynamo
removing Keras layers' Python cost, and how much is Inductor's code? This
script trains examples/dcgan.py's model (latent 64, filters 32) on the
shipped MNIST digits three ways in one process:

  - `eager`: `jit_compile=False`;
  - `aot_eager`: `jit_compile=True` with `torch.compile(backend="aot_eager")`
    (TorchDynamo's graphs and AOTAutograd's backward, run by torch's own
    kernels: no code generation);
  - `inductor`: `jit_compile=True` as shipped.

It prints the seconds of the first two steps (the compilation, cold
TorchInductor cache), then alternates fits of 10 steps between the variants,
so that all see the same machine load, and prints the median milliseconds a
step with the quartiles and the steps after which compiling pays back.

    python benchmarks/torch_compile_backends.py --batch-size 64 --rounds 30
    python benchmarks/torch_compile_backends.py --batch-size 4 --rounds 40
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-cold-"))
STEPS_PER_FIT = 10
VARIANTS = ("eager", "aot_eager", "inductor")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=30, help="fits of 10 steps per variant")
    parser.add_argument("--data-dir", default="examples/data/mnist", help="MNIST IDX files")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import keras
    import throughput
    import torch

    import gan_blocks as gb

    assert keras.backend.backend() == "torch", "run with KERAS_BACKEND=torch"
    # gan-blocks calls `torch.compile(...)` when a compiled step is first
    # built; this swaps the backend for the variant being built or run.
    current = {"variant": "inductor"}
    torch_compile = torch.compile

    def compile_with_backend(function, **kwargs):
        if current["variant"] == "aot_eager":
            kwargs["backend"] = "aot_eager"
        return torch_compile(function, **kwargs)

    torch.compile = compile_with_backend

    model_args = throughput.parse_args(["--backend", "torch", "--small-batch"])
    data = gb.data.load_mnist_idx(args.data_dir)[: STEPS_PER_FIT * args.batch_size]
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} logical cores; torch "
        f"{torch.__version__}, keras {keras.__version__}; batch {args.batch_size}; "
        f"{args.rounds} alternating fits of {STEPS_PER_FIT} steps per variant\n"
    )
    models, first_steps = {}, {}
    for variant in VARIANTS:
        current["variant"] = variant
        generator, discriminator = throughput.build_models(model_args, seed=1)
        gan = gb.models.GAN(generator, discriminator, latent_dim=model_args.latent_dim, seed=0)
        gan.compile(throughput.adam(), throughput.adam(), jit_compile=variant != "eager")
        start = time.perf_counter()
        gan.fit(data[: 2 * args.batch_size], batch_size=args.batch_size, epochs=1, verbose=0)
        first_steps[variant] = time.perf_counter() - start
        models[variant] = gan
    times = {variant: [] for variant in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            current["variant"] = variant
            start = time.perf_counter()
            models[variant].fit(data, batch_size=args.batch_size, epochs=1, verbose=0)
            times[variant].append(1000 * (time.perf_counter() - start) / STEPS_PER_FIT)

    eager_ms = statistics.median(times["eager"])
    print(
        "| variant | first 2 steps s | ms/step, median (quartiles) | saved vs eager "
        "| pays back after |"
    )
    print("|---|---|---|---|---|")
    for variant in VARIANTS:
        low, median, high = statistics.quantiles(times[variant], n=4)
        saved = eager_ms - median
        extra = first_steps[variant] - first_steps["eager"]
        payback = "-" if variant == "eager" else "never"
        if variant != "eager" and saved > 0:
            payback = f"{math.ceil(1000 * extra / saved):,} steps"
        print(
            f"| {variant} | {first_steps[variant]:.1f} | {median:.1f} ({low:.1f}-{high:.1f}) "
            f"| {saved / eager_ms:.0%} | {payback} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
