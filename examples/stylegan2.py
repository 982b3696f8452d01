"""StyleGAN2 with gan-blocks: the shipped handwritten digits, padded to 32x32.

Runs offline on the 10,000 real MNIST digits shipped in examples/data/mnist
(8,000 train, the rest held out), padded from 28x28 to 32x32 with the
background value, on whatever Keras backend is active
(KERAS_BACKEND=tensorflow|jax|torch). `gb.models.StyleGAN2.compile()` brings
StyleGAN2's recipe: non-saturating loss, lazy R1, the path-length regularizer,
style mixing, Adam(0, 0.99) and an EMA generator.

    python examples/stylegan2.py                    # the "small" preset, 2 epochs
    python examples/stylegan2.py --quick            # a smoke run (under a minute)
    python examples/stylegan2.py --augment ada      # StyleGAN2-ADA, for small data sets
    python examples/stylegan2.py --train-size 500 --augment ada --epochs 40

Writes to --output: samples/epoch_XXXX.png grids (during training),
metrics.csv, stylegan2.keras, and four pictures of the EMA generator:
stylegan2_samples.png (constant noise), stylegan2_style_mixing.png (coarse
styles from the left column's digits, fine styles from the top row's),
stylegan2_truncation.png (rows psi = 1, 0.7, 0.5, 0 of the same latents) and
stylegan2_projection.png (held-out digits over their projections into W).
"""

import argparse
import os


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    def _get_help_string(self, action):
        # A help text that states its default already does not get a second one.
        if "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED_MNIST = os.path.join(HERE, "data", "mnist")
PSIS = (1.0, 0.7, 0.5, 0.0)  # the truncation picture
PRESETS = ["tiny", "small", "cifar", "paper256", "auto"]  # gb.architectures.stylegan2_*


# Arguments first: `--help` answers before TensorFlow is imported.
parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
parser.add_argument(
    "--data-dir", default=SHIPPED_MNIST, help="folder of MNIST-format IDX files (shipped)"
)
parser.add_argument(
    "--preset",
    default="small",
    choices=PRESETS,
    help="network widths (see docs/tutorials/stylegan2.md); tiny and small train on a CPU",
)
parser.add_argument(
    "--train-size",
    type=positive(int),
    default=8000,
    help="train on the first N images; the next ones are held out for the projection",
)
parser.add_argument("--epochs", type=positive(int), default=2, help="passes over the data")
parser.add_argument("--batch-size", type=positive(int), default=32, help="images per step")
parser.add_argument(
    "--augment",
    default="none",
    choices=["none", "ada", "diffaugment"],
    help="augment what the discriminator sees: ada is StyleGAN2-ADA, for small data sets",
)
parser.add_argument(
    "--projection-steps",
    type=int,
    default=argparse.SUPPRESS,
    help="optimization steps per projected digit; 0: no projection picture "
    "(default: 200; with --quick 8)",
)
parser.add_argument(
    "--output", default=None, help="folder (default runs/stylegan2, runs/stylegan2-quick)"
)
parser.add_argument(
    "--overwrite", action="store_true", help="replace a stylegan2.keras in --output"
)
parser.add_argument("--seed", type=int, default=0, help="seed of weights, latents and draws")
parser.add_argument(
    "--quick",
    action="store_true",
    help="smoke run: the tiny preset, 128 images, 8 steps (under a minute on 2 CPU cores)",
)
args = parser.parse_args()
if not os.path.exists(args.data_dir):
    parser.error(f"--data-dir {args.data_dir}: no such file or folder")
args.projection_steps = getattr(args, "projection_steps", 8 if args.quick else 200)
if args.projection_steps < 0:
    parser.error(f"--projection-steps must be >= 0, got {args.projection_steps}")
if args.quick:
    args.preset, args.train_size, args.batch_size, args.epochs = "tiny", 128, 16, 1
args.output = args.output or ("runs/stylegan2-quick" if args.quick else "runs/stylegan2")
checkpoint = os.path.join(args.output, "stylegan2.keras")
if os.path.exists(checkpoint) and not args.overwrite:
    parser.error(f"{checkpoint} exists: pass --overwrite, or another --output")

import time  # noqa: E402

import numpy as np  # noqa: E402

# TensorFlow prints C++ start-up lines (oneDNN, CUDA probes), some before it
# reads its log level: they are hidden while Keras imports, unless you set
# TF_CPP_MIN_LOG_LEVEL yourself (0 shows them). Python errors still show.
quiet = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
if quiet:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    stderr = os.dup(2)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
try:
    import keras

    import gan_blocks as gb

    keras.utils.set_random_seed(args.seed)  # also imports and seeds TensorFlow if installed
finally:
    if quiet:
        os.dup2(stderr, 2)


class TrainingCSVLogger(keras.callbacks.CSVLogger):
    """Keras' CSVLogger with the columns fit logs (no always-empty val_* ones)."""

    def on_epoch_end(self, epoch, logs=None):
        self.keys = self.keys or sorted(logs or {})
        super().on_epoch_end(epoch, logs)


def save_grid(name, images, columns):
    path = os.path.join(args.output, name)
    keras.utils.save_img(path, gb.callbacks.image_grid(images, columns=columns), scale=False)
    print(f"wrote {path}")


# ----------------------------------------------------------------------------- data
images = gb.data.load_mnist_idx(args.data_dir)  # (n, 28, 28, 1) in [-1, 1]
# StyleGAN2 doubles the resolution from 4x4: pad to 32x32 with the background (-1).
images = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)
if args.train_size >= len(images):
    parser.error(f"--train-size {args.train_size} leaves no held-out images of {len(images)}")
