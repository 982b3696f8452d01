"""Latent-space tools on a trained GAN: slerp walks and DCGAN vector arithmetic.

    python examples/dcgan.py --output runs/dcgan
    python examples/latent_walk.py runs/dcgan/dcgan.keras --output runs/latent_walk.png

Each row of the picture walks, by spherical interpolation, between two random
latents; the last row shows DCGAN's arithmetic mean(A) - mean(B) + mean(C) on
three groups of random latents (the inputs' images, then the result's).
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


# Arguments first: `--help` answers before TensorFlow is imported.
parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
parser.add_argument("model", help="a saved gb.models.GAN (.keras), e.g. runs/dcgan/dcgan.keras")
parser.add_argument("--output", default="latent_walk.png", help="PNG file to write")
parser.add_argument("--rows", type=positive(int), default=4, help="number of slerp walks")
parser.add_argument(
    "--steps", type=int, default=8, help="images per walk (>= 4: the arithmetic row needs 4)"
)
parser.add_argument("--seed", type=int, default=0, help="seed of the random latents")
args = parser.parse_args()
if args.steps < 4:
    parser.error(f"--steps must be >= 4 (A, B, C and the result share a row), got {args.steps}")
if not os.path.isfile(args.model):
    parser.error(f"no such file: {args.model} (train one with: python examples/dcgan.py)")
if not args.output.lower().endswith(".png"):
    parser.error(f"--output must name a .png file, got {args.output}")

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
finally:
    if quiet:
        os.dup2(stderr, 2)

gan = keras.models.load_model(args.model)
if not isinstance(gan, gb.models.GAN) or isinstance(gan, gb.models.ConditionalGAN):
    parser.error(
        f"{args.model} holds a {type(gan).__name__}; latent walks need a gb.models.GAN "
        "(an unconditional generator of latents)"
    )
rng = np.random.default_rng(args.seed)
shape = gan.latent_shape

# ----------------------------------------------------------------------------- slerp walks
walks = [
    gb.latents.interpolate(rng.normal(size=shape), rng.normal(size=shape), steps=args.steps)
    for _ in range(args.rows)
]
images = [gan.generate(latents=walk) for walk in walks]

# ----------------------------------------------------------------------------- arithmetic
groups = [rng.normal(size=(3,) + shape).astype("float32") for _ in range(3)]
result = gb.latents.latent_arithmetic(*groups)
row = [gan.generate(latents=group.mean(0, keepdims=True)) for group in groups]
row.append(gan.generate(latents=result))
row = np.concatenate(row, axis=0)
padding = np.full((args.steps - len(row),) + row.shape[1:], -1.0, "float32")
images.append(np.concatenate([row, padding], axis=0))

grid = gb.callbacks.image_grid(np.concatenate(images, axis=0), columns=args.steps)
keras.utils.save_img(args.output, grid, scale=False)
print(f"wrote {args.output}")
