"""Sample quality of the SN-GAN recipe against the DCGAN tutorial's settings.

Protocol (issue #13). Real MNIST from IDX files (`--data-dir`): the first
`--train-images` (8,000) images train every model; the other 2,000 are held
out. Each `--models` entry trains for `--epochs` epochs at batch 64 from the
same seed:

- `dcgan`: `dcgan_generator(100, (28, 28, 1))` + `dcgan_discriminator`, the
  tutorial's training (non-saturating loss, `Adam(2e-4, beta_1=0.5)` for both).
- `sngan`: `sngan_generator(100, (28, 28, 1))` + `sngan_discriminator`, trained
  as SN-GAN users train them (hinge loss, `Adam(2e-4, beta_1=0.0, beta_2=0.9)`,
  one discriminator step).
- `sngan_conditional`: the same with `num_classes=10` in a `ConditionalGAN`.
- `stylegan2`: `stylegan2_generator(32, 1, preset=--stylegan2-preset)` +
  `stylegan2_discriminator` in `gb.models.StyleGAN2` with its own recipe
  (`compile()`'s defaults: non-saturating loss, lazy R1 with gamma 0.01,
  path-length penalty, Adam(0.0025, 0, 0.99), style mixing 0.9, EMA by
  half-life of 10k images), on the digits padded to 32x32 with the background
  value; its samples are cropped back to 28x28 for the judge.

`--minutes M` stops each model's training after M minutes of wall-clock time
(at the end of a batch) instead of after `--epochs`; the row says how many
images it saw. `--curve-minutes 4,8,16` scores each model at each of those
cumulative training minutes (the scoring time is not counted): one JSON line
per point (`"curve": true`), the FID-against-minutes curve of each model,
with the last epoch's mean logs. `--stylegan2-lr` and `--stylegan2-gamma`
override `StyleGAN2.compile`'s `learning_rate` and `r1_gamma`.

A classifier (`gb.metrics.train_classifier_feature_extractor`, seed 0, 3
epochs) is trained on the training images and labels; its penultimate features
give the FID of `--samples` generated digits against the held-out images, and
precision/recall (k=3) and density/coverage (k=5) in the same feature space. A
second, separately trained classifier (the same builder, seed 1,
`--judge-epochs` epochs: 98.35% held-out accuracy at 20) judges the class of
conditional samples (classes cycling 0..9); the FID classifier's verdict is
reported too (`class_accuracy_fid_classifier`). Every model keeps an
exponential moving average of its generator's weights (`generator_ema=--ema`;
it does not change training), so one run scores both the trained generator
(`fid`) and its average (`fid_ema`). Prints one JSON line per model with the
FIDs, seconds per epoch and the machine.

    KERAS_BACKEND=jax python benchmarks/quality.py --data-dir ../shared/data/mnist
    KERAS_BACKEND=jax python benchmarks/quality.py --models sngan --epochs 2
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
parser.add_argument("--models", default="dcgan,sngan,sngan_conditional")
parser.add_argument("--epochs", type=int, default=15)
parser.add_argument("--train-images", type=int, default=8000)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--samples", type=int, default=2000, help="generated images for the FID")
parser.add_argument("--latent-dim", type=int, default=100)
parser.add_argument("--ema", type=float, default=0.999, help="generator EMA decay")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--minutes", type=float, default=None, help="wall-clock budget per model")
parser.add_argument("--stylegan2-preset", default="small")
parser.add_argument(
    "--stylegan2-lr", type=float, default=None, help="compile(learning_rate=); default its own"
)
parser.add_argument(
    "--stylegan2-gamma", type=float, default=None, help="compile(r1_gamma=); default its own"
)
parser.add_argument(
    "--curve-minutes", default=None, help="score at these cumulative training minutes: 4,8,16"
)
parser.add_argument("--judge-epochs", type=int, default=20, help="epochs of the class judge")
args = parser.parse_args()

images, labels = gb.data.load_mnist_idx(args.data_dir, with_labels=True)
images = images.reshape(-1, 28, 28, 1).astype("float32")
train_images, train_labels = images[: args.train_images], labels[: args.train_images]
held_out, held_out_labels = images[args.train_images :], labels[args.train_images :]

keras.utils.set_random_seed(args.seed)
extractor, classifier = gb.metrics.train_classifier_feature_extractor(
    train_images, train_labels, epochs=3, seed=0, return_classifier=True
)
classifier_accuracy = float(
    np.mean(np.argmax(classifier.predict(held_out, verbose=0), -1) == held_out_labels)
)
# A stronger classifier than the FID one (3 epochs, about 95%) judges classes,
# so that the accuracy measures the generator rather than the judge.
_, judge = gb.metrics.train_classifier_feature_extractor(
    train_images, train_labels, epochs=args.judge_epochs, seed=1, return_classifier=True
)
judge_accuracy = float(
    np.mean(np.argmax(judge.predict(held_out, verbose=0), -1) == held_out_labels)
)
fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=500)
held_out_features = fid.extract_features(held_out)


def frechet_distance(samples):
    fid.reset_state()
    fid.update_features(held_out_features, fid.extract_features(samples))
    return float(fid.result())


def precision_recall_density_coverage(samples):
    """Precision/recall (k=3) and density/coverage (k=5) in the FID's feature space."""
    sample_features = fid.extract_features(samples)
    values = {}
    for metric in (
        gb.metrics.PrecisionRecall(feature_extractor=extractor),
        gb.metrics.DensityCoverage(feature_extractor=extractor),
    ):
        metric.update_features(held_out_features, sample_features)
        values.update(metric.log_values())
    return values


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `minutes` of wall-clock time have passed; counts the steps."""

    def __init__(self, minutes):
        super().__init__()
        self.seconds = None if minutes is None else 60.0 * minutes
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.seconds is not None and time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def pad_to_32(images):
    """28x28 digits in [-1, 1] on a 32x32 canvas of the background value -1."""
    return np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)


def build(name):
    shape = (28, 28, 1)
    if name == "stylegan2":
        preset = args.stylegan2_preset
        model = gb.models.StyleGAN2(
            gb.architectures.stylegan2_generator(32, 1, preset=preset),
            gb.architectures.stylegan2_discriminator(32, 1, preset=preset),
            seed=args.seed,
        )
        options = {"learning_rate": args.stylegan2_lr, "r1_gamma": args.stylegan2_gamma}
        model.compile(**{key: value for key, value in options.items() if value is not None})
        return model
    if name == "dcgan":
        model = gb.models.GAN(
            gb.architectures.dcgan_generator(args.latent_dim, shape),
            gb.architectures.dcgan_discriminator(shape),
            latent_dim=args.latent_dim,
            generator_ema=args.ema,
            seed=args.seed,
        )
        model.compile(
            generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            loss="non_saturating",
        )
        return model
    conditional = name == "sngan_conditional"
    classes = 10 if conditional else None
    generator = gb.architectures.sngan_generator(args.latent_dim, shape, num_classes=classes)
    discriminator = gb.architectures.sngan_discriminator(shape, num_classes=classes)
    options = {"generator_ema": args.ema, "seed": args.seed}
    if conditional:
        model = gb.models.ConditionalGAN(
            generator, discriminator, args.latent_dim, num_classes=10, **options
        )
    else:
        model = gb.models.GAN(generator, discriminator, args.latent_dim, **options)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        loss="hinge",
    )
    return model


def score(model, name):
    """FID, precision/recall/density/coverage of the model and of its EMA generator."""
    row = {}
    for suffix, use_ema in (("", False), ("_ema", True)):
        if name == "sngan_conditional":
            sample_labels = np.arange(args.samples) % 10
            samples = model.generate(labels=sample_labels, seed=args.seed + 1, use_ema=use_ema)
            for key, model_of_classes in (("", judge), ("_fid_classifier", classifier)):
                predicted = np.argmax(model_of_classes.predict(samples, verbose=0), -1)
                accuracy = float(np.mean(predicted == sample_labels))
                row["class_accuracy" + suffix + key] = round(accuracy, 4)
        else:
            samples = model.generate(args.samples, seed=args.seed + 1, use_ema=use_ema)
            if name == "stylegan2":
                samples = samples[:, 2:30, 2:30, :]
        row["fid" + suffix] = round(frechet_distance(samples), 2)
        for key, value in precision_recall_density_coverage(samples).items():
            row[key + suffix] = round(value, 4)
    return row


def train_curve(model, name, data):
    """Trains to each mark of `--curve-minutes` and prints a scored row at each."""
    marks = sorted(float(m) for m in args.curve_minutes.split(","))
    trained_seconds, steps = 0.0, 0
    for mark in marks:
        budget = TimeBudget(mark - trained_seconds / 60.0)
        started = time.perf_counter()
        history = model.fit(
            *data, batch_size=args.batch_size, epochs=10_000, callbacks=[budget], verbose=0
        )
        trained_seconds += time.perf_counter() - started
        steps += budget.steps
        row = {
            "model": name,
            "curve": True,
            "training_minutes": round(trained_seconds / 60.0, 2),
            "steps": steps,
            "images_seen": steps * args.batch_size,
            "backend": keras.backend.backend(),
        }
        row.update(score(model, name))
        row["last_logs"] = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
        print(json.dumps(row), flush=True)


for name in args.models.split(","):
    keras.utils.set_random_seed(args.seed)
    model = build(name)
    timer, budget = EpochTimer(), TimeBudget(args.minutes)
    data = (train_images, train_labels) if name == "sngan_conditional" else (train_images,)
    if name == "stylegan2":
        data = (pad_to_32(train_images),)
    if args.curve_minutes:
        train_curve(model, name, data)
        continue
    epochs = args.epochs if args.minutes is None else 10_000
    started = time.perf_counter()
    history = model.fit(
        *data, batch_size=args.batch_size, epochs=epochs, callbacks=[timer, budget], verbose=0
    )
    training_minutes = (time.perf_counter() - started) / 60.0
    row = {
        "model": name,
        "epochs": len(timer.times),
        "steps": budget.steps,
        "images_seen": budget.steps * args.batch_size,
        "training_minutes": round(training_minutes, 2),
        "train_images": len(train_images),
        # The first epoch includes compilation: report the median.
        "seconds_per_epoch": round(float(np.median(timer.times)), 2),
        "first_epoch_seconds": round(timer.times[0], 2),
        "generator_params": model.generator.count_params(),
        "discriminator_params": model.discriminator.count_params(),
    }
    row.update(score(model, name))
    row["final_logs"] = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
    row.update(
        real_train_fid=round(frechet_distance(train_images[: args.samples]), 2),
        real_train_prdc={
            key: round(value, 4)
            for key, value in precision_recall_density_coverage(
                train_images[: args.samples]
            ).items()
        },
        classifier_held_out_accuracy=round(classifier_accuracy, 4),
        judge_held_out_accuracy=round(judge_accuracy, 4),
        backend=keras.backend.backend(),
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    )
    print(json.dumps(row), flush=True)
