"""DCGAN with gan-blocks: real handwritten digits -> a generator of new ones.

Runs offline by default on the 10,000 real MNIST digits shipped in
examples/data/mnist (8,000 train, 2,000 held out), on whatever Keras backend is
active (KERAS_BACKEND=tensorflow|jax|torch), and ends by printing the FID of
2,000 samples against the held-out digits:

    python examples/dcgan.py                        # 4-18 minutes on a 2-core CPU
    python examples/dcgan.py --quick                # a smoke run, 1-3 minutes
    python examples/dcgan.py --dataset digits       # scikit-learn's 8x8 digits, upsampled
    python examples/dcgan.py --dataset mnist --tfds # all 60,000 MNIST digits (downloads)
    python examples/dcgan.py --dataset cifar10      # tensorflow-datasets (downloads)
    python examples/dcgan.py --augment ada --train-size 500   # a small data set

Writes to --output: samples/epoch_XXXX.png grids, metrics.csv, dcgan.keras and
the FID's feature extractor (a small MNIST classifier, trained once and cached).
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
    choices=["mnist", "digits", "fashion_mnist", "cifar10", "celeb_a"],
    help="mnist: the shipped IDX files (or --data-dir / --tfds); digits: scikit-learn's "
    "digits; the others: tensorflow-datasets (downloads)",
)
parser.add_argument(
    "--data-dir",
    default=SHIPPED_MNIST,
    help="folder of MNIST-format IDX files (t10k-images-idx3-ubyte[.gz]), for "
    "--dataset mnist or fashion_mnist",
)
parser.add_argument("--tfds", action="store_true", help="load --dataset from tensorflow-datasets")
parser.add_argument(
    "--train-size",
    type=positive(int),
    default=8000,
    help="train on the first N images; the rest (up to 2,000) are held out for the FID",
)
parser.add_argument("--epochs", type=positive(int), default=50, help="passes over the data")
parser.add_argument("--batch-size", type=positive(int), default=64, help="images per step")
parser.add_argument("--latent-dim", type=positive(int), default=64, help="size of the latent")
parser.add_argument("--filters", type=positive(int), default=32, help="width of both networks")
parser.add_argument(
    "--augment",
    default="none",
    choices=["none", "diffaugment", "ada"],
    help="augment what the discriminator sees: for small data sets (a few hundred images)",
)
parser.add_argument(
    "--fid-samples",
    type=int,
    default=argparse.SUPPRESS,
    help="samples for the FID; 0: none (default: 2000; with --quick 0: an FID of fewer "
    "samples than its 128 feature dimensions is not comparable with the full run's)",
)
parser.add_argument("--output", default=None, help="folder (default runs/dcgan, runs/dcgan-quick)")
parser.add_argument("--overwrite", action="store_true", help="replace a dcgan.keras in --output")
parser.add_argument("--seed", type=int, default=0, help="seed of weights, latents and draws")
parser.add_argument(
    "--quick", action="store_true", help="tiny smoke run (one to three minutes on 2 CPU cores)"
)
args = parser.parse_args()
if args.data_dir is not None and not os.path.exists(args.data_dir):
    parser.error(f"--data-dir {args.data_dir}: no such file or folder")
args.fid_samples = getattr(args, "fid_samples", 0 if args.quick else 2000)
if args.quick:
    args.epochs, args.train_size, args.filters = 1, 128, 8
args.output = args.output or ("runs/dcgan-quick" if args.quick else "runs/dcgan")
if args.data_dir != SHIPPED_MNIST and (args.dataset not in ("mnist", "fashion_mnist") or args.tfds):
    parser.error(
        "--data-dir holds MNIST-format IDX files: use it with --dataset mnist or fashion_mnist"
    )
if args.dataset not in ("mnist", "digits", "fashion_mnist") and not args.tfds:
    args.tfds = True  # Only tensorflow-datasets has these.
if args.dataset == "fashion_mnist" and not args.tfds and args.data_dir == SHIPPED_MNIST:
    parser.error("--dataset fashion_mnist needs --data-dir (Fashion-MNIST IDX files) or --tfds")
checkpoint = os.path.join(args.output, "dcgan.keras")
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
held_out = labels = None
if args.tfds:
    images = None
    dataset = gb.data.load_tfds_images(args.dataset, batch_size=args.batch_size)
    image_shape = tuple(dataset.element_spec.shape[1:])
    if args.quick:
        dataset = dataset.take(2)
    print(f"data: {args.dataset} from tensorflow-datasets, images {image_shape} in [-1, 1]")
else:
    if args.dataset == "digits":
        images = gb.data.load_digits_images(image_size=28)
    else:
        images, labels = gb.data.load_mnist_idx(args.data_dir, with_labels=True)
    if args.dataset == "digits" and args.train_size >= len(images):
        args.train_size = int(0.8 * len(images))  # 1,797 digits: keep 20% for the FID.
    held_out = images[args.train_size :][:2000]
    images = images[: args.train_size]
    image_shape = images.shape[1:]
    print(
        f"data: {args.dataset}, {len(images)} training images {image_shape} in [-1, 1], "
        f"{len(held_out)} held out"
    )

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
        every_n_epochs=max(1, args.epochs // 5),
    ),
    TrainingCSVLogger(os.path.join(args.output, "metrics.csv")),
]
start = time.time()
if images is not None:
    gan.fit(images, batch_size=args.batch_size, epochs=args.epochs, callbacks=callbacks, verbose=2)
else:
    gan.fit(dataset, epochs=args.epochs, callbacks=callbacks, verbose=2)
print(f"trained {args.epochs} epochs in {time.time() - start:.0f} s on {keras.backend.backend()}")

# ----------------------------------------------------------------------------- save
gan.save(checkpoint)
restored = keras.models.load_model(checkpoint)
assert np.allclose(restored.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-5)
print(f"saved {checkpoint}; samples in {os.path.join(args.output, 'samples')}")

# ----------------------------------------------------------------------------- FID
if args.fid_samples and labels is not None and len(held_out) > 1:
    # Features of a small classifier trained on labelled MNIST (once; cached):
    # FID in the space of what makes a digit a digit. See docs/metrics.md.
    extractor_path = os.path.join(args.output, "mnist_features.keras")
    if os.path.exists(extractor_path):
        extractor = keras.models.load_model(extractor_path)
    else:
        all_images, all_labels = gb.data.load_mnist_idx(args.data_dir, with_labels=True)
        count = 512 if args.quick else len(all_images)
        extractor = gb.metrics.train_classifier_feature_extractor(
            all_images[:count], all_labels[:count], epochs=1 if args.quick else 3, seed=0
        )
        extractor.save(extractor_path)
    fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=500)
    # Precision (are samples realistic?) and recall (is the data covered?) in
    # the same features: FID mixes the two.
    precision_recall = gb.metrics.PrecisionRecall(feature_extractor=extractor)
    held_out_features = fid.extract_features(held_out)
    samples = gan.generate(args.fid_samples, seed=args.seed)
    scores = {}
    # The same protocol on real training digits: the best a generator can hope for.
    for name, batch in (("samples", samples), ("real", images[: args.fid_samples])):
        features = fid.extract_features(batch)
        for metric in (fid, precision_recall):
            metric.reset_state()
            metric.update_features(held_out_features, features)
        scores[name] = (float(fid.result()), *precision_recall.result().values())
    print(
        f"FID {scores['samples'][0]:.1f}: {args.fid_samples} samples against {len(held_out)} "
        f"held-out digits (classifier features; {args.fid_samples} real training digits "
        f"score {scores['real'][0]:.1f}); precision {scores['samples'][1]:.2f}, recall "
        f"{scores['samples'][2]:.2f} (real digits: {scores['real'][1]:.2f}, "
        f"{scores['real'][2]:.2f})"
    )
