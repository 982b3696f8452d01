"""DCGAN training throughput: `gb.models.GAN.fit` against a plain loop of the same math.

The same DCGAN generator and discriminator (MNIST-sized 28x28x1 images, latent
100, from `gb.architectures`) are trained by

  (a) `gb.models.GAN(...).compile()` + `fit` with the library defaults, and
  (b) a hand-written loop of the same math on the same backend:
      TensorFlow: `GradientTape`s in a `tf.function` (the keras.io / tensorflow.org
                  DCGAN style), once without and once with `jit_compile=True`;
      JAX:        one `jax.jit` step with `stateless_call`, `jax.value_and_grad`
                  and `optimizer.stateless_apply` for both players (state donated);
      torch:      an eager loop with `loss.backward()` and `optimizer.apply`.

Both use the non-saturating loss (discriminator: BCE on real and fake logits,
generator: softplus(-fake logits)), Adam(2e-4, beta_1=0.5) for each player, a
discriminator step then a generator step on fresh latents, and random images in
[-1, 1]. Compilation and warm-up are excluded; the timed runs are interleaved
(a, b, c, a, b, c, ...) in one process so that a noisy machine slows all of them
alike, and the medians of steps/s are reported with the ratio to the plain loops.

    python benchmarks/throughput.py --backend jax --batch-sizes 64 256
    python benchmarks/throughput.py --backend tensorflow --policy mixed_bfloat16
    python benchmarks/throughput.py --backend tensorflow --batch-sizes 64 --onednn-opts 0 1
    python benchmarks/throughput.py --backend jax --model stylegan2 --image-size 32

`--model stylegan2` times `gb.models.StyleGAN2.fit` with its own `compile()`
defaults (lazy R1 every 16, path length every 4, style mixing, EMA) on
`gb.architectures.stylegan2_generator`/`stylegan2_discriminator` of
`--stylegan2-preset` (default "small"), once per modulated-convolution
implementation: scaled activations (the default) and `fused_modconv=True`
(grouped per-sample kernels). There is no plain loop of that math on these
backends to compare with (NVlabs' is PyTorch with CUDA kernels), so only
steps/s and images/s are reported. Every 16th step runs the lazy R1 and every
4th the path-length term: time a multiple of 16 steps (`--steps 16`).

On TensorFlow the header gives the oneDNN state (`TF_ENABLE_ONEDNN_OPTS`, or
TensorFlow's own choice for the CPU) and the table what `jit_compile="auto"`
resolved to; `GAN.fit` also runs with `jit_compile=True` and with `False`.
`--onednn-opts 0 1` runs the whole TensorFlow benchmark once per value, each
in a subprocess started with `TF_ENABLE_ONEDNN_OPTS` set (TensorFlow reads it
once, at import), and ends with a table of both side by side.

Memory: "peak RSS" is the highest resident set size of the whole process
sampled every 2 ms during that variant's timed runs (it includes every model
built in the process, the framework runtime and the data); "+RSS" is that peak
minus the RSS just before the run, i.e. the working memory a training step
needs on top of what is already allocated.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BACKENDS = ("tensorflow", "jax", "torch")
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, required=True)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=30, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant")
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--policy", choices=POLICIES, default="float32")
    parser.add_argument("--model", choices=("dcgan", "stylegan2"), default="dcgan")
    parser.add_argument("--stylegan2-preset", default="small")
    parser.add_argument("--image-size", type=int, default=None, help="default: 28 (DCGAN), 32")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        help="subset of the variant names to run (default: all of the backend's)",
    )
    parser.add_argument(
        "--stock-conv-transpose",
        action="store_true",
        help="route every gb.layers.Conv2DTranspose of both players (in every variant) through "
        "keras.ops.conv_transpose and the backend's own gradient (slow on JAX's XLA:CPU)",
    )
    parser.add_argument(
        "--gan-kwargs",
        default="",
        help="extra GAN.compile kwargs as key=value,... (e.g. steps_per_execution=4)",
    )
    parser.add_argument(
        "--onednn-opts",
        nargs="+",
        choices=("0", "1"),
        default=None,
        help="TensorFlow only: run the benchmark once per TF_ENABLE_ONEDNN_OPTS value, each in "
        "a subprocess, and compare them side by side",
    )
    parser.add_argument(
        "--small-batch",
        action="store_true",
        help="the per-step-overhead setting: examples/dcgan.py's model (latent 64, filters 32), "
        "batch 4, 300 steps per run (explicit options still override these)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="torch: also profile one run of GAN.fit (eager and jit_compile=True) and of the "
        "plain torch.nn loop with cProfile and print where a step's time goes",
    )
    parser.add_argument("--json-out", default=None, help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--small-batch" in argv:
        parser.set_defaults(batch_sizes=[4], latent_dim=64, filters=32, steps=300)
    args = parser.parse_args(argv)
    if args.image_size is None:
        args.image_size = 32 if args.model == "stylegan2" else 28
    return args


# ------------------------------------------------------------------ machine info
def cpu_model():
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def current_rss_mib():
    try:
        with open("/proc/self/statm") as file:
            pages = int(file.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples the process RSS in a thread; `peak` is the maximum seen."""

    def __init__(self, interval=0.002):
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()

    def __enter__(self):
        self.start = current_rss_mib()
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, current_rss_mib())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_mib())


