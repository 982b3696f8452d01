"""DCGAN with gan-blocks: real handwritten digits -> a generator of new ones.

Runs offline by default on scikit-learn's 1,797 real 8x8 digits (upsampled to
28x28), on whatever Keras backend is active (KERAS_BACKEND=tensorflow|jax|torch):

    python examples/dcgan.py                      # a few minutes on a CPU
    python examples/dcgan.py --quick              # a smoke run, seconds
    python examples/dcgan.py --dataset mnist --data-dir ../shared/data/mnist
    python examples/dcgan.py --dataset cifar10    # tensorflow-datasets (downloads)

Writes to --output: samples/epoch_XXXX.png grids, metrics.csv, dcgan.keras.
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
    choices=["digits", "mnist", "fashion_mnist", "cifar10", "celeb_a"],
    help="digits: offline scikit-learn digits (default); others: tfds, "
    "or MNIST-format IDX files with --data-dir",
)
parser.add_argument(
    "--data-dir",
    default=None,
    help="folder of MNIST-format IDX files (t10k-images-idx3-ubyte[.gz])",
)
parser.add_argument(
    "--train-size",
    type=int,
    default=None,
    help="use only the first N images (e.g. 8000 of MNIST's t10k file)",
)
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--latent-dim", type=int, default=64)
parser.add_argument("--filters", type=int, default=32)
parser.add_argument("--output", default="runs/dcgan")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument(
    "--augment",
    default="none",
    choices=["none", "diffaugment", "ada"],
    help="augment what the discriminator sees: for small data sets (a few hundred images)",
)
parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
args = parser.parse_args()
if args.quick:
    args.epochs, args.train_size, args.filters = 1, 128, 8
keras.utils.set_random_seed(args.seed)

# ----------------------------------------------------------------------------- data
if args.dataset == "digits":
    images = gb.data.load_digits_images(image_size=28)
elif args.data_dir is not None:
    images = gb.data.load_mnist_idx(args.data_dir)
else:
    images = None
    dataset = gb.data.load_tfds_images(args.dataset, batch_size=args.batch_size)
if images is not None:
    images = images[: args.train_size] if args.train_size else images
    image_shape = images.shape[1:]
    print(f"data: {args.dataset}, {len(images)} images of shape {image_shape} in [-1, 1]")
else:
    image_shape = tuple(dataset.element_spec.shape[1:])
    if args.quick:
        dataset = dataset.take(2)

# ----------------------------------------------------------------------------- model
# DCGAN rules: strided convolutions (no pooling), batch norm except at the
# generator output and discriminator input, ReLU in G, LeakyReLU in D, tanh output.
generator = gb.architectures.dcgan_generator(args.latent_dim, image_shape, filters=args.filters)
discriminator = gb.architectures.dcgan_discriminator(image_shape, filters=args.filters)
augmentation = {
    "none": None,
    "diffaugment": gb.layers.DiffAugment(seed=args.seed),
    "ada": gb.layers.AdaptiveAugment(seed=args.seed),
}[args.augment]
gan = gb.models.GAN(
    generator, discriminator, latent_dim=args.latent_dim, augmentation=augmentation, seed=args.seed
)
gan.compile(
    generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    loss=gb.losses.NonSaturatingLoss(label_smoothing=0.1),
)

# ----------------------------------------------------------------------------- train
os.makedirs(args.output, exist_ok=True)
callbacks = [
    gb.callbacks.SampleGrid(
        os.path.join(args.output, "samples"),
        num_samples=64,
        every_n_epochs=max(1, args.epochs // 8),
    ),
    keras.callbacks.CSVLogger(os.path.join(args.output, "metrics.csv")),
]
start = time.time()
if images is not None:
    gan.fit(images, batch_size=args.batch_size, epochs=args.epochs, callbacks=callbacks, verbose=2)
else:
    gan.fit(dataset, epochs=args.epochs, callbacks=callbacks, verbose=2)
print(f"trained {args.epochs} epochs in {time.time() - start:.1f} s on {keras.backend.backend()}")

# ----------------------------------------------------------------------------- save
path = os.path.join(args.output, "dcgan.keras")
gan.save(path)
restored = keras.models.load_model(path)
assert np.allclose(restored.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-5)
print(f"saved {path}; samples in {os.path.join(args.output, 'samples')}")
