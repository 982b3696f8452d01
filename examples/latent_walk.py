"""Latent-space tools on a trained GAN: slerp walks and DCGAN vector arithmetic.

    python examples/dcgan.py --output runs/dcgan
    python examples/latent_walk.py runs/dcgan/dcgan.keras --output runs/latent_walk.png

Each row of the picture walks, by spherical interpolation, between two random
latents; the last row shows DCGAN's arithmetic mean(A) - mean(B) + mean(C) on
three groups of random latents (the inputs' images, then the result's).
"""

import argparse

import keras
import numpy as np

import gan_blocks as gb

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
parser.add_argument("model", help="a saved gb.models.GAN (.keras)")
parser.add_argument("--output", default="latent_walk.png")
parser.add_argument("--rows", type=int, default=4)
parser.add_argument("--steps", type=int, default=8)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

gan = keras.models.load_model(args.model)
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
