"""A convolutional VAE with gan-blocks: encode digits, decode, sample new ones.

Offline by default (scikit-learn's real digits, upsampled to 28x28):

    python examples/vae.py                        # about a minute on a CPU
    python examples/vae.py --quick                # smoke run
    python examples/vae.py --dataset mnist --data-dir ../shared/data/mnist --train-size 8000

Reports the test negative ELBO in nats per image (held-out images: the last
20%, or everything after --train-size). Writes samples/, metrics.csv, vae.keras.
"""

import argparse
import os
import time

import keras
import numpy as np

import gan_blocks as gb

# ----------------------------------------------------------------------------- arguments
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
parser.add_argument(
    "--dataset",
    default="digits",
    choices=["digits", "mnist"],
    help="digits: offline scikit-learn digits; mnist: IDX files in --data-dir",
)
parser.add_argument("--data-dir", default=None, help="folder of MNIST-format IDX files")
parser.add_argument(
    "--train-size",
    type=int,
    default=None,
    help="first N images train, the rest test (default: 80%%)",
)
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--latent-dim", type=int, default=16)
parser.add_argument("--beta", type=float, default=1.0)
parser.add_argument("--output", default="runs/vae")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

# ----------------------------------------------------------------------------- data
if args.dataset == "digits":
    images = gb.data.load_digits_images(image_size=28)
else:
    if args.data_dir is None:
        parser.error("--dataset mnist needs --data-dir (a folder of MNIST IDX files)")
    images = gb.data.load_mnist_idx(args.data_dir)
images = (images + 1.0) / 2.0  # Bernoulli likelihood: intensities in [0, 1]
train_size = args.train_size or int(0.8 * len(images))
train, test = images[:train_size], images[train_size:]
if args.quick:
    train, test, args.epochs = train[:128], test[:64], 1
print(f"data: {args.dataset}, {len(train)} train / {len(test)} test images {train.shape[1:]}")

# ----------------------------------------------------------------------------- model
encoder = gb.architectures.vae_encoder(train.shape[1:], args.latent_dim)
decoder = gb.architectures.vae_decoder(args.latent_dim, train.shape[1:])
vae = gb.models.VAE(encoder, decoder, beta=args.beta, reconstruction="bernoulli", seed=args.seed)
vae.compile(keras.optimizers.Adam(1e-3))

# ----------------------------------------------------------------------------- train
os.makedirs(args.output, exist_ok=True)
callbacks = [
    gb.callbacks.SampleGrid(
        os.path.join(args.output, "samples"),
        num_samples=64,
        every_n_epochs=max(1, args.epochs // 5),
    ),
    keras.callbacks.CSVLogger(os.path.join(args.output, "metrics.csv")),
]
start = time.time()
vae.fit(
    train,
    batch_size=args.batch_size,
    epochs=args.epochs,
    validation_data=(test,),
    callbacks=callbacks,
    verbose=2,
)
elapsed = time.time() - start
result = vae.evaluate(test, batch_size=256, verbose=0, return_dict=True)
print(
    f"test negative ELBO: {result['loss']:.2f} nats/image "
    f"(reconstruction {result['reconstruction_loss']:.2f} + KL {result['kl_loss']:.2f}); "
    f"{elapsed:.1f} s on {keras.backend.backend()}"
)

# ----------------------------------------------------------------------------- save
path = os.path.join(args.output, "vae.keras")
vae.save(path)
restored = keras.models.load_model(path)
assert np.allclose(
    restored.predict(test[:4], verbose=0), vae.predict(test[:4], verbose=0), atol=1e-5
)
print(f"saved {path}")
