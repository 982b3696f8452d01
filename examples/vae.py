"""A convolutional VAE with gan-blocks: encode digits, decode, sample new ones.

Offline by default on the 10,000 real MNIST digits shipped in examples/data/mnist
(the first 8,000 train, the last 2,000 test):

    python examples/vae.py                        # about 6 minutes on a 2-core CPU
    python examples/vae.py --quick                # smoke run
    python examples/vae.py --dataset digits       # scikit-learn's 8x8 digits, upsampled

Reports the test negative ELBO in nats per image (held-out images: everything
after --train-size). Writes samples/, metrics.csv, vae.keras.
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


# Arguments first: `--help` answers before TensorFlow is imported.
parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
parser.add_argument(
    "--dataset",
    default="mnist",
    choices=["mnist", "digits"],
    help="mnist: MNIST-format IDX files in --data-dir (shipped); digits: scikit-learn's digits",
)
parser.add_argument("--data-dir", default=SHIPPED_MNIST, help="folder of MNIST-format IDX files")
parser.add_argument(
    "--train-size",
    type=positive(int),
    default=None,
    help="the first N images train, the rest test (default: 8000 of MNIST, 80%% of digits)",
)
parser.add_argument("--epochs", type=positive(int), default=30, help="passes over the data")
parser.add_argument("--batch-size", type=positive(int), default=64, help="images per step")
parser.add_argument("--latent-dim", type=positive(int), default=32, help="size of the latent")
parser.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
parser.add_argument("--output", default=None, help="folder (default runs/vae, runs/vae-quick)")
parser.add_argument("--overwrite", action="store_true", help="replace a vae.keras in --output")
parser.add_argument("--seed", type=int, default=0, help="seed of weights and draws")
parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
args = parser.parse_args()
if args.data_dir is not None and not os.path.exists(args.data_dir):
    parser.error(f"--data-dir {args.data_dir}: no such file or folder")
args.output = args.output or ("runs/vae-quick" if args.quick else "runs/vae")
if args.data_dir != SHIPPED_MNIST and args.dataset != "mnist":
    parser.error("--data-dir holds MNIST-format IDX files: use it with --dataset mnist")
checkpoint = os.path.join(args.output, "vae.keras")
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


# ----------------------------------------------------------------------------- data
if args.dataset == "digits":
    images = gb.data.load_digits_images(image_size=28)
else:
    images = gb.data.load_mnist_idx(args.data_dir)
images = (images + 1.0) / 2.0  # Bernoulli likelihood: intensities in [0, 1]
args.train_size = args.train_size or min(8000, int(0.8 * len(images)))
if args.train_size >= len(images):
    parser.error(f"--train-size {args.train_size} leaves no test images out of {len(images)}")
train, test = images[: args.train_size], images[args.train_size :]
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
    TrainingCSVLogger(os.path.join(args.output, "metrics.csv")),
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
path = checkpoint
vae.save(path)
restored = keras.models.load_model(path)
assert np.allclose(
    restored.predict(test[:4], verbose=0), vae.predict(test[:4], verbose=0), atol=1e-5
)
print(f"saved {path}")
