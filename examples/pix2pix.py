"""Pix2Pix with gan-blocks: translate edge maps (or outlines) into photos.

Offline by default: pairs built from scikit-image's bundled photographs (Canny
edges -> color crop). With --data-dir, any pix2pix-layout folder or .tar.gz
(each image: source | target side by side), e.g. facades:

    python examples/pix2pix.py                    # a few minutes on a CPU
    python examples/pix2pix.py --quick            # smoke run
    python examples/pix2pix.py --data-dir path/to/outlines2people --image-size 128
    python examples/pix2pix.py --data-dir facades.tar.gz --direction b_to_a --image-size 256

Writes samples/ (rows: source | output | target), metrics.csv, pix2pix.keras.
"""

import argparse
import os


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


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
    default="photos",
    choices=["photos", "folder"],
    help="photos: offline scikit-image pairs; folder: --data-dir pairs",
)
parser.add_argument("--data-dir", default=None, help="pix2pix-layout folder or .tar.gz")
parser.add_argument("--direction", default="a_to_b", choices=["a_to_b", "b_to_a"])
parser.add_argument("--image-size", type=positive(int), default=64, help="side of the images")
parser.add_argument("--num-pairs", type=positive(int), default=400, help="offline pairs to build")
parser.add_argument("--epochs", type=positive(int), default=15, help="passes over the data")
parser.add_argument("--batch-size", type=positive(int), default=4, help="pairs per step")
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
if args.data_dir is not None:
    args.dataset = "folder"
elif args.dataset == "folder":
    parser.error("--dataset folder needs --data-dir (a pix2pix-layout folder or .tar.gz)")
if args.quick:
    args.epochs, args.num_pairs, args.image_size, args.filters = 1, 8, 16, 4
args.output = args.output or ("runs/pix2pix-quick" if args.quick else "runs/pix2pix")
if os.path.exists(os.path.join(args.output, "pix2pix.keras")) and not args.overwrite:
    parser.error(f"{args.output}/pix2pix.keras exists: pass --overwrite, or another --output")

import time  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

import gan_blocks as gb  # noqa: E402

keras.utils.set_random_seed(args.seed)

# ----------------------------------------------------------------------------- data
if args.dataset == "photos":
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
        num_samples=6,
        pairs=test,
        every_n_epochs=max(1, args.epochs // 5),
    ),
    keras.callbacks.CSVLogger(os.path.join(args.output, "metrics.csv")),
]
start = time.time()
p2p.fit(*train, batch_size=args.batch_size, epochs=args.epochs, callbacks=callbacks, verbose=2)
elapsed = time.time() - start
test_l1 = float(np.abs(p2p.translate(test[0]) - test[1]).mean())
print(
    f"held-out L1 (in [-1, 1] units): {test_l1:.4f}; {elapsed:.1f} s on {keras.backend.backend()}"
)

# ----------------------------------------------------------------------------- save
path = os.path.join(args.output, "pix2pix.keras")
p2p.save(path)
restored = keras.models.load_model(path)
assert np.allclose(restored.translate(test[0][:2]), p2p.translate(test[0][:2]), atol=1e-5)
print(f"saved {path}")
