"""CycleGAN with gan-blocks: translate between two image domains without pairs.

Offline by default: domain A = random color crops of scikit-image's bundled
photographs, domain B = grayscale versions of *other* crops (gb.data.load_photo_pairs
with the pairs broken, each domain shuffled on its own); the model learns to remove
and to paint color. With --data-dir, any CycleGAN-layout folder or archive (trainA/,
trainB/, testA/, testB/), e.g. horse2zebra; with --tfds, a tensorflow-datasets name:

    python examples/cyclegan.py                   # about 7 minutes on a 2-core CPU
    python examples/cyclegan.py --quick           # smoke run
    python examples/cyclegan.py --data-dir horse2zebra.zip --image-size 128 --filters 32
    python examples/cyclegan.py --tfds cycle_gan/horse2zebra --image-size 128 --filters 32

Writes samples/ (rows of held-out A | A->B | A->B->A), held_out_b.png (B | B->A |
B->A->B), metrics.csv, results.json (held-out cycle L1, time, machine), cyclegan.keras.
"""

import argparse
import json
import os
import platform
import time


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


def non_negative(kind):
    def parse(text):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    return parse


# Arguments first: `--help` answers before TensorFlow is imported.
parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
parser.add_argument(
    "--dataset",
    default="photos",
    choices=["photos", "folder", "tfds"],
    help="photos: offline photos (A) / their grayscale or drawn versions (B); "
    "folder: --data-dir; tfds: --tfds",
)
parser.add_argument(
    "--domain-b",
    default="gray",
    choices=["gray", "drawings"],
    help="offline domain B: grayscale photos, or edge drawings (too hard for a CPU budget)",
)
parser.add_argument("--data-dir", default=None, help="CycleGAN-layout folder or archive")
parser.add_argument("--tfds", default=None, help="e.g. cycle_gan/horse2zebra (downloads)")
parser.add_argument("--image-size", type=positive(int), default=32, help="side of the images")
parser.add_argument(
    "--num-images", type=positive(int), default=400, help="offline images per domain"
)
parser.add_argument("--epochs", type=positive(int), default=40, help="passes over the data")
parser.add_argument(
    "--batch-size", type=positive(int), default=4, help="images per domain and step"
)
parser.add_argument("--filters", type=positive(int), default=8, help="width of all four networks")
parser.add_argument(
    "--num-blocks", type=positive(int), default=3, help="residual blocks (paper: 6 or 9)"
)
parser.add_argument("--learning-rate", type=positive(float), default=2e-4, help="Adam, both")
parser.add_argument("--cycle-weight", type=non_negative(float), default=10.0, help="cycle L1")
parser.add_argument(
    "--identity-weight", type=non_negative(float), default=0.5, help="x cycle weight"
)
parser.add_argument(
    "--output", default=None, help="folder (default runs/cyclegan, runs/cyclegan-quick)"
)
parser.add_argument("--overwrite", action="store_true", help="replace a cyclegan.keras in --output")
parser.add_argument("--seed", type=int, default=0, help="seed of weights, draws and pools")
parser.add_argument(
    "--augment",
    default="none",
    choices=["none", "diffaugment", "ada"],
    help="augment what the discriminators see: for small data sets",
)
parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
args = parser.parse_args()
if args.data_dir is not None and not os.path.exists(args.data_dir):
    parser.error(f"--data-dir {args.data_dir}: no such file or folder")
if args.data_dir is not None and args.tfds is not None:
    parser.error("pass --data-dir or --tfds, not both")
if args.data_dir is not None:
    args.dataset = "folder"
if args.tfds is not None:
    args.dataset = "tfds"
if args.dataset == "folder" and args.data_dir is None:
    parser.error("--dataset folder needs --data-dir (a CycleGAN-layout folder or archive)")
if args.dataset == "tfds" and args.tfds is None:
    parser.error("--dataset tfds needs --tfds NAME, e.g. cycle_gan/horse2zebra")
if args.dataset == "photos" and args.num_images < 4:
    parser.error(f"--num-images must be >= 4 (10% is held out, at least 2), got {args.num_images}")
if args.quick:
    args.epochs, args.num_images, args.image_size = 1, 8, 16
    args.filters, args.num_blocks = 4, 1
