"""The VAE builders' defaults against the keras.io VAE tutorial, on real MNIST.

Protocol (issue #13). Real MNIST from IDX files (`--data-dir`), pixels scaled
to [0, 1] (continuous, as in the tutorial): the first `--train-images` (8,000)
train, the other 2,000 are the test set. Both models are `gb.models.VAE`s with
the Bernoulli likelihood (the tutorial's summed binary cross-entropy) and the
same training: `Adam(1e-3)`, batch `--batch-size` (32, `fit`'s default),
`--epochs` (10), seed 0.

- `tutorial`: the keras.io "Variational AutoEncoder" networks (Conv 32/64
  stride 2, Dense 16, latent 2; Dense 7*7*64, ConvTranspose 64/32 stride 2).
- `builders`: `gb.architectures.vae_encoder((28, 28, 1))` and
  `vae_decoder(image_shape=(28, 28, 1))` with their default arguments.

Prints one JSON line per model: the test negative ELBO (nats, `evaluate`'s
`loss`, averaged over 5 passes), and on the first `--iw-images` test images
the negative ELBO and the importance-weighted negative log-likelihood
(`-vae.log_likelihood(images, num_samples=--iw-samples).mean()`), seconds
per epoch and the machine. The keras.io networks use `keras.layers.
Conv2DTranspose`, whose gradient is slow on JAX's CPU backend: time them on
TensorFlow.

    KERAS_BACKEND=jax python benchmarks/vae_quality.py --data-dir ../shared/data/mnist
"""

import argparse
import json
import os
import platform
import time

import keras
import numpy as np
from benchmark_utils import EpochTimer

import gan_blocks as gb

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--data-dir", default="examples/data/mnist", help="folder of MNIST IDX files")
parser.add_argument("--models", default="tutorial,builders")
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--train-images", type=int, default=8000)
parser.add_argument("--batch-size", type=int, default=32, help="fit's default")
parser.add_argument("--iw-samples", type=int, default=500, help="importance samples per image")
parser.add_argument("--iw-images", type=int, default=200, help="test images for the IW estimate")
parser.add_argument("--tutorial-latent-dim", type=int, default=2, help="the tutorial's: 2")
parser.add_argument("--builder-args", default="{}", help="JSON: extra builder arguments")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

images = gb.data.load_mnist_idx(args.data_dir).reshape(-1, 28, 28, 1)
images = ((images + 1.0) / 2.0).astype("float32")  # [-1, 1] -> [0, 1]
train, test = images[: args.train_images], images[args.train_images :]


def tutorial_networks(latent_dim=2):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(inputs)
    x = keras.layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    encoder = keras.Model(inputs, [z_mean, z_log_var], name="encoder")
    latents = keras.Input((latent_dim,))
    x = keras.layers.Dense(7 * 7 * 64, activation="relu")(latents)
    x = keras.layers.Reshape((7, 7, 64))(x)
    x = keras.layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = keras.layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    # Logits: the tutorial's sigmoid output moves into the Bernoulli likelihood.
    outputs = keras.layers.Conv2DTranspose(1, 3, padding="same")(x)
    return encoder, keras.Model(latents, outputs, name="decoder")


def builder_networks():
    extra = json.loads(args.builder_args)
    encoder_args = {k: v for k, v in extra.items() if k != "decoder_filters"}
    decoder_args = {"latent_dim": extra["latent_dim"]} if "latent_dim" in extra else {}
    if "decoder_filters" in extra:
        decoder_args["filters"] = extra["decoder_filters"]
    encoder = gb.architectures.vae_encoder((28, 28, 1), **encoder_args)
    decoder = gb.architectures.vae_decoder(image_shape=(28, 28, 1), **decoder_args)
    return encoder, decoder


for name in args.models.split(","):
    keras.utils.set_random_seed(args.seed)
    if name == "tutorial":
        encoder, decoder = tutorial_networks(args.tutorial_latent_dim)
    else:
        encoder, decoder = builder_networks()
    vae = gb.models.VAE(encoder, decoder, seed=args.seed)
    vae.compile(keras.optimizers.Adam(1e-3))
    timer = EpochTimer()
    vae.fit(train, batch_size=args.batch_size, epochs=args.epochs, callbacks=[timer], verbose=0)
    # The test ELBO is itself an estimate: average several passes of evaluate.
    losses = [
        vae.evaluate(test, batch_size=500, verbose=0, return_dict=True)["loss"] for _ in range(5)
    ]
    subset = test[: args.iw_images]
    subset_losses = [
        vae.evaluate(subset, batch_size=500, verbose=0, return_dict=True)["loss"] for _ in range(20)
    ]
    start = time.perf_counter()
    nll = -vae.log_likelihood(subset, num_samples=args.iw_samples, seed=0).mean()
    row = {
        "model": name,
        "builder_args": json.loads(args.builder_args) if name == "builders" else None,
        "latent_dim": vae.latent_dim,
        "parameters": encoder.count_params() + decoder.count_params(),
        "test_negative_elbo": round(float(np.mean(losses)), 2),
        "iw_subset_negative_elbo": round(float(np.mean(subset_losses)), 2),
        "iw_nll": round(float(nll), 2),
        "iw_samples": args.iw_samples,
        "iw_images": min(args.iw_images, len(test)),
        "iw_seconds": round(time.perf_counter() - start, 1),
        "seconds_per_epoch": round(float(np.median(timer.times)), 2),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "backend": keras.backend.backend(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }
    print(json.dumps(row), flush=True)