def onednn_state():
    """TensorFlow's oneDNN state and where it comes from, as one line."""
    from gan_blocks.trainers.tensorflow import onednn_enabled

    variable = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    source = (
        f"TF_ENABLE_ONEDNN_OPTS={variable}"
        if variable is not None
        else "TF_ENABLE_ONEDNN_OPTS unset: TensorFlow's choice for this CPU"
    )
    return f"{'on' if onednn_enabled() else 'off'} ({source})"


def versions(backend):
    import keras
    import numpy as np

    import gan_blocks as gb

    items = [
        f"keras {keras.__version__}",
        f"gan-blocks {gb.__version__}",
        f"numpy {np.__version__}",
    ]
    if backend == "tensorflow":
        import tensorflow as tf

        items.append(f"tensorflow {tf.__version__}")
    elif backend == "jax":
        import jax
        import jaxlib

        items.append(f"jax {jax.__version__} (jaxlib {jaxlib.__version__})")
    else:
        import torch

        items.append(f"torch {torch.__version__}")
    return ", ".join(items)


# ------------------------------------------------------------------------ models
def build_models(args, seed, fused_modconv=False):
    import keras

    import gan_blocks as gb

    keras.utils.set_random_seed(seed)
    if args.model == "stylegan2":
        size, channels, preset = args.image_size, args.channels, args.stylegan2_preset
        generator = gb.architectures.stylegan2_generator(
            size, channels, preset=preset, fused_modconv=fused_modconv
        )
        discriminator = gb.architectures.stylegan2_discriminator(size, channels, preset=preset)
        return generator, discriminator
    image_shape = (args.image_size, args.image_size, args.channels)
    generator = gb.architectures.dcgan_generator(args.latent_dim, image_shape, filters=args.filters)
    discriminator = gb.architectures.dcgan_discriminator(image_shape, filters=args.filters)
    if getattr(args, "stock_conv_transpose", False):
        for model in (generator, discriminator):
            use_stock_conv_transpose(model)
    return generator, discriminator


def use_stock_conv_transpose(model):
    """Routes `gb.layers.Conv2DTranspose` through `keras.ops.conv_transpose`'s own gradient."""
    import keras

    import gan_blocks as gb

    for layer in model._flatten_layers():
        if type(layer) is gb.layers.Conv2DTranspose:
            layer.__class__ = keras.layers.Conv2DTranspose


def adam():
    import keras

    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


def player_optimizer(policy):
    import keras

    optimizer = adam()
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def d_loss_math(ops, real_logits, fake_logits):
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def g_loss_math(ops, fake_logits):
    return ops.mean(ops.softplus(-ops.cast(fake_logits, "float32")))


def parse_kwargs(text):
    kwargs = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=", 1)
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        else:
            value = {"True": True, "False": False}.get(value, value)
        kwargs[key] = value
    return kwargs


# ---------------------------------------------------------------------- runners
class Runner:
    """One way of training.

    `run(data)` trains one pass over `data` and returns `(seconds, losses)`, where
    the seconds cover every step but the first (timing starts once it finished).
    """

    name = ""

    def warmup(self, data):
        return self.run(data)


