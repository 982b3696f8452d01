"""Pix2Pix with gan-blocks: translate outlines into digits, edge maps into photos.

Offline by default: the 10,000 real MNIST digits shipped in examples/data/mnist
become pairs "outline -> digit" at 32x32 (gb.data.outline_pairs: the model must
fill the strokes in, which anyone can judge at a glance). --dataset photos
builds pairs from scikit-image's bundled photographs (Canny edges -> color
crop). With --data-dir, any pix2pix-layout folder or .tar.gz (each image:
source | target side by side), e.g. facades:

    python examples/pix2pix.py                    # outlines -> digits, < 3 min on 2 CPU cores
    python examples/pix2pix.py --quick            # smoke run
    python examples/pix2pix.py --dataset photos   # edges -> photo crops
    python examples/pix2pix.py --data-dir facades.tar.gz --direction b_to_a --image-size 256

Writes samples/ (rows: source | output | target), metrics.csv, pix2pix.keras,
and prints the held-out L1 next to the L1 of copying the source.
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
parser.add_argument(
    "--dataset",
    default="digits",
    choices=["digits", "photos", "folder"],
    help="digits: outlines -> shipped MNIST digits; photos: edges -> scikit-image photo "
    "crops; folder: --data-dir pairs",
)
parser.add_argument("--data-dir", default=None, help="pix2pix-layout folder or .tar.gz")
parser.add_argument(
    "--direction", default="a_to_b", choices=["a_to_b", "b_to_a"], help="which half is the source"
)
parser.add_argument(
    "--image-size",
    type=positive(int),
    default=None,
    help="side of the images (default: 32 for digits, padded from 28; 64 otherwise)",
)
parser.add_argument(
    "--num-pairs",
    type=positive(int),
    default=None,
    help="offline pairs to build, 10%% held out (default: 2000 digits, 400 photos)",
)
parser.add_argument("--epochs", type=positive(int), default=None, help="default: 10 digits, 15")
parser.add_argument(
    "--batch-size", type=positive(int), default=None, help="pairs per step (default: 16 digits, 4)"
)
parser.add_argument("--filters", type=positive(int), default=32, help="width of both networks")
parser.add_argument("--l1-weight", type=float, default=100.0, help="weight of the L1 term")
parser.add_argument("--output", default=None, help="folder (default runs/pix2pix[-quick])")
parser.add_argument("--overwrite", action="store_true", help="replace a pix2pix.keras in --output")
parser.add_argument("--seed", type=int, default=0, help="seed of weights and draws")
parser.add_argument(
    "--augment",
    default="none",
    choices=["none", "diffaugment", "ada"],
    help="augment the discriminator's image (colour only: a moved target would no "
    "longer line up with its source)",
)
parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
args = parser.parse_args()
if args.data_dir is not None and not os.path.exists(args.data_dir):
    parser.error(f"--data-dir {args.data_dir}: no such file or folder")
if args.data_dir is not None:
    args.dataset = "folder"
elif args.dataset == "folder":
    parser.error("--dataset folder needs --data-dir (a pix2pix-layout folder or .tar.gz)")
digits = args.dataset == "digits"
if args.image_size is None:
    args.image_size = 32 if digits else 64
if digits and args.image_size < 28:
    parser.error(f"--image-size pads the 28x28 digits and must be >= 28, got {args.image_size}")
if args.num_pairs is None:
    args.num_pairs = 2000 if digits else 400
if args.num_pairs < 2:
    parser.error("--num-pairs must be >= 2 (one pair is held out)")
args.epochs = args.epochs or (10 if digits else 15)
args.batch_size = args.batch_size or (16 if digits else 4)
if args.quick:
    args.epochs, args.num_pairs, args.filters = 1, 8, 4
    args.image_size = 32 if digits else 16
args.output = args.output or ("runs/pix2pix-quick" if args.quick else "runs/pix2pix")
checkpoint = os.path.join(args.output, "pix2pix.keras")
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
if digits:
    shipped = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist")
    digit_images = gb.data.load_mnist_idx(shipped)[: args.num_pairs]
    sources, targets = gb.data.outline_pairs(digit_images, image_size=args.image_size)
elif args.dataset == "photos":
    sources, targets = gb.data.load_photo_pairs(args.num_pairs, args.image_size, seed=args.seed)
else:
    sources, targets = gb.data.load_paired_arrays(
        args.data_dir, direction=args.direction, split=None, image_size=args.image_size
    )
    if args.quick:
        sources, targets = sources[:8], targets[:8]
held_out = max(1, len(sources) // 10)
train = (sources[held_out:], targets[held_out:])
test = (sources[:held_out], targets[:held_out])
print(f"data: {len(train[0])} train / {len(test[0])} held-out pairs of {sources.shape[1:]}")

# ----------------------------------------------------------------------------- model
shape = sources.shape[1:]
generator = gb.architectures.unet_generator(
    shape, output_channels=targets.shape[-1], filters=args.filters
)
# 70x70 patches (3 stride-2 layers) from 32x32 up; smaller images need fewer.
num_layers = 3 if args.image_size >= 32 else 2
discriminator = gb.architectures.patchgan_discriminator(
    shape, filters=args.filters, num_layers=num_layers
)
# Pix2Pix augments the target image only, not its source: colour transforms
# keep the pair aligned, geometric ones would not.
augmentation = {
    "none": None,
    "diffaugment": gb.layers.DiffAugment(policy="color", seed=args.seed),
    "ada": gb.layers.AdaptiveAugment(pipeline="c", seed=args.seed),
}[args.augment]
p2p = gb.models.Pix2Pix(
    generator, discriminator, l1_weight=args.l1_weight, augmentation=augmentation, seed=args.seed
)
p2p.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))

# ----------------------------------------------------------------------------- train
os.makedirs(args.output, exist_ok=True)
callbacks = [
    gb.callbacks.SampleGrid(
        os.path.join(args.output, "samples"),
        num_samples=8 if digits else 6,
        inputs=test,
        every_n_epochs=max(1, args.epochs // 5),
    ),
    TrainingCSVLogger(os.path.join(args.output, "metrics.csv")),
]
start = time.time()
p2p.fit(*train, batch_size=args.batch_size, epochs=args.epochs, callbacks=callbacks, verbose=2)
elapsed = time.time() - start
test_l1 = float(np.abs(p2p.translate(test[0]) - test[1]).mean())
copy_l1 = float(np.abs(test[0] - test[1]).mean()) if test[0].shape == test[1].shape else None
baseline = f" (copying the source: {copy_l1:.4f})" if copy_l1 is not None else ""
print(
    f"held-out L1 in [-1, 1] units: {test_l1:.4f}{baseline}; trained in {elapsed:.0f} s on "
    f"{keras.backend.backend()}"
)

# ----------------------------------------------------------------------------- save
p2p.save(checkpoint)
restored = keras.models.load_model(checkpoint)
assert np.allclose(restored.translate(test[0][:2]), p2p.translate(test[0][:2]), atol=1e-5)
print(f"saved {checkpoint}; samples in {os.path.join(args.output, 'samples')}")