held_out = images[args.train_size :][: 4 if args.quick else 8]
images = images[: args.train_size]
resolution = images.shape[1]
print(f"data: {len(images)} training digits {images.shape[1:]} in [-1, 1]")

# ----------------------------------------------------------------------------- model
generator = gb.architectures.stylegan2_generator(resolution, channels=1, preset=args.preset)
discriminator = gb.architectures.stylegan2_discriminator(resolution, channels=1, preset=args.preset)
augmentation = {
    "none": None,
    "diffaugment": gb.layers.DiffAugment(seed=args.seed),
    "ada": gb.layers.AdaptiveAugment(seed=args.seed),
}[args.augment]
model = gb.models.StyleGAN2(generator, discriminator, augmentation=augmentation, seed=args.seed)
model.compile()  # StyleGAN2's recipe: lazy R1, path length, Adam(0, 0.99)
print(
    f"preset {args.preset}: generator {generator.count_params():,} / discriminator "
    f"{discriminator.count_params():,} parameters, {model.num_ws} styles"
)

# ----------------------------------------------------------------------------- train
os.makedirs(args.output, exist_ok=True)
callbacks = [
    gb.callbacks.SampleGrid(
        os.path.join(args.output, "samples"),
        num_samples=64,
        every_n_epochs=max(1, args.epochs // 5),
    ),
    TrainingCSVLogger(os.path.join(args.output, "metrics.csv")),
]
start = time.time()
model.fit(images, batch_size=args.batch_size, epochs=args.epochs, callbacks=callbacks, verbose=2)
print(f"trained {args.epochs} epochs in {time.time() - start:.0f} s on {keras.backend.backend()}")

# ----------------------------------------------------------------------------- save
model.save(checkpoint)
restored = keras.models.load_model(checkpoint)
# All pictures come from the EMA generator with constant noise: deterministic images.
samples = model.generate(64, seed=args.seed, noise_mode="const")
assert np.allclose(restored.generate(64, seed=args.seed, noise_mode="const"), samples, atol=1e-5)
print(f"saved {checkpoint}; samples in {os.path.join(args.output, 'samples')}")

# ----------------------------------------------------------------------------- pictures
save_grid("stylegan2_samples.png", samples, 8)
rng = np.random.default_rng(args.seed)
mapping = model.mapping_network(use_ema=True)  # z -> W (batch, num_ws, w_dim)
synthesis = model.synthesis_network(use_ema=True)  # W -> images
for layer in synthesis.layers:
    if isinstance(layer, gb.layers.NoiseInjection):
        layer.noise_mode = "const"


def styles(count):
    z = rng.normal(size=(count, model.latent_dim)).astype("float32")
    return keras.ops.convert_to_numpy(mapping(z, training=False))


def synthesize(ws, batch_size=32):
    # Batches of one shape, as `generate`'s: eager JAX compiles each operation
    # once per shape, so a new batch size costs seconds on a CPU.
    padding = np.repeat(ws[-1:], -len(ws) % batch_size, axis=0)
    batches = np.concatenate([ws, padding])
    return model.predict_in_batches(lambda w: synthesis(w, training=False), batches, batch_size)[
        : len(ws)
    ]


# Style mixing: the first half of the W rows (the coarse styles: 4x4 and 8x8)
# from the row sources, the rest (the fine styles) from the column sources.
rows, columns = 5, 6
row_ws, column_ws = styles(rows), styles(columns)
coarse = model.num_ws // 2
mixed_ws = np.concatenate(
    [
        np.repeat(row_ws[:, None, :coarse], columns, axis=1),
        np.repeat(column_ws[None, :, coarse:], rows, axis=0),
    ],
    axis=2,
).reshape((rows * columns, model.num_ws, -1))
pictures = synthesize(np.concatenate([column_ws, row_ws, mixed_ws]))
column_images, row_images = pictures[:columns], pictures[columns : columns + rows]
mixed_images = pictures[columns + rows :].reshape((rows, columns) + images.shape[1:])
blank = np.ones((1,) + images.shape[1:], "float32")  # a white corner
grid = [blank, column_images]
for row in range(rows):
    grid += [row_images[row : row + 1], mixed_images[row]]
save_grid("stylegan2_style_mixing.png", np.concatenate(grid), columns + 1)

# Truncation: the same latents pulled towards the average w, one row per psi
# (what `model.generate(latents=z, truncation_psi=psi)` does, here in one batch).
sweep_ws = styles(8)
truncated = [keras.ops.convert_to_numpy(mapping.truncate(sweep_ws, psi)) for psi in PSIS]
save_grid("stylegan2_truncation.png", synthesize(np.concatenate(truncated)), 8)

# Projection: held-out digits (never trained on) over the generator's closest
# images, found by optimising w (all at once: the digits share the noise images).
if args.projection_steps:
    if not hasattr(gb.latents, "project"):
        print(
            "no projection picture: this gan-blocks has no gb.latents.project "
            "(pass --projection-steps 0 to silence this)"
        )
    else:
        _, reconstructions = gb.latents.project(
            model, held_out, steps=args.projection_steps, batch_size=len(held_out)
        )
        save_grid(
            "stylegan2_projection.png",
            np.concatenate([held_out, reconstructions]),
            len(held_out),
        )
