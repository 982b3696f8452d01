"""DCGAN on a few hundred MNIST digits: no augmentation vs DiffAugment vs ADA.

Protocol (issue #16). The first `--train-images` MNIST test images are the
training set; the other images are held out. The examples' DCGAN
(`dcgan_generator(64, (28, 28, 1), filters=32)` and its discriminator, Adam
2e-4 / 0.5) trains for `--epochs` epochs with each `--augment` mode, from the
same seed. Every `--probe-every` epochs the script records the discriminator's
mean sign on the training images and on held-out images (both without
augmentation): when the discriminator overfits, the first stays near +1 ('real')
while the second drifts towards -1 ('fake'), the evidence the ADA paper shows.
At the end it computes precision/recall (k=3) and the share of samples that
copy a training digit (`gb.metrics.memorization`) next to the FID of `--samples`
generated digits against the
held-out images with the project's classifier-feature extractor
(`gb.metrics.train_classifier_feature_extractor`, trained on the held-out
images and labels, seed 0), and prints ADA's p curve.

    KERAS_BACKEND=jax python benchmarks/low_data.py --data-dir ../shared/data/mnist
    KERAS_BACKEND=jax python benchmarks/low_data.py --train-images 9000 --augment none,ada

ADA's `adjustment_images` defaults to 500k in the paper, sized for runs of
millions of images; `--ada-adjustment` (default 50k) scales it to this
benchmark's ~100k-image budget.
"""

import argparse
import json
import os
import platform
import time

import keras
import numpy as np

import gan_blocks as gb


class OverfittingProbe(keras.callbacks.Callback):
    """Mean sign of D's logits on training and held-out reals, every few epochs."""

    def __init__(self, train_images, held_out_images, every, fid_fn):
        super().__init__()
        self.train_images, self.held_out_images, self.every = train_images, held_out_images, every
        self.fid_fn = fid_fn
        self.rows = []

    def mean_sign(self, images):
        logits = self.model.discriminator.predict(images, batch_size=256, verbose=0)
        return float(np.mean(np.sign(logits)))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            row = {
                "epoch": epoch + 1,
                "train_sign": self.mean_sign(self.train_images),
                "held_out_sign": self.mean_sign(self.held_out_images),
                "augment_p": float((logs or {}).get("augment_p", 0.0)),
                "fid": self.fid_fn(self.model),
            }
            self.rows.append(row)
            print(
                f"  epoch {row['epoch']:4d}  E[sign D(train)] {row['train_sign']:+.3f}  "
                f"E[sign D(held-out)] {row['held_out_sign']:+.3f}  p {row['augment_p']:.3f}  "
                f"FID {row['fid']:.2f}",
                flush=True,
            )


def discriminator_for(kind, args):
    """The discriminator of the run: the builders' DCGAN, or one without batch norm."""
    if kind == "dcgan":
        return gb.architectures.dcgan_discriminator((28, 28, 1), filters=32)
    if kind == "dcgan-no-bn":
        # The same blocks without batch norm (as the keras.io DCGAN's
        # discriminator): batch statistics of augmented reals and of fakes
        # then no longer mix into what D learns (DiffAugment/ADA papers use
        # discriminators without batch norm).
        images = keras.Input((28, 28, 1))
        x = images
        for index in range(2):
            x = gb.layers.DCGANDownBlock(32 * 2**index, batch_norm=False)(x)
        logits = keras.layers.Dense(1)(keras.layers.Flatten()(x))
        return keras.Model(images, logits, name="dcgan_discriminator_no_bn")
    if kind == "sngan":
        return gb.architectures.sngan_discriminator((28, 28, 1), filters=32)
    raise ValueError(f"--discriminator takes dcgan, dcgan-no-bn, sngan; received {kind!r}")


