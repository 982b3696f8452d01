"""`gan-blocks evaluate`: FID, KID, IS, precision/recall, density/coverage from the command line."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

from gan_blocks.cli import image_sources

METRIC_NAMES = ("fid", "kid", "precision_recall", "density_coverage", "inception_score")
ALIASES = {"pr": "precision_recall", "dc": "density_coverage", "is": "inception_score"}
CHUNK = 500  # images per feature pass (and per progress update)


def add_parser(commands: Any) -> None:
    """Adds `evaluate` to the `gan-blocks` sub-commands."""
    parser = commands.add_parser(
        "evaluate",
        help="score generated images against real ones",
        description=(
            "Score generated images against a real reference set. SOURCE is a saved "
            "gan-blocks model (.keras: its `generate` samples, EMA generator by default), a "
            "folder of PNG/JPEG images, a prepared dataset (gan-blocks prepare), or an .npz of "
            "images (uint8, or float in [-1, 1]). REFERENCE is any of those images, or "
            "reference statistics saved with "
            "--save-reference / gb.metrics.reference_statistics(...).save(path)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "source", help="model .keras, image folder, prepared dataset or images .npz"
    )
    parser.add_argument(
        "--reference",
        required=True,
        help="image folder, prepared dataset, .npz, or statistics",
    )
    parser.add_argument(
        "--metrics",
        default="fid,kid,precision_recall,density_coverage",
        help=f"comma-separated, from {', '.join(METRIC_NAMES)} (pr, dc, is for short)",
    )
    parser.add_argument(
        "--extractor",
        default="inception",
        help="'fid-inception' (the TF-FID Inception of published FIDs, pytorch-fid's "
        "weights), 'inception' (keras.applications InceptionV3, ImageNet weights), or a "
        ".keras model mapping images to feature vectors",
    )
    parser.add_argument(
        "--weights",
        default=None,
        help="weights of the Inception extractors: for 'fid-inception' pytorch-fid's .pth, "
        "its .npz conversion (gan-blocks convert-inception) or URL (default: its release "
        "URL); for 'inception' 'imagenet' (default) or a local weights file",
    )
    parser.add_argument("--num-samples", type=int, default=10_000, help="samples of a model")
    parser.add_argument("--seed", type=int, default=0, help="seed of a model's latents")
    parser.add_argument("--no-ema", action="store_true", help="sample the raw generator")
    parser.add_argument("--truncation", type=float, default=None, help="latent truncation")
    parser.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=None,
        help="channels of folder images (default: the first image's)",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="images per extractor call")
    parser.add_argument(
        "--save-reference",
        default=None,
        help="save the reference's statistics to this .npz for later runs",
    )
    parser.add_argument(
        "--train-reference",
        default=None,
        help="training images (folder, .npz or statistics with features): report samples "
        "much closer to a training image than training images are to each other",
    )
    parser.add_argument(
        "--copy-threshold",
        type=float,
        default=0.5,
        help="distance ratio below which a sample counts as a copy of a training image",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def _metric_names(text: str, default_extractor: bool) -> list[str]:
    names = []
    for name in (part.strip().lower() for part in text.split(",") if part.strip()):
        name = ALIASES.get(name, name)
        if name not in METRIC_NAMES:
            raise ValueError(
                f"Unknown metric {name!r}; choose from {', '.join(METRIC_NAMES)} (or pr, dc, is)."
            )
        if name == "inception_score" and not default_extractor:
            raise ValueError(
                "The Inception Score needs InceptionV3's class logits: use it with "
                "--extractor fid-inception or inception."
            )
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError(f"--metrics names no metric. Received {text!r}.")
    return names


def _build_metrics(
    names: list[str], extractor: Any, args: argparse.Namespace, batch_size: int
) -> list:
    import gan_blocks as gb

    weights = args.weights

    classes = {
        "fid": gb.metrics.FrechetDistance,
        "kid": gb.metrics.KernelDistance,
        "precision_recall": gb.metrics.PrecisionRecall,
        "density_coverage": gb.metrics.DensityCoverage,
    }
    metrics = []
    for name in names:
        if name == "inception_score" and args.extractor == "fid-inception":
            # TF-FID's Inception Score: softmax of the 1008 logits.
            classifier = gb.metrics.fid_inception_v3(weights=weights, output="logits")
            metrics.append(
                gb.metrics.InceptionScore(classifier, from_logits=True, batch_size=batch_size)
            )
        elif name == "inception_score":
            metrics.append(gb.metrics.InceptionScore(weights=weights, batch_size=batch_size))
        elif extractor is None:
            metrics.append(classes[name](weights=weights, batch_size=batch_size))
        else:
            metrics.append(classes[name](feature_extractor=extractor, batch_size=batch_size))
    return metrics


def _reference(args: argparse.Namespace, extractor: Any, path: str | None = None):
    import gan_blocks as gb

    path = path or args.reference
    if path.endswith(".npz") and os.path.isfile(path):
        with np.load(path, allow_pickle=False) as data:
            is_statistics = image_sources.STATISTICS_KEY in data.files
        if is_statistics:
            return gb.metrics.ReferenceStatistics.load(path), "statistics"
    images = image_sources.read_images(path, args.channels)
    batches = (images[i : i + CHUNK] for i in range(0, len(images), CHUNK))

    def with_progress():
        for index, batch in enumerate(batches):
            yield batch
            image_sources.progress(f"encoding {path}", index * CHUNK + len(batch), len(images))

    statistics = gb.metrics.reference_statistics(
        with_progress(),
        extractor,
        weights=args.weights if extractor is None else "imagenet",
        batch_size=args.batch_size,
    )
    statistics.protocol["source"] = os.path.abspath(path)
    return statistics, "images"


def _source_images(args: argparse.Namespace) -> np.ndarray:
    if args.source.endswith(".keras"):
        if not os.path.isfile(args.source):
            raise FileNotFoundError(f"No such model file: {args.source!r}.")
        if args.num_samples < 2:
            raise ValueError(f"--num-samples must be >= 2. Received {args.num_samples}.")
        return image_sources.generated_images(
            args.source,
            args.num_samples,
            args.seed,
            use_ema=not args.no_ema,
            truncation=args.truncation,
        )
    return image_sources.read_images(args.source, args.channels)


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Computes the requested metrics; returns values, counts and protocol."""
    import keras

    import gan_blocks as gb

    start = time.perf_counter()
    paths = [("SOURCE", args.source), ("--reference", args.reference)]
    if args.train_reference:
        paths.append(("--train-reference", args.train_reference))
    for what, path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file or folder for {what}: {path!r}.")
    extractor = None
    if args.extractor == "fid-inception":
        from gan_blocks.metrics.fid_inception import FID_WEIGHTS_URL

        args.weights = args.weights or FID_WEIGHTS_URL
        extractor = gb.metrics.fid_inception_v3(weights=args.weights, output="pool")
    elif args.extractor != "inception":
        if not os.path.isfile(args.extractor):
            raise FileNotFoundError(f"No such extractor model: {args.extractor!r}.")
        extractor = keras.models.load_model(args.extractor)
    if args.extractor == "inception":
        args.weights = args.weights or "imagenet"
    names = _metric_names(args.metrics, extractor is None or args.extractor == "fid-inception")
    metrics = _build_metrics(names, extractor, args, args.batch_size)
    statistics, reference_kind = None, None
    if any(metric.uses_real_images for metric in metrics) or args.save_reference:
        statistics, reference_kind = _reference(args, extractor)
        if args.save_reference:
            statistics.save(args.save_reference)
        for metric in metrics:
            metric.update_reference(statistics)
    training = None
    if args.train_reference:
        training, _ = _reference(args, extractor, args.train_reference)
        if training.features is None:
            raise ValueError(
                f"{args.train_reference!r} keeps no feature vectors (max_features=0): the "
                "memorisation check needs them."
            )
    # The pool-feature encoder of the training set, for the memorisation check.
    encoder = gb.metrics.FrechetDistance(
        feature_extractor=extractor,
        weights=args.weights if extractor is None else "imagenet",
        batch_size=args.batch_size,
    )
    if training is not None and training.feature_extractor != encoder.extractor_identity:
        raise ValueError(
            f"The --train-reference statistics were computed with "
            f"{training.feature_extractor!r}, but this run's extractor is "
            f"{encoder.extractor_identity!r}: distances between their features mean nothing."
        )
    images = _source_images(args)
    features_by_extractor: dict[int, np.ndarray] = {}
    generated_pool_features = []
    for index in range(0, len(images), CHUNK):
        batch = images[index : index + CHUNK]
        features_by_extractor.clear()
        users = metrics + ([encoder] if training is not None else [])
        for metric in users:
            key = id(metric.get_feature_extractor())
            if key not in features_by_extractor:
                features_by_extractor[key] = metric.extract_features(batch)
            if metric is encoder:
                generated_pool_features.append(features_by_extractor[key])
            else:
                metric.update_features(generated_features=features_by_extractor[key])
        image_sources.progress("encoding the source", index + len(batch), len(images))
    values: dict[str, float] = {}
    for metric in metrics:
        values.update(metric.log_values())
    memorization = None
    if training is not None:
        report = gb.metrics.memorization(
            np.concatenate(generated_pool_features), training.features, args.copy_threshold
        )
        values["memorization_fraction"] = report["fraction_copied"]
        values["memorization_median_ratio"] = report["median_ratio"]
        memorization = {
            "copies": report["copies"].tolist()[:100],
            "num_copies": int(len(report["copies"])),
            "threshold": report["threshold"],
            "training_features": int(len(training.features)),
        }
    return {
        "memorization": memorization,
        "metrics": values,
        "num_generated": int(len(images)),
        "num_real": None if statistics is None else statistics.count,
        "source": os.path.abspath(args.source),
        "reference": os.path.abspath(args.reference),
        "reference_kind": reference_kind,
        "feature_extractor": metrics[0].extractor_identity,
        "backend": keras.backend.backend(),
        "seconds": round(time.perf_counter() - start, 2),
        "protocol": {metric.name: metric.protocol for metric in metrics},
    }


def run(args: argparse.Namespace) -> int:
    """`gan-blocks evaluate`: prints the metrics (JSON with `--json`)."""
    report = evaluate(args)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    print(
        f"{report['num_generated']} images of {args.source} vs {report['num_real']} of "
        f"{args.reference}, features: {report['feature_extractor']}"
    )
    for name, value in report["metrics"].items():
        print(f"{name}: {value:.6g}")
    if report["memorization"]:
        found = report["memorization"]
        print(
            f"{found['num_copies']} of {report['num_generated']} samples are closer to a "
            f"training image than {found['threshold']} x its own nearest-neighbour distance"
            + (f" (first: {found['copies'][:10]})" if found["num_copies"] else "")
        )
    print(f"({report['seconds']:.1f} s)")
    return 0
