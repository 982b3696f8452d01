"""Real-vs-real FID floor on MNIST with a trained-classifier feature extractor.

Protocol: the 10k MNIST test images, scaled to [-1, 1]. A small conv classifier
(gb.metrics.train_classifier_feature_extractor, 64-d penultimate ReLU features,
5 epochs, seed 0) is trained on the first 5,000 images and labels; then the FID
(and KID) between the first 5,000 and the last 5,000 images is computed with
its features. Two sets of real images differ only by sampling, so this is the
lowest FID a perfect generator can expect under this protocol (5k vs 5k).

    KERAS_BACKEND=jax python benchmarks/mnist_fid_floor.py \
        --data-dir /path/to/mnist   # holds t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz
"""

import argparse
import gzip
import os
import platform
import time

import keras
import numpy as np

import gan_blocks as gb


def read_idx(path):
    with gzip.open(path, "rb") as file:
        data = file.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/work/shared/data/mnist")
    parser.add_argument("--feature-dim", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--generator",
        default=None,
        help="a saved gb.models.GAN (.keras): also report FID of 5,000 of its samples "
        "against the last 5,000 real images",
    )
    args = parser.parse_args()

    # ---------------------------------------------------------------- data
    images = read_idx(os.path.join(args.data_dir, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.data_dir, "t10k-labels-idx1-ubyte.gz")).astype("int32")
    images = (images.astype("float32") / 127.5 - 1.0)[..., None]
    first, last = images[:5000], images[5000:]

    # ----------------------------------------------------------- extractor
    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    extractor, classifier = gb.metrics.train_classifier_feature_extractor(
        first,
        labels[:5000],
        feature_dim=args.feature_dim,
        epochs=args.epochs,
        seed=args.seed,
        return_classifier=True,
    )
    train_seconds = time.perf_counter() - start
    predictions = np.argmax(classifier.predict(last, verbose=0), axis=1)
    accuracy = float(np.mean(predictions == labels[5000:]))

    # -------------------------------------------------------------- scores
    start = time.perf_counter()
    fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=500)
    kid = gb.metrics.KernelDistance(feature_extractor=extractor, batch_size=500)
    features_first = fid.extract_features(first)
    features_last = fid.extract_features(last)
    for metric in (fid, kid):
        metric.update_features(features_first, features_last)
    fid_value, kid_values = fid.result(), kid.log_values()
    score_seconds = time.perf_counter() - start
    # Precision/recall (k=3) and density/coverage (k=5), the papers' settings.
    start = time.perf_counter()
    manifold_metrics = (
        gb.metrics.PrecisionRecall(feature_extractor=extractor),
        gb.metrics.DensityCoverage(feature_extractor=extractor),
    )
    manifold_values = {}
    for metric in manifold_metrics:
        metric.update_features(features_first, features_last)
        manifold_values.update(metric.log_values())
    manifold_seconds = time.perf_counter() - start

    # Controls (2.5k vs 2.5k): halves of the images the classifier was trained
    # on, and halves of the held-out images; their gap to the number above shows
    # how much of it comes from the extractor having seen the first 5,000.
    controls = {}
    for label, features in (("train half", features_first), ("held-out half", features_last)):
        control = gb.metrics.FrechetDistance(feature_extractor=extractor)
        control.update_features(features[:2500], features[2500:])
        controls[label] = control.result()

    print(
        f"backend: {keras.backend.backend()}, machine: {platform.machine()} "
        f"{os.cpu_count()}-core CPU"
    )
    print(f"classifier accuracy on the last 5,000: {accuracy:.4f}")
    print(f"FID floor (first 5k vs last 5k): {fid_value:.4f}")
    print(f"KID (100 subsets of 1000): {kid_values['kid']:.6f} +- {kid_values['kid_std']:.6f}")
    text = ", ".join(f"{name} {value:.4f}" for name, value in manifold_values.items())
    print(f"real vs real: {text} ({manifold_seconds:.1f} s)")
    for label, value in controls.items():
        print(f"control FID within the {label} (2.5k vs 2.5k): {value:.4f}")
    if args.generator:
        gan = keras.models.load_model(args.generator)
        samples = gan.generate(num_samples=5000, seed=args.seed)
        generated = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=500)
        sample_features = generated.extract_features(samples)
        generated.update_features(features_last, sample_features)
        print(f"FID of {args.generator} (5k samples vs last 5k real): {generated.result():.4f}")
        values = {}
        for metric in manifold_metrics:
            metric.reset_state()
            metric.update_features(features_last, sample_features)
            values.update(metric.log_values())
        text = ", ".join(f"{name} {value:.4f}" for name, value in values.items())
        print(f"{args.generator} (5k samples vs last 5k real): {text}")
    print(f"protocol: {fid.protocol}")
    print(
        f"time: classifier training {train_seconds:.1f} s, features + FID + KID "
        f"{score_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
