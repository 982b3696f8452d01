"""StyleGAN2 in gan-blocks side by side with NVlabs' own code, same data and settings.

Trains `gb.models.StyleGAN2` (on `KERAS_BACKEND`) and NVlabs'
stylegan2-ada-pytorch networks and loss (`training.networks.Generator`,
`Discriminator`, `training.loss.StyleGAN2Loss`, driven by the phases of
their `training_loop.py`: `Gmain`, `Greg` every 4 steps, `Dmain`, `Dreg`
every 16, Adam(lr, 0, 0.99) with the lazy-regularization ratio) on the same
images, with the same widths (a gan-blocks preset's `channel_base`,
`channel_max`, z/w size, mapping layers and minibatch-stddev group), learning
rate, R1 gamma, path-length weight and style-mixing probability. Every
`--report-every` steps each prints one JSON line with the training seconds so
far and the diversity of 64 samples of fixed latents (mean pairwise squared
pixel distance; the real digits' value is printed with it: a collapsed
generator is far below it), and, at the end, the FID of `--samples` samples
against held-out digits in the features of the project's MNIST classifier
(`gb.metrics.train_classifier_feature_extractor`, as `quality.py`).

NVlabs' code is not shipped with gan-blocks (its licence is NVIDIA's
non-commercial one): pass a checkout with `--nvlabs-dir`. It runs on a CPU
with its reference (non-CUDA) ops; only torch and numpy are needed. Without
`--nvlabs-dir` only gan-blocks runs.

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/nvlabs
    KERAS_BACKEND=tensorflow python benchmarks/stylegan2_reference.py \\
        --data-dir ../shared/data/mnist --nvlabs-dir /tmp/nvlabs --preset tiny --steps 400
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

import keras
import numpy as np

import gan_blocks as gb
from gan_blocks.architectures.stylegan2 import PRESETS

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--data-dir", default="examples/data/mnist", help="folder of MNIST IDX files")
parser.add_argument("--nvlabs-dir", default=None, help="a stylegan2-ada-pytorch checkout")
parser.add_argument("--implementations", default="gan_blocks,nvlabs")
parser.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
parser.add_argument("--steps", type=int, default=400)
parser.add_argument("--report-every", type=int, default=100)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--learning-rate", type=float, default=0.0025)
parser.add_argument("--r1-gamma", type=float, default=0.01)
parser.add_argument("--path-length-weight", type=float, default=2.0)
parser.add_argument("--style-mixing", type=float, default=0.9)
parser.add_argument("--train-images", type=int, default=8000)
parser.add_argument("--samples", type=int, default=1000, help="generated images for the FID")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (NVlabs)")
args = parser.parse_args()

settings = PRESETS[args.preset]
images, labels = gb.data.load_mnist_idx(args.data_dir, with_labels=True)
images = images.reshape(-1, 28, 28, 1).astype("float32")
train_images, train_labels = images[: args.train_images], labels[: args.train_images]
held_out = images[args.train_images :]
# The digits on a 32x32 canvas of the background value (-1), NHWC.
padded = np.pad(train_images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)
fixed_latents = np.random.default_rng(1).standard_normal((64, settings["latent_dim"]))
fixed_latents = fixed_latents.astype("float32")


def pairwise_distance(samples):
    flat = samples.reshape(len(samples), -1)
    squared = ((flat[:, None] - flat[None]) ** 2).mean(-1)
    return float(squared[np.triu_indices(len(flat), 1)].mean())


REAL_DIVERSITY = round(pairwise_distance(padded[:64]), 4)


def report(implementation, step, seconds, samples, extra=None):
    row = {
        "implementation": implementation,
        "preset": args.preset,
        "step": step,
        "training_seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / max(step, 1), 3),
        "diversity": round(pairwise_distance(samples), 4),
        "real_diversity": REAL_DIVERSITY,
    }
    row.update(extra or {})
    print(json.dumps(row), flush=True)


def batches(rng):
    """The same sequence of real batches for both implementations (index draws)."""
    while True:
        yield rng.integers(0, len(padded), args.batch_size)


def train_gan_blocks():
    keras.utils.set_random_seed(args.seed)
    model = gb.models.StyleGAN2(
        gb.architectures.stylegan2_generator(32, 1, preset=args.preset),
        gb.architectures.stylegan2_discriminator(32, 1, preset=args.preset),
        style_mixing=args.style_mixing,
        seed=args.seed,
    )
    regularizers = {}
    if args.r1_gamma > 0:
        regularizers["discriminator"] = [gb.losses.R1Penalty(gamma=args.r1_gamma, every=16)]
    if args.path_length_weight > 0:
        regularizers["generator"] = [gb.losses.PathLengthPenalty(weight=args.path_length_weight)]
    model.compile(learning_rate=args.learning_rate, regularizers=regularizers)
    rng, seconds, step = np.random.default_rng(args.seed), 0.0, 0
    draws = batches(rng)
    while step < args.steps:
        chunk = min(args.report_every, args.steps - step)
        data = padded[np.concatenate([next(draws) for _ in range(chunk)])]
        started = time.perf_counter()
        model.fit(data, batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)
        seconds += time.perf_counter() - started
        step += chunk
        samples = model.generate(latents=fixed_latents, use_ema=False)
        report("gan_blocks", step, seconds, samples, {"backend": keras.backend.backend()})
    return lambda n, seed: model.generate(n, seed=seed, use_ema=False)


def train_nvlabs():
    import torch

    sys.path.insert(0, args.nvlabs_dir)
    warnings.filterwarnings("ignore")  # "Failed to build CUDA kernels": the reference ops run.
    from training.loss import StyleGAN2Loss
    from training.networks import Discriminator, Generator

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    widths = dict(
        channel_base=settings["channel_base"],
        channel_max=settings["channel_max"],
        num_fp16_res=0,
        conv_clamp=256,
    )
    generator = Generator(
        z_dim=settings["latent_dim"],
        c_dim=0,
        w_dim=settings["w_dim"],
        img_resolution=32,
        img_channels=1,
        mapping_kwargs=dict(num_layers=settings["mapping_layers"]),
        synthesis_kwargs=widths,
    )
    discriminator = Discriminator(
        c_dim=0,
        img_resolution=32,
        img_channels=1,
        epilogue_kwargs=dict(mbstd_group_size=settings["mbstd_group_size"]),
        **widths,
    )
    loss = StyleGAN2Loss(
        "cpu",
        generator.mapping,
        generator.synthesis,
        discriminator,
        style_mixing_prob=args.style_mixing,
        r1_gamma=args.r1_gamma,
        pl_weight=args.path_length_weight,
    )
    phases = []  # training_loop.py: main and lazy-regularization phases per player
    for name, module, interval in (("G", generator, 4), ("D", discriminator, 16)):
        ratio = interval / (interval + 1)
        optimizer = torch.optim.Adam(
            module.parameters(),
            lr=args.learning_rate * ratio,
            betas=(0.0, 0.99**ratio),
            eps=1e-8,
        )
        phases.append((name + "main", module, optimizer, 1))
        phases.append((name + "reg", module, optimizer, interval))
    channels_first = np.ascontiguousarray(padded.transpose(0, 3, 1, 2))
    no_labels = torch.zeros(args.batch_size, 0)

    def generate(latents):
        with torch.no_grad():
            z = torch.from_numpy(np.asarray(latents, "float32"))
            output = generator(z, torch.zeros(len(z), 0), noise_mode="random")
        return output.numpy().transpose(0, 2, 3, 1)

    rng, seconds = np.random.default_rng(args.seed), 0.0
    draws = batches(rng)
    for step in range(1, args.steps + 1):
        started = time.perf_counter()
        real = torch.from_numpy(channels_first[next(draws)])
        for name, module, optimizer, interval in phases:
            if (step - 1) % interval:
                continue
            optimizer.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            loss.accumulate_gradients(
                phase=name,
                real_img=real,
                real_c=no_labels,
                gen_z=torch.randn(args.batch_size, settings["latent_dim"]),
                gen_c=no_labels,
                sync=True,
                gain=interval,
            )
            module.requires_grad_(False)
            optimizer.step()
        seconds += time.perf_counter() - started
        if step % args.report_every == 0 or step == args.steps:
            report("nvlabs", step, seconds, generate(fixed_latents), {"backend": "torch"})

    def sample(n, seed):
        latents = np.random.default_rng(seed).standard_normal((n, settings["latent_dim"]))
        return np.concatenate([generate(part) for part in np.array_split(latents, n // 250 + 1)])

    return sample


extractor = gb.metrics.train_classifier_feature_extractor(
    train_images, train_labels, epochs=3, seed=0
)
fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=500)
held_out_features = fid.extract_features(held_out)
trainers = {"gan_blocks": train_gan_blocks, "nvlabs": train_nvlabs}
for implementation in args.implementations.split(","):
    if implementation not in trainers:
        parser.error(f"unknown implementation {implementation!r}; choose from {sorted(trainers)}")
    if implementation == "nvlabs" and not args.nvlabs_dir:
        print(json.dumps({"implementation": "nvlabs", "skipped": "no --nvlabs-dir"}), flush=True)
        continue
    sample = trainers[implementation]()
    samples = sample(args.samples, args.seed + 1)[:, 2:30, 2:30, :]
    fid.reset_state()
    fid.update_features(held_out_features, fid.extract_features(samples))
    print(
        json.dumps(
            {
                "implementation": implementation,
                "preset": args.preset,
                "steps": args.steps,
                "fid": round(float(fid.result()), 2),
                "samples": args.samples,
                "machine": platform.processor() or platform.machine(),
                "cpus": os.cpu_count(),
            }
        ),
        flush=True,
    )