class GanBlocksFit(Runner):
    def __init__(
        self, args, batch_size, name="gan-blocks fit", fused_modconv=False, **compile_kwargs
    ):
        import keras

        import gan_blocks as gb
        from gan_blocks.trainers import resolve_auto_jit_compile

        self.name = name
        self.batch_size = batch_size
        generator, discriminator = build_models(args, seed=1, fused_modconv=fused_modconv)
        if args.model == "stylegan2":
            self.gan = gb.models.StyleGAN2(generator, discriminator, seed=0)
            self.gan.compile(**compile_kwargs)  # the StyleGAN2 recipe
        else:
            self.gan = gb.models.GAN(generator, discriminator, latent_dim=args.latent_dim, seed=0)
            self.gan.compile(adam(), adam(), **compile_kwargs)
        fit_name = type(self.gan).__name__ + ".fit"
        if fused_modconv:
            fit_name += " (fused_modconv=True)"
        self.describe = f"{fit_name}, jit_compile={self.gan.jit_compile}"
        if "jit_compile" not in compile_kwargs:
            # What "auto" chose, and what gan-blocks' rule says it stands for.
            self.auto_rule = resolve_auto_jit_compile(
                self.gan, compile_kwargs.get("run_eagerly", False)
            )
            self.describe = f"{fit_name}, jit_compile='auto' -> {self.gan.jit_compile}"
            if self.gan.jit_compile != self.auto_rule:
                self.describe += f" (NOT the rule's {self.auto_rule})"
        extra = {k: v for k, v in compile_kwargs.items() if k != "jit_compile"}
        if extra:
            self.describe += ", " + ", ".join(f"{k}={v}" for k, v in extra.items())

        runner = self

        class StepTimer(keras.callbacks.Callback):
            # Starts when the second batch begins (the first one has finished:
            # the NaN guard reads its logs) and stops at the end of the epoch
            # (its logs are read back, so every step has finished).
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 1:
                    runner.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                runner.stop = time.perf_counter()

        self.timer = StepTimer()

    def run(self, data):
        start = time.perf_counter()
        history = self.gan.fit(
            data,
            batch_size=self.batch_size,
            epochs=1,
            verbose=0,
            shuffle=False,
            callbacks=[self.timer],
        )
        self.fit_seconds = time.perf_counter() - start
        losses = history.history["d_loss"][-1], history.history["g_loss"][-1]
        return self.stop - self.start, losses


class TensorFlowLoop(Runner):
    """The tensorflow.org / keras.io DCGAN loop: two tapes in a `tf.function`."""

    def __init__(self, args, batch_size, jit_compile):
        import keras
        import tensorflow as tf
        from keras import ops

        self.name = "plain tf.function" + (" (XLA)" if jit_compile else "")
        self.describe = f"tf.function(jit_compile={jit_compile})"
        self.batch_size = batch_size
        generator, discriminator = build_models(args, seed=1)
        g_opt, d_opt = player_optimizer(args.policy), player_optimizer(args.policy)
        g_opt.build(generator.trainable_variables)
        d_opt.build(discriminator.trainable_variables)
        seed = keras.random.SeedGenerator(0)
        latent_dim = args.latent_dim
        d_loss_tracker = keras.metrics.Mean()
        g_loss_tracker = keras.metrics.Mean()
        self.trackers = (d_loss_tracker, g_loss_tracker)

        @tf.function(jit_compile=jit_compile)
        def train_step(real_images):
            batch = tf.shape(real_images)[0]
            latents = keras.random.normal((batch, latent_dim), seed=seed)
            with tf.GradientTape() as tape:
                fake_images = tf.stop_gradient(generator(latents, training=True))
                real_logits = discriminator(real_images, training=True)
                fake_logits = discriminator(fake_images, training=True)
                d_loss = d_loss_math(ops, real_logits, fake_logits)
                scaled = d_opt.scale_loss(d_loss)
            grads = tape.gradient(scaled, discriminator.trainable_variables)
            d_opt.apply(grads, discriminator.trainable_variables)
            latents = keras.random.normal((batch, latent_dim), seed=seed)
            with tf.GradientTape() as tape:
                fake_logits = discriminator(generator(latents, training=True), training=True)
                g_loss = g_loss_math(ops, fake_logits)
                scaled = g_opt.scale_loss(g_loss)
            grads = tape.gradient(scaled, generator.trainable_variables)
            g_opt.apply(grads, generator.trainable_variables)
            d_loss_tracker.update_state(d_loss)
            g_loss_tracker.update_state(g_loss)
            return d_loss, g_loss

        self.train_step = train_step

    def run(self, data):
        import tensorflow as tf

        for tracker in self.trackers:
            tracker.reset_state()
        dataset = tf.data.Dataset.from_tensor_slices(data).batch(self.batch_size)
        start = None
        for batch in dataset:
            d_loss, _ = self.train_step(batch)
            if start is None:
                d_loss.numpy()
                start = time.perf_counter()
        losses = tuple(float(t.result()) for t in self.trackers)
        return time.perf_counter() - start, losses


