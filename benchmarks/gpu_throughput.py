"""DCGAN 64x64 training throughput on one GPU: gan-blocks `GAN.fit` (JAX) and plain PyTorch.

Run by `benchmarks/gpu_check.sh`, one process per framework (JAX preallocates
most of the GPU's memory, so the two never share a process):

    python benchmarks/gpu_throughput.py --framework jax   --out results.jsonl
    python benchmarks/gpu_throughput.py --framework torch --out results.jsonl
    python benchmarks/gpu_throughput.py --report results.jsonl

- jax:   `gb.architectures.dcgan_generator(100, (64, 64, 3))` and
         `dcgan_discriminator((64, 64, 3))` trained by `gb.models.GAN.fit` with
         the library defaults (`jit_compile="auto"` -> XLA), under the
         `float32` and `mixed_bfloat16` dtype policies; optionally also with
         `steps_per_execution` > 1.
- torch: the same architecture written in plain `torch.nn` (channels-last
         memory format), `torch.compile`d generator and discriminator, fused
         Adam, `torch.autocast(bfloat16)` for bf16.

Same math in both: the non-saturating loss, Adam(2e-4, beta_1=0.5) per player,
a discriminator step then a generator step on fresh latents, random images in
[-1, 1] fed from host memory each step. Compilation and warm-up are excluded;
within a process the variants' timed runs are interleaved, medians reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

LATENT_DIM = 100
IMAGE_SHAPE = (64, 64, 3)
FILTERS = 64


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=("jax", "torch"))
    parser.add_argument("--report", help="print the table of a results file and exit")
    parser.add_argument("--out", default="gpu_results.jsonl", help="results file (appended)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128])
    parser.add_argument("--steps", type=int, default=100, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument(
        "--jax-variants",
        nargs="+",
        default=["fp32:1", "bf16:1", "bf16:1:sync", "bf16:8"],
        help="JAX runs as precision:steps_per_execution[:sync] (overrides --precisions for "
        "JAX); ':sync' makes fit's NaN guard wait for every step, as it does on CPUs "
        "(on a GPU it is async by default)",
    )
    parser.add_argument(
        "--cpu-smoke",
        action="store_true",
        help="tiny run on the CPU (batch 8, 2 steps): checks the script end to end",
    )
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        args.batch_sizes, args.steps, args.repeats, args.warmup_steps = [8], 2, 1, 1
    return args


def random_images(count, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return (rng.random((count,) + IMAGE_SHAPE, dtype="float32") * 2.0 - 1.0).astype("float32")


def record(args, row):
    row.update(framework=args.framework, smoke=args.cpu_smoke)
    with open(args.out, "a") as file:
        file.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


# ---------------------------------------------------------------------------- JAX
def keras_tree_without_optree():
    """Lets `import keras` (JAX backend) work without `optree` or `dm-tree`.

    Keras picks its pytree implementation when `keras.src.tree.tree_api` is
    imported: `torch.utils._pytree` on the torch backend, else optree, else
    dm-tree, else ImportError. A GPU machine with JAX and PyTorch but neither
    optree nor dm-tree (and no network to install them) can still use the torch
    implementation: this import hook makes `tree_api` choose it. The proper fix
    is an optree wheel for that machine's Python in benchmarks/wheels/.
    """
    import importlib.abc
    import importlib.machinery
    import importlib.util

    if importlib.util.find_spec("optree") or importlib.util.find_spec("tree"):
        return False
    if not importlib.util.find_spec("torch"):
        return False

    class Loader(importlib.abc.SourceLoader):
        def __init__(self, path):
            self.path = path

        def get_filename(self, fullname):
            return self.path

        def get_data(self, path):
            with open(path, encoding="utf-8") as file:
                source = file.read()
            return source.replace('if backend() == "torch":', "if True:", 1).encode()

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname != "keras.src.tree.tree_api":
                return None
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is None:
                return None
            return importlib.util.spec_from_file_location(
                fullname, spec.origin, loader=Loader(spec.origin)
            )

    sys.meta_path.insert(0, Finder())
    return True


class KerasFitVariant:
    def __init__(self, precision, batch_size, steps_per_execution, steps, sync_guard=False):
        import keras

        import gan_blocks as gb

        self.precision, self.batch_size, self.spe = precision, batch_size, steps_per_execution
        self.sync_guard = sync_guard
        policy = {"fp32": "float32", "bf16": "mixed_bfloat16"}[precision]
        keras.config.set_dtype_policy(policy)
        keras.utils.set_random_seed(1)
        generator = gb.architectures.dcgan_generator(LATENT_DIM, IMAGE_SHAPE, filters=FILTERS)
        discriminator = gb.architectures.dcgan_discriminator(IMAGE_SHAPE, filters=FILTERS)
        self.gan = gb.models.GAN(generator, discriminator, latent_dim=LATENT_DIM, seed=0)
        adam = keras.optimizers.Adam
        kwargs = {"steps_per_execution": steps_per_execution} if steps_per_execution > 1 else {}
        self.gan.compile(adam(2e-4, beta_1=0.5), adam(2e-4, beta_1=0.5), **kwargs)
        keras.config.set_dtype_policy("float32")
        # The first execution (steps_per_execution steps) is not timed.
        self.data = random_images((steps + steps_per_execution) * batch_size)
        self.name = (
            "gan-blocks GAN.fit (JAX)"
            + (f", steps_per_execution={steps_per_execution}" if steps_per_execution > 1 else "")
            + (", NaN guard synchronous (CPU default)" if sync_guard else "")
        )
        variant = self

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                variant.calls = 0

            def on_train_batch_begin(self, batch, logs=None):
                # The second call: the first execution has finished (the NaN
                # guard read its logs). Steps from here on are timed.
                variant.calls += 1
                if variant.calls == 2:
                    variant.first_timed, variant.start = batch, time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                variant.stop = time.perf_counter()

        self.timer = Timer()

    def run(self, data):
        from gan_blocks.trainers import get_trainer

        # On a GPU fit's NaN guard runs in Keras' callback thread; the ':sync'
        # variants make it wait for every step as on a CPU, for comparison.
        trainer = get_trainer()
        on_accelerator = trainer.runs_on_accelerator
        if self.sync_guard:
            trainer.runs_on_accelerator = lambda: False
        try:
            history = self.gan.fit(
                data,
                batch_size=self.batch_size,
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[self.timer],
            )
        finally:
            trainer.runs_on_accelerator = on_accelerator
        steps = len(data) // self.batch_size - self.first_timed
        losses = [history.history["d_loss"][-1], history.history["g_loss"][-1]]
        return steps, self.stop - self.start, losses


def run_jax(args):
    os.environ["KERAS_BACKEND"] = "jax"
    if args.cpu_smoke:
        os.environ["JAX_PLATFORMS"] = "cpu"
    patched_tree = keras_tree_without_optree()
    import jax
    import keras

    assert keras.backend.backend() == "jax", keras.backend.backend()
    device = jax.devices()[0]
    info = {"device": f"{device.platform}: {device.device_kind}", "jax": jax.__version__}
    info["keras"] = keras.__version__
    import gan_blocks as gb

    info["gan_blocks"] = gb.__version__
    if patched_tree:
        info["keras_tree"] = "torch.utils._pytree (no optree or dm-tree installed)"
        print("note: keras uses torch.utils._pytree here (optree and dm-tree are missing)")
    for batch_size in args.batch_sizes:
        variants = []
        for item in args.jax_variants:
            precision, spe, mode = (item.split(":") + ["1", ""])[:3]
            variants.append(
                KerasFitVariant(precision, batch_size, int(spe), args.steps, mode == "sync")
            )
        measure(args, variants, info, memory=lambda: _jax_peak_mib(device))


def _jax_peak_mib(device):
    try:
        stats = device.memory_stats() or {}
    except Exception:  # CPU devices have no memory stats.
        return None
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


# -------------------------------------------------------------------------- torch
def torch_models(torch):
    """The gb.architectures DCGAN 64x64 pair in plain torch.nn (NCHW)."""
    nn = torch.nn
    base, width = 4, FILTERS * 8

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(LATENT_DIM, base * base * width, bias=False)
            self.project_norm = nn.BatchNorm1d(base * base * width, eps=1e-3, momentum=0.01)
            blocks, channels = [], width
            for out in (FILTERS * 4, FILTERS * 2, FILTERS):
                blocks += [
                    nn.ConvTranspose2d(channels, out, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(out, eps=1e-3, momentum=0.01),
                    nn.ReLU(),
                ]
                channels = out
            blocks += [nn.ConvTranspose2d(channels, IMAGE_SHAPE[-1], 4, 2, 1), nn.Tanh()]
            self.blocks = nn.Sequential(*blocks)

        def forward(self, z):
            x = torch.relu(self.project_norm(self.project(z)))
            x = x.view(-1, width, base, base).contiguous(memory_format=torch.channels_last)
            return self.blocks(x)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            layers, channels = [], IMAGE_SHAPE[-1]
            for index, out in enumerate((FILTERS, FILTERS * 2, FILTERS * 4, FILTERS * 8)):
                layers.append(nn.Conv2d(channels, out, 4, 2, 1, bias=index == 0))
                if index > 0:
                    layers.append(nn.BatchNorm2d(out, eps=1e-3, momentum=0.01))
                layers.append(nn.LeakyReLU(0.2))
                channels = out
            layers += [nn.Flatten(), nn.Linear(channels * base * base, 1)]
            self.layers = nn.Sequential(*layers)

        def forward(self, x):
            return self.layers(x)

    return Generator(), Discriminator()


class TorchCompileVariant:
    def __init__(self, torch, device, precision, batch_size, steps):
        self.torch, self.device = torch, device
        self.precision, self.batch_size = precision, batch_size
        self.name = "plain PyTorch (torch.compile)"
        torch.manual_seed(1)
        generator, discriminator = torch_models(torch)
        fmt = torch.channels_last
        self.generator = generator.to(device, memory_format=fmt)
        self.discriminator = discriminator.to(device, memory_format=fmt)
        fused = device.type == "cuda"
        self.g_opt = torch.optim.Adam(
            self.generator.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7, fused=fused
        )
        self.d_opt = torch.optim.Adam(
            self.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7, fused=fused
        )
        self.g_compiled = torch.compile(self.generator)
        self.d_compiled = torch.compile(self.discriminator)
        images = random_images((steps + 1) * batch_size)
        tensor = torch.from_numpy(images).permute(0, 3, 1, 2)  # NHWC -> NCHW view
        if device.type == "cuda":
            tensor = tensor.pin_memory()
        self.data = tensor

    def _step(self, real):
        torch = self.torch
        g, d = self.g_compiled, self.d_compiled
        softplus = torch.nn.functional.softplus
        autocast = torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"
        )
        z = torch.randn(real.shape[0], LATENT_DIM, device=self.device)
        with autocast:
            with torch.no_grad():
                fake = g(z)
            d_loss = softplus(-d(real).float()).mean() + softplus(d(fake).float()).mean()
        self.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_opt.step()
        z = torch.randn(real.shape[0], LATENT_DIM, device=self.device)
        with autocast:
            g_loss = softplus(-d(g(z)).float()).mean()
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_opt.step()
        return d_loss.detach(), g_loss.detach()

    def _sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def run(self, data):
        torch = self.torch
        batches = [
            data[i : i + self.batch_size]
            for i in range(0, len(data) - self.batch_size + 1, self.batch_size)
        ]
        losses, start = [], None
        for batch in batches:
            real = batch.to(self.device, non_blocking=True).contiguous(
                memory_format=torch.channels_last
            )
            losses.append(self._step(real))
            if start is None:
                self._sync()
                start = time.perf_counter()
        self._sync()
        elapsed = time.perf_counter() - start
        mean = [float(torch.stack([loss[i] for loss in losses]).mean()) for i in (0, 1)]
        return len(batches) - 1, elapsed, mean


def run_torch(args):
    import torch

    # Every variant compiles its own modules, but dynamo caches per code object
    # (`forward` of the classes below): allow a recompile per variant and dtype.
    torch._dynamo.config.cache_size_limit = 64
    use_cuda = torch.cuda.is_available() and not args.cpu_smoke
    device = torch.device("cuda" if use_cuda else "cpu")
    if use_cuda:
        torch.backends.cudnn.benchmark = True
        # "fp32" as JAX runs it by default on this GPU: TF32 tensor cores allowed
        # in matmuls and convolutions (torch allows them in cuDNN convolutions by
        # default, and in matmuls with this setting).
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        name = torch.cuda.get_device_name(0)
    else:
        name = "cpu"
    info = {"device": f"{device.type}: {name}", "torch": torch.__version__}

    def memory():
        return torch.cuda.max_memory_allocated() / 2**20 if use_cuda else None

    for batch_size in args.batch_sizes:
        variants = [
            TorchCompileVariant(torch, device, precision, batch_size, args.steps)
            for precision in args.precisions
        ]
        measure(args, variants, info, memory)


# -------------------------------------------------------------------------- timing
def measure(args, variants, info, memory):
    for variant in variants:
        start = time.perf_counter()
        warm = variant.data[: (args.warmup_steps + variant_spe(variant)) * variant.batch_size]
        variant.run(warm)
        variant.compile_s = time.perf_counter() - start
        variant.rates, variant.losses = [], None
        print(
            f"warm-up (compilation) {variant.name}, {variant.precision}, batch "
            f"{variant.batch_size}: {variant.compile_s:.1f} s",
            flush=True,
        )
    for _ in range(args.repeats):
        for variant in variants:
            steps, seconds, losses = variant.run(variant.data)
            variant.rates.append(steps / seconds)
            variant.losses = losses
    for variant in variants:
        rate = statistics.median(variant.rates)
        record(
            args,
            {
                **info,
                "variant": variant.name,
                "precision": variant.precision,
                "batch_size": variant.batch_size,
                "steps_per_s": rate,
                "images_per_s": rate * variant.batch_size,
                "min_max": [min(variant.rates), max(variant.rates)],
                "warmup_s": variant.compile_s,
                "peak_memory_mib": memory(),
                "losses": variant.losses,
                "finite": all(x == x and abs(x) != float("inf") for x in variant.losses),
            },
        )


def variant_spe(variant):
    return getattr(variant, "spe", 1)


def report(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    if not rows:
        print("no results")
        return
    print(
        "| framework | variant | precision | batch | steps/s | images/s | vs torch.compile "
        "| peak GPU MiB | warm-up s | last d/g loss | finite |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    torch_rates = {
        (r["precision"], r["batch_size"]): r["images_per_s"]
        for r in rows
        if r["framework"] == "torch"
    }
    for r in rows:
        reference = torch_rates.get((r["precision"], r["batch_size"]))
        ratio = f"{r['images_per_s'] / reference:.2f}x" if reference else "-"
        memory = "-" if r["peak_memory_mib"] is None else f"{r['peak_memory_mib']:.0f}"
        d_loss, g_loss = r["losses"]
        print(
            f"| {r['framework']} | {r['variant']} | {r['precision']} | {r['batch_size']} "
            f"| {r['steps_per_s']:.1f} | {r['images_per_s']:.0f} | {ratio} | {memory} "
            f"| {r['warmup_s']:.0f} | {d_loss:.3f} / {g_loss:.3f} | {r['finite']} |"
        )
    devices = sorted({r["device"] for r in rows})
    print(f"\ndevices: {', '.join(devices)}")
    for r in rows[:1] + [x for x in rows if x["framework"] != rows[0]["framework"]][:1]:
        versions = {k: r[k] for k in ("jax", "torch", "keras", "gan_blocks") if k in r}
        print(f"{r['framework']} versions: {versions}")


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        report(args.report)
        return
    if args.framework is None:
        sys.exit("pass --framework jax|torch (or --report FILE)")
    if args.framework == "jax":
        run_jax(args)
    else:
        run_torch(args)


if __name__ == "__main__":
    main()