args.output = args.output or ("runs/cyclegan-quick" if args.quick else "runs/cyclegan")
checkpoint = os.path.join(args.output, "cyclegan.keras")
if os.path.exists(checkpoint) and not args.overwrite:
    parser.error(f"{checkpoint} exists: pass --overwrite, or another --output")

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

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
if args.dataset == "photos":
    # Two independent sets of random crops: A holds the color photos of one, B the
    # grayscale (or edge) versions of the other, so no B image shows any A image.
    # Each domain then gets its own random order.
    _, photos = gb.data.load_photo_pairs(args.num_images, args.image_size, seed=args.seed)
    task = "gray2photo" if args.domain_b == "gray" else "edges2photo"
    others, _ = gb.data.load_photo_pairs(
        args.num_images, args.image_size, task=task, seed=args.seed + 1
    )
    if args.domain_b == "drawings":
        # 3-pixel strokes at -0.8 on paper at 0.8: against 1-pixel edges at exactly
        # +-1 the L1 terms settle on a blank page with the tanh output saturated.
        strokes = np.stack([ndimage.binary_dilation(edges[..., 0] > 0) for edges in others])
        others = np.where(strokes[..., None], -0.8, 0.8).repeat(3, axis=-1).astype("float32")
    rng = np.random.default_rng(args.seed)
    images_a = photos[rng.permutation(args.num_images)]
    images_b = others[rng.permutation(args.num_images)]
    held_out = max(2, args.num_images // 10)
    train_a, test_a = images_a[held_out:], images_a[:held_out]
    train_b, test_b = images_b[held_out:], images_b[:held_out]
else:
    source = args.data_dir if args.dataset == "folder" else args.tfds
    train_a, train_b = gb.data.load_unpaired_images(source, "train", image_size=args.image_size)
    test_a, test_b = gb.data.load_unpaired_images(source, "test", image_size=args.image_size)
    if args.quick:
        train_a, train_b, test_a, test_b = train_a[:8], train_b[:8], test_a[:2], test_b[:2]
print(
    f"data: {len(train_a)} A / {len(train_b)} B train images, {len(test_a)} A / "
    f"{len(test_b)} B held out, of shape {train_a.shape[1:]}"
)

# ----------------------------------------------------------------------------- model
# Two ResNet generators (A->B, B->A) and two unconditional 70x70 PatchGANs with
# instance norm, as in the paper; 32x32 images and up get its 3 stride-2 layers.
shape = train_a.shape[1:]
num_layers = 3 if args.image_size >= 32 else 2


def generator(name):
    return gb.architectures.resnet_generator(
        shape, filters=args.filters, num_blocks=args.num_blocks, name=name
    )


def discriminator(name):
    return gb.architectures.patchgan_discriminator(
        shape,
        filters=args.filters,
        num_layers=num_layers,
        normalization="instance",
        conditional=False,
        name=name,
    )


cyclegan = gb.models.CycleGAN(
    generator("generator_ab"),
    generator("generator_ba"),
    discriminator("discriminator_a"),
    discriminator("discriminator_b"),
    cycle_weight=args.cycle_weight,
    identity_weight=args.identity_weight,
    augmentation={
        "none": None,
        "diffaugment": gb.layers.DiffAugment(seed=args.seed),
        "ada": gb.layers.AdaptiveAugment(seed=args.seed),
    }[args.augment],
    seed=args.seed,
)
cyclegan.compile(  # least-squares adversarial loss (the default), Adam as in the paper
    keras.optimizers.Adam(args.learning_rate, beta_1=0.5),
    keras.optimizers.Adam(args.learning_rate, beta_1=0.5),
)

# ----------------------------------------------------------------------------- train
os.makedirs(args.output, exist_ok=True)
callbacks = [
    gb.callbacks.SampleGrid(
        os.path.join(args.output, "samples"),
        num_samples=8,
        inputs=test_a,
        every_n_epochs=max(1, args.epochs // 5),
    ),
    TrainingCSVLogger(os.path.join(args.output, "metrics.csv")),
]
data = gb.data.unpaired(train_a, train_b, batch_size=args.batch_size, seed=args.seed)
start = time.time()
cyclegan.fit(data, epochs=args.epochs, callbacks=callbacks, verbose=2)
elapsed = time.time() - start

# ----------------------------------------------------------------------------- evaluate
a_to_b = cyclegan.translate(test_a, "a_to_b")
b_to_a = cyclegan.translate(test_b, "b_to_a")
cycle_l1_a = float(np.abs(cyclegan.translate(a_to_b, "b_to_a") - test_a).mean())
cycle_l1_b = float(np.abs(cyclegan.translate(b_to_a, "a_to_b") - test_b).mean())
rows = np.stack([test_b[:8], b_to_a[:8], cyclegan.translate(b_to_a[:8], "a_to_b")], axis=1)
keras.utils.save_img(
    os.path.join(args.output, "held_out_b.png"),
    gb.callbacks.image_grid(rows.reshape((-1,) + rows.shape[2:]), columns=3),
    scale=False,
)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


results = {
    "cycle_l1_a": cycle_l1_a,  # mean |G_ba(G_ab(a)) - a| on held-out A, images in [-1, 1]
    "cycle_l1_b": cycle_l1_b,  # mean |G_ab(G_ba(b)) - b| on held-out B
    "train_seconds": round(elapsed, 1),
    "backend": keras.backend.backend(),
    "cpu": cpu_model(),
    "cpu_count": os.cpu_count(),
    "platform": platform.platform(),
    "dataset": args.tfds or args.data_dir or args.dataset,
    "train_images": [len(train_a), len(train_b)],
    "held_out_images": [len(test_a), len(test_b)],
    "image_size": args.image_size,
    "epochs": args.epochs,
    "steps": args.epochs * len(data),
    "batch_size": args.batch_size,
    "learning_rate": args.learning_rate,
    "filters": args.filters,
    "num_blocks": args.num_blocks,
}
with open(os.path.join(args.output, "results.json"), "w") as file:
    json.dump(results, file, indent=2)
print(
    f"held-out cycle L1 (in [-1, 1] units): A->B->A {cycle_l1_a:.4f}, B->A->B {cycle_l1_b:.4f}; "
    f"{elapsed:.1f} s on {results['backend']}, {results['cpu']} x{results['cpu_count']}"
)

# ----------------------------------------------------------------------------- save
cyclegan.save(checkpoint)
restored = keras.models.load_model(checkpoint)
assert np.allclose(restored.translate(test_a[:2]), cyclegan.translate(test_a[:2]), atol=1e-5)
print(f"saved {checkpoint}")