class JaxLoop(Runner):
    """A jitted stateless step for both players, as in the Keras JAX guides."""

    def __init__(self, args, batch_size):
        import jax
        import keras
        from keras import ops

        self.name = "plain jax.jit"
        self.describe = "jax.jit(stateless_call + value_and_grad + stateless_apply, donate)"
        self.batch_size = batch_size
        generator, discriminator = build_models(args, seed=1)
        g_opt, d_opt = player_optimizer(args.policy), player_optimizer(args.policy)
        g_opt.build(generator.trainable_variables)
        d_opt.build(discriminator.trainable_variables)
        latent_dim = args.latent_dim

        def d_objective(d_tv, d_ntv, g_tv, g_ntv, real_images, key):
            latents = jax.random.normal(key, (real_images.shape[0], latent_dim))
            fake_images, g_ntv = generator.stateless_call(g_tv, g_ntv, latents, training=True)
            fake_images = jax.lax.stop_gradient(fake_images)
            real_logits, d_ntv = discriminator.stateless_call(
                d_tv, d_ntv, real_images, training=True
            )
            fake_logits, d_ntv = discriminator.stateless_call(
                d_tv, d_ntv, fake_images, training=True
            )
            loss = d_loss_math(ops, real_logits, fake_logits)
            return d_opt.scale_loss(loss), (loss, d_ntv, g_ntv)

        def g_objective(g_tv, g_ntv, d_tv, d_ntv, key, batch):
            latents = jax.random.normal(key, (batch, latent_dim))
            fake_images, g_ntv = generator.stateless_call(g_tv, g_ntv, latents, training=True)
            fake_logits, d_ntv = discriminator.stateless_call(
                d_tv, d_ntv, fake_images, training=True
            )
            loss = g_loss_math(ops, fake_logits)
            return g_opt.scale_loss(loss), (loss, g_ntv, d_ntv)

        d_grad = jax.value_and_grad(d_objective, has_aux=True)
        g_grad = jax.value_and_grad(g_objective, has_aux=True)

        def train_step(state, real_images):
            g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov, key = state
            key, d_key, g_key = jax.random.split(key, 3)
            (_, (d_loss, d_ntv, g_ntv)), grads = d_grad(
                d_tv, d_ntv, g_tv, g_ntv, real_images, d_key
            )
            d_tv, d_ov = d_opt.stateless_apply(d_ov, grads, d_tv)
            (_, (g_loss, g_ntv, d_ntv)), grads = g_grad(
                g_tv, g_ntv, d_tv, d_ntv, g_key, real_images.shape[0]
            )
            g_tv, g_ov = g_opt.stateless_apply(g_ov, grads, g_tv)
            return (g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov, key), (d_loss, g_loss)

        self.train_step = jax.jit(train_step, donate_argnums=0)
        self.state = (
            [v.value for v in generator.trainable_variables],
            [v.value for v in generator.non_trainable_variables],
            [v.value for v in discriminator.trainable_variables],
            [v.value for v in discriminator.non_trainable_variables],
            [v.value for v in g_opt.variables],
            [v.value for v in d_opt.variables],
            jax.random.key(0),
        )
        del keras

    def run(self, data):
        import jax
        import numpy as np

        losses, start = [], None
        for index in range(0, len(data), self.batch_size):
            batch = data[index : index + self.batch_size]
            self.state, step_losses = self.train_step(self.state, batch)
            losses.append(step_losses)
            if start is None:
                jax.block_until_ready(self.state)
                start = time.perf_counter()
        jax.block_until_ready((self.state, losses))
        elapsed = time.perf_counter() - start
        return elapsed, tuple(float(np.mean([loss[i] for loss in losses])) for i in (0, 1))