def augmentation(mode, args):
    if mode == "none":
        return None
    if mode == "diffaugment":
        return gb.layers.DiffAugment(policy=args.diffaugment_policy, seed=args.seed)
    if mode == "ada":
        return gb.layers.AdaptiveAugment(
            target=args.ada_target, adjustment_images=args.ada_adjustment, seed=args.seed
        )
    raise ValueError(f"--augment takes none, diffaugment, ada; received {mode!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="examples/data/mnist")
    parser.add_argument("--train-images", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--augment", default="none,diffaugment,ada")
    parser.add_argument("--ada-adjustment", type=int, default=50_000)
    parser.add_argument("--ada-target", type=float, default=0.6)
    parser.add_argument("--diffaugment-policy", default="color,translation,cutout")
    parser.add_argument("--probe-every", type=int, default=50)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--discriminator", default="dcgan", choices=["dcgan", "dcgan-no-bn", "sngan"]
    )
    parser.add_argument("--output", default="runs/low_data.json")
    args = parser.parse_args()

    images, labels = gb.data.load_mnist_idx(args.data_dir, with_labels=True)
    labels = labels.astype("int32")
    train, held_out = images[: args.train_images], images[args.train_images :]
    probe_held_out = held_out[: len(train)]

    keras.utils.set_random_seed(0)
    extractor = gb.metrics.train_classifier_feature_extractor(
        held_out, labels[args.train_images :], feature_dim=64, epochs=5, seed=0
    )
    fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=500)
    held_out_features = fid.extract_features(held_out)

    def fid_of(model):
        fid.reset_state()
        samples = model.generate(args.samples, seed=args.seed)
        fid.update_features(held_out_features, fid.extract_features(samples))
        return float(fid.result())

    train_features = fid.extract_features(train)

    def fidelity_diversity_copies(model):
        """Precision/recall against the held-out digits, and copies of the training digits."""
        features = fid.extract_features(model.generate(args.samples, seed=args.seed))
        precision_recall = gb.metrics.PrecisionRecall(feature_extractor=extractor)
        precision_recall.update_features(held_out_features, features)
        copies = gb.metrics.memorization(features, train_features)
        return {
            **precision_recall.result(),
            "memorization_fraction": copies["fraction_copied"],
            "memorization_median_ratio": copies["median_ratio"],
        }

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print(
        f"keras {keras.__version__} ({keras.backend.backend()}), {machine}; "
        f"{len(train)} training digits, {len(held_out)} held out, {args.epochs} epochs of "
        f"batch {args.batch_size}, discriminator {args.discriminator}",
        flush=True,
    )
    results = {"config": vars(args), "machine": machine, "backend": keras.backend.backend()}
    for mode in args.augment.split(","):
        keras.utils.set_random_seed(args.seed)
        generator = gb.architectures.dcgan_generator(64, (28, 28, 1), filters=32)
        discriminator = discriminator_for(args.discriminator, args)
        gan = gb.models.GAN(
            generator,
            discriminator,
            latent_dim=64,
            augmentation=augmentation(mode, args),
            seed=args.seed,
        )
        gan.compile(
            generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        )
        probe = OverfittingProbe(train, probe_held_out, args.probe_every, fid_of)
        print(f"== {mode}", flush=True)
        start = time.perf_counter()
        history = gan.fit(
            train, batch_size=args.batch_size, epochs=args.epochs, callbacks=[probe], verbose=0
        ).history
        seconds = time.perf_counter() - start
        value = fid_of(gan)
        extra = fidelity_diversity_copies(gan)
        print(
            f"  FID {value:.2f} against {len(held_out)} held-out digits; precision "
            f"{extra['precision']:.3f}, recall {extra['recall']:.3f}; "
            f"{extra['memorization_fraction']:.1%} of samples copy a training digit; "
            f"{seconds:.0f} s",
            flush=True,
        )
        results[mode] = {
            "fid": value,
            **extra,
            "best_fid": min([row["fid"] for row in probe.rows] + [value]),
            "seconds": seconds,
            "probe": probe.rows,
            "augment_p": history.get("augment_p"),
        }
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    with open(args.output, "w") as file:
        json.dump(results, file, indent=1)
    print("FID: " + ", ".join(f"{m} {results[m]['fid']:.2f}" for m in args.augment.split(",")))


if __name__ == "__main__":
    main()