def synchronize(torch):
    """Waits for the GPU's queued work (CPU torch runs synchronously)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class TorchLoop(Runner):
    """An eager torch loop over Keras models: backward(), then optimizer.apply."""

    def __init__(self, args, batch_size):
        import torch
        from keras import ops

        self.name = "plain torch loop (Keras layers)"
        self.describe = "eager: backward() + optimizer.apply under no_grad"
        self.batch_size = batch_size
        self.latent_dim = args.latent_dim
        self.generator, self.discriminator = build_models(args, seed=1)
        self.g_opt, self.d_opt = player_optimizer(args.policy), player_optimizer(args.policy)
        self.g_opt.build(self.generator.trainable_variables)
        self.d_opt.build(self.discriminator.trainable_variables)
        self.torch = torch
        self.ops = ops
        self.device = "cuda" if torch.cuda.is_available() else "cpu"  # Keras' choice too.
        self.generator_generator = torch.Generator(self.device).manual_seed(0)

    def _step(self, real_images):
        torch, ops = self.torch, self.ops
        g, d = self.generator, self.discriminator
        batch = real_images.shape[0]
        latents = torch.randn(
            batch, self.latent_dim, generator=self.generator_generator, device=self.device
        )
        with torch.no_grad():
            fake_images = g(latents, training=True)
        real_logits = d(real_images, training=True)
        fake_logits = d(fake_images, training=True)
        d_loss = d_loss_math(ops, real_logits, fake_logits)
        self._update(d_loss, self.d_opt, d.trainable_variables)
        latents = torch.randn(
            batch, self.latent_dim, generator=self.generator_generator, device=self.device
        )
        g_loss = g_loss_math(ops, d(g(latents, training=True), training=True))
        self._update(g_loss, self.g_opt, g.trainable_variables)
        return d_loss.detach(), g_loss.detach()

    def _update(self, loss, optimizer, variables):
        # Zero both players' gradients: the generator's loss also reaches the
        # discriminator's weights.
        self.generator.zero_grad(set_to_none=True)
        self.discriminator.zero_grad(set_to_none=True)
        optimizer.scale_loss(loss).backward()
        with self.torch.no_grad():
            optimizer.apply([v.value.grad for v in variables], variables)

    def _images(self, data):
        return self.torch.from_numpy(data)

    def run(self, data):
        torch = self.torch
        tensor = self._images(data)
        losses, start = [], None
        for index in range(0, len(data), self.batch_size):
            losses.append(self._step(tensor[index : index + self.batch_size]))
            if start is None:
                synchronize(torch)
                start = time.perf_counter()
        synchronize(torch)
        elapsed = time.perf_counter() - start
        return elapsed, tuple(
            float(torch.stack([loss[i] for loss in losses]).mean()) for i in (0, 1)
        )


class TorchModuleLoop(TorchLoop):
    """What a PyTorch user writes by hand: `torch.nn` modules, `torch.optim.Adam`.

    The DCGAN of `gb.architectures` (same layers, widths, kernels and
    strides) in channels-first `torch.nn`, trained eagerly with the same math;
    the optimizers use torch's default multi-tensor (`foreach`) Adam.
    """

    def __init__(self, args, batch_size):
        import torch

        from gan_blocks.architectures.dcgan import _base_size

        self.name = "plain torch.nn loop"
        self.describe = "eager torch.nn modules, torch.optim.Adam (foreach)"
        self.batch_size = batch_size
        self.latent_dim = args.latent_dim
        self.torch = torch
        nn = torch.nn
        torch.manual_seed(1)
        base, doublings = _base_size((args.image_size, args.image_size, args.channels))
        hidden = doublings - 1
        width = args.filters * 2**hidden
        layers = [
            nn.Linear(args.latent_dim, base * base * width, bias=False),
            nn.BatchNorm1d(base * base * width),
            nn.ReLU(),
            nn.Unflatten(1, (width, base, base)),
        ]
        channels = width
        for index in range(hidden):
            filters = args.filters * 2 ** (hidden - 1 - index)
            layers += [
                nn.ConvTranspose2d(channels, filters, 4, 2, 1, bias=False),
                nn.BatchNorm2d(filters),
                nn.ReLU(),
            ]
            channels = filters
        layers += [nn.ConvTranspose2d(channels, args.channels, 4, 2, 1), nn.Tanh()]
        self.generator = nn.Sequential(*layers)
        layers, channels = [], args.channels
        for index in range(doublings):
            filters = args.filters * 2**index
            layers.append(nn.Conv2d(channels, filters, 4, 2, 1, bias=index == 0))
            if index > 0:
                layers.append(nn.BatchNorm2d(filters))
            layers.append(nn.LeakyReLU(0.2))
            channels = filters
        side = args.image_size // 2**doublings
        layers += [nn.Flatten(), nn.Linear(channels * side * side, 1)]
        self.discriminator = nn.Sequential(*layers)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.generator.to(self.device)
        self.discriminator.to(self.device)
        self.g_opt = torch.optim.Adam(self.generator.parameters(), 2e-4, betas=(0.5, 0.999))
        self.d_opt = torch.optim.Adam(self.discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
        self.random = torch.Generator(self.device).manual_seed(0)

    def _latents(self, batch):
        return self.torch.randn(batch, self.latent_dim, generator=self.random, device=self.device)

    def _step(self, real_images):
        torch = self.torch
        softplus = torch.nn.functional.softplus
        batch = real_images.shape[0]
        # Images come from host memory every step, as `fit` feeds them.
        real_images = real_images.to(self.device, non_blocking=True)
        latents = self._latents(batch)
        with torch.no_grad():
            fake_images = self.generator(latents)
        self.d_opt.zero_grad(set_to_none=True)
        d_loss = (
            softplus(-self.discriminator(real_images)).mean()
            + softplus(self.discriminator(fake_images)).mean()
        )
        d_loss.backward()
        self.d_opt.step()
        latents = self._latents(batch)
        self.g_opt.zero_grad(set_to_none=True)
        g_loss = softplus(-self.discriminator(self.generator(latents))).mean()
        g_loss.backward()
        self.g_opt.step()
        return d_loss.detach(), g_loss.detach()

    def _images(self, data):
        return self.torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()


def make_runners(args, batch_size):
    compile_kwargs = parse_kwargs(args.gan_kwargs)
    if args.model == "stylegan2":
        # The two modulated-convolution implementations, side by side.
        runners = [
            GanBlocksFit(args, batch_size, name="gan-blocks fit (default)", **compile_kwargs),
            GanBlocksFit(
                args,
                batch_size,
                name="gan-blocks fit (fused_modconv)",
                fused_modconv=True,
                **compile_kwargs,
            ),
        ]
        if args.variants:
            runners = [r for r in runners if r.name in args.variants]
        return runners
    runners = [GanBlocksFit(args, batch_size, name="gan-blocks fit (default)", **compile_kwargs)]
    if args.backend == "tensorflow" and "jit_compile" not in compile_kwargs:
        # Both XLA settings explicitly: one of them repeats the default (a
        # measure of the noise), the other is the alternative "auto" rejected.
        for jit_compile in (True, False):
            runners.append(
                GanBlocksFit(
                    args,
                    batch_size,
                    name=f"gan-blocks fit (jit_compile={jit_compile})",
                    jit_compile=jit_compile,
                    **compile_kwargs,
                )
            )
    if args.backend == "tensorflow":
        runners += [
            TensorFlowLoop(args, batch_size, jit_compile=False),
            TensorFlowLoop(args, batch_size, jit_compile=True),
        ]
    elif args.backend == "jax":
        runners.append(JaxLoop(args, batch_size))
    else:
        if "jit_compile" not in compile_kwargs:
            runners.append(
                GanBlocksFit(
                    args,
                    batch_size,
                    name="gan-blocks fit (jit_compile=True)",
                    jit_compile=True,
                    **compile_kwargs,
                )
            )
        runners += [TorchLoop(args, batch_size), TorchModuleLoop(args, batch_size)]
    if args.variants:
        runners = [r for r in runners if r.name in args.variants]
    return runners


# ----------------------------------------------------------------------- timing
def benchmark(args, batch_size):
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (args.image_size, args.image_size, args.channels)
    # One extra batch: timing starts once the first step has finished.
    data = rng.uniform(-1, 1, ((args.steps + 1) * batch_size,) + shape).astype("float32")
    warm = data[: (args.warmup_steps + 1) * batch_size]
    runners = make_runners(args, batch_size)
    results = {
        r.name: {"times": [], "peak": 0.0, "extra": 0.0, "losses": None, "finite": True}
        for r in runners
    }
    for runner in runners:
        start = time.perf_counter()
        runner.warmup(warm)
        results[runner.name]["warmup_s"] = time.perf_counter() - start
    for repeat in range(args.repeats):
        # Rotate the order so no variant always runs first after a pause.
        order = runners[repeat % len(runners) :] + runners[: repeat % len(runners)]
        for runner in order:
            with RssSampler() as sampler:
                elapsed, losses = runner.run(data)
            result = results[runner.name]
            result["times"].append(elapsed)
            result["peak"] = max(result["peak"], sampler.peak)
            result["extra"] = max(result["extra"], sampler.peak - sampler.start)
            result["losses"] = losses
            result["finite"] = result["finite"] and all(math.isfinite(x) for x in losses)
    rows = []
    for runner in runners:
        result = results[runner.name]
        rates = [args.steps / t for t in result["times"]]
        rows.append(
            {
                "name": runner.name,
                "describe": runner.describe,
                "rates": rates,
                "median": statistics.median(rates),
                "min": min(rates),
                "max": max(rates),
                "peak": result["peak"],
                "extra": result["extra"],
                "warmup_s": result["warmup_s"],
                "losses": result["losses"],
                "finite": result["finite"],
                "auto_rule": getattr(runner, "auto_rule", None),
                "jit_compile": getattr(getattr(runner, "gan", None), "jit_compile", None),
            }
        )
    return rows


def profile_torch(args, batch_size):
    """Where one timed run's time goes, in ms per step, from cProfile."""
    import cProfile
    import pstats

    import numpy as np

    steps = args.steps
    data = (
        np.random.default_rng(0)
        .uniform(-1, 1, ((steps + 1) * batch_size, args.image_size, args.image_size, args.channels))
        .astype("float32")
    )
    runners = [
        GanBlocksFit(args, batch_size, name="gan-blocks fit (default)"),
        GanBlocksFit(args, batch_size, name="gan-blocks fit (jit_compile=True)", jit_compile=True),
        TorchModuleLoop(args, batch_size),
    ]
    parts = {}
    for runner in runners:
        runner.warmup(data[: (args.warmup_steps + 1) * batch_size])
        profiler = cProfile.Profile()
        profiler.enable()
        runner.run(data)
        profiler.disable()
        parts[runner.name] = profile_parts(pstats.Stats(profiler).stats, steps + 1)
    names = list(parts)
    print(f"\n### Profile (cProfile, batch {batch_size}, ms per step; profiling slows Python)\n")
    print("| part | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for part in next(iter(parts.values())):
        cells = [parts[name].get(part) for name in names]
        print(f"| {part} | " + " | ".join("-" if c is None else f"{c:.2f}" for c in cells) + " |")


def profile_parts(stats, steps):
    """Sums cProfile entries into the parts of a training step (ms per step)."""

    def cumulative(predicate):
        return 1000 * sum(v[3] for k, v in stats.items() if predicate(k)) / steps

    def own(predicate):
        return 1000 * sum(v[2] for k, v in stats.items() if predicate(k)) / steps

    def is_torch_builtin(key):
        filename, _, name = key
        return filename == "~" and (
            "torch" in name or "_C." in name or "_VariableFunctions" in name
        )

    total = 1000 * max(v[3] for v in stats.values()) / steps
    backward = own(lambda k: "run_backward" in k[2])
    torch_ops = own(is_torch_builtin) - backward
    step = cumulative(lambda k: k[2] == "one_step_on_data")
    if not step:  # The plain loop.
        step = cumulative(lambda k: k[2] == "_step" and k[0].endswith("throughput.py"))
    objectives = cumulative(lambda k: k[2] == "objective" and "adversarial_model" in k[0])
    optimizer = cumulative(lambda k: k[2] == "apply" and k[0].endswith("base_optimizer.py"))
    optimizer += cumulative(lambda k: k[2] == "step" and k[0].endswith(("adam.py", "optimizer.py")))
    return {
        "whole run (incl. fit's loop, callbacks, data)": total,
        "train step": step,
        "  forward + losses (Keras layers / torch.nn)": objectives or None,
        "  backward (autograd engine)": backward,
        "  optimizer updates": optimizer,
        "torch kernels called from Python (forward, optimizer; all parts)": torch_ops,
        "outside the step (fit loop, callbacks, data)": total - step,
    }


def paired_ratio(row, reference):
    """Median over repeats of the ratio of two variants' rates in the same round."""
    return statistics.median(a / b for a, b in zip(row["rates"], reference["rates"]))


def strip_onednn_opts(argv):
    """`argv` without `--onednn-opts` and its values."""
    stripped, skipping = [], False
    for token in argv:
        if token == "--onednn-opts":
            skipping = True
        elif skipping and token in ("0", "1"):
            continue
        else:
            skipping = False
            stripped.append(token)
    return stripped


def compare_onednn(args, argv):
    """Runs the benchmark per TF_ENABLE_ONEDNN_OPTS value in subprocesses; one table."""
    if args.backend != "tensorflow":
        sys.exit("--onednn-opts applies to --backend tensorflow only")
    child_argv = strip_onednn_opts(argv)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for value in args.onednn_opts:
            path = os.path.join(folder, f"onednn{value}.json")
            environment = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=value)
            command = [sys.executable, os.path.abspath(__file__), *child_argv, "--json-out", path]
            print(f"\n# TF_ENABLE_ONEDNN_OPTS={value}\n", flush=True)
            subprocess.run(command, env=environment, check=True)
            with open(path) as file:
                results[value] = json.load(file)
    print("\n## Side by side (each column from its own process)\n")
    header = "| batch | variant |"
    rule = "|---|---|"
    for value in args.onednn_opts:
        state = results[value]["onednn"]
        header += (
            f" oneDNN {state} (={value}): steps/s (min-max) | vs keras.io | vs fit jit=True "
            "| vs fit jit=False |"
        )
        rule += "---|---|---|---|"
    print(header)
    print(rule)
    first = results[args.onednn_opts[0]]
    for batch_size in args.batch_sizes:
        names = [row["name"] for row in first["rows"][str(batch_size)]]
        for name in names:
            line = f"| {batch_size} | {name} |"
            for value in args.onednn_opts:
                rows = {row["name"]: row for row in results[value]["rows"][str(batch_size)]}
                row = rows.get(name)
                if row is None:
                    line += " - | - | - | - |"
                    continue
                auto = "" if row["auto_rule"] is None else f" (auto -> {row['jit_compile']})"
                line += f" {row['median']:.2f} ({row['min']:.2f}-{row['max']:.2f}){auto} |"
                for reference in (
                    "plain tf.function",
                    "gan-blocks fit (jit_compile=True)",
                    "gan-blocks fit (jit_compile=False)",
                ):
                    other = rows.get(reference)
                    line += f" {paired_ratio(row, other):.2f}x |" if other else " - |"
            print(line, flush=True)
    print(
        "\nvs keras.io (plain tf.function) / vs fit jit=True / vs fit jit=False: median over "
        "rounds of the paired ratio within one process (interleaved runs)."
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.onednn_opts:
        return compare_onednn(args, argv)
    # The backend must be chosen before keras is imported.
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != args.backend:
        sys.exit(
            f"keras was already imported with backend {keras.backend.backend()!r}; "
            f"run this script in a fresh process."
        )
    keras.config.set_dtype_policy(args.policy)

    title = "DCGAN" if args.model == "dcgan" else f"StyleGAN2 ({args.stylegan2_preset!r} preset)"
    print(f"## {title} {args.image_size}x{args.image_size}x{args.channels} training throughput\n")
    print(f"- machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.system()}")
    print(f"- date: {datetime.datetime.now().isoformat(timespec='minutes')}")
    print(
        f"- backend: {args.backend}; {versions(args.backend)}; python {platform.python_version()}"
    )
    onednn = None
    if args.backend == "tensorflow":
        onednn = onednn_state()
        print(f"- TensorFlow oneDNN: {onednn}")
    if args.model == "dcgan":
        print(f"- dtype policy: {args.policy}; latent {args.latent_dim}; filters {args.filters}")
    else:
        print(f"- dtype policy: {args.policy}; StyleGAN2.compile() defaults")
    if args.stock_conv_transpose:
        print("- Conv2DTranspose layers use keras.ops.conv_transpose's own gradient (all variants)")
    print(
        f"- {args.steps} steps per timed run, {args.repeats} interleaved runs per variant, "
        f"{args.warmup_steps} warm-up steps (compilation) excluded"
    )
    print(f"- command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}\n")
    print(
        "| batch | variant | how | steps/s (median) | min-max | images/s | vs best plain "
        "| peak RSS MiB | +RSS MiB | warm-up s | last d_loss / g_loss | finite |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    all_rows = {}
    for batch_size in args.batch_sizes:
        rows = benchmark(args, batch_size)
        all_rows[str(batch_size)] = rows
        plain = [r for r in rows if r["name"].startswith("plain")]
        best = max(plain, key=lambda r: r["median"]) if plain else None
        for row in rows:
            ratio = f"{paired_ratio(row, best):.2f}x" if best else "-"
            d_loss, g_loss = row["losses"]
            print(
                f"| {batch_size} | {row['name']} | {row['describe']} | {row['median']:.2f} "
                f"| {row['min']:.2f}-{row['max']:.2f} | {row['median'] * batch_size:.0f} "
                f"| {ratio} | {row['peak']:.0f} | {row['extra']:.0f} | {row['warmup_s']:.1f} "
                f"| {d_loss:.3f} / {g_loss:.3f} | {'yes' if row['finite'] else 'NO'} |",
                flush=True,
            )
        keras_io = next((r for r in rows if r["name"] == "plain tf.function"), None)
        for row in rows:
            if keras_io is not None and not row["name"].startswith("plain"):
                print(
                    f"| {batch_size} | {row['name']} | vs keras.io style (tf.function, no XLA) "
                    f"| | | | {paired_ratio(row, keras_io):.2f}x | | | | | |",
                    flush=True,
                )
    print(
        "\nvs best plain: median over rounds of (variant steps/s) / (fastest plain loop's "
        "steps/s) in the same round."
    )
    for rows in all_rows.values():
        for row in rows:
            if row["auto_rule"] is not None:
                print(
                    f"- jit_compile='auto' resolved to {row['jit_compile']} "
                    f"(gan_blocks.trainers.resolve_auto_jit_compile: {row['auto_rule']})"
                )
                break
        break
    if args.profile and args.backend == "torch":
        profile_torch(args, args.batch_sizes[0])
    if args.json_out:
        with open(args.json_out, "w") as file:
            json.dump({"onednn": onednn.split()[0] if onednn else None, "rows": all_rows}, file)


if __name__ == "__main__":
    main()
