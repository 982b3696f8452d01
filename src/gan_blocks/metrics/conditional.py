"""Metrics of conditional models: intra-class FID and the accuracy of a classifier on samples."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics.frechet_distance import FrechetDistance
from gan_blocks.metrics.generative_metric import to_numpy


def _labels(labels: Any, count: int, what: str) -> np.ndarray:
    labels = to_numpy(labels, what)
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1)
    if len(labels) != count:
        raise ValueError(f"Expected {count} {what} (one per image). Received {len(labels)}.")
    if not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError(f"{what} must be integer class indices (or one-hot rows).")
    return labels.astype("int64")


@gan_blocks_export()
def intra_class_fid(
    real: Any,
    real_labels: Any,
    generated: Any,
    generated_labels: Any,
    feature_extractor: Any = None,
    batch_size: int = 64,
) -> dict[str, Any]:
    """FID computed within each class and averaged: does every class look right?

    An unconditional FID can stay low while one class is wrong (its samples
    shifted towards another class, or collapsed), because the other classes
    dominate the statistics. Intra-class FID (Miyato and Koyama, 2018) fits
    the Gaussians per class, real images of class `c` against samples
    generated for class `c`, and averages the per-class distances.

    Args:
        real: Real features `(n, d)`, or images when `feature_extractor` is given.
        real_labels: Class of each real image (integers or one-hot rows).
        generated: Generated features `(m, d)`, or images.
        generated_labels: Class each sample was generated for.
        feature_extractor: `None` when `real`/`generated` are features already;
            otherwise a `keras.Model`/callable mapping images to features (use
            `gb.metrics.fid_inception_v3()` for comparable numbers).
        batch_size: Images per extractor call.

    Returns:
        Dict with `intra_class_fid` (mean over classes), `per_class` (class ->
        FID) and `worst_class`.

    Raises:
        ValueError: A class with fewer than 2 real or 2 generated samples, or
            classes present in one set only.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 500)
    >>> real = rng.normal(size=(1500, 2)) + labels[:, None] * 5.0
    >>> generated = rng.normal(size=(1500, 2)) + labels[:, None] * 5.0
    >>> generated[labels == 2] += 3.0  # class 2 is off
    >>> report = gb.metrics.intra_class_fid(real, labels, generated, labels)
    >>> report["worst_class"], 15 < report["per_class"][2] < 21  # |shift|^2 = 18
    (2, True)
    """
    encoder = FrechetDistance(
        feature_extractor=feature_extractor or (lambda x: x), batch_size=batch_size
    )
    real_features = encoder.extract_features(real)
    generated_features = encoder.extract_features(generated)
    real_labels = _labels(real_labels, len(real_features), "real labels")
    generated_labels = _labels(generated_labels, len(generated_features), "generated labels")
    classes = np.unique(real_labels)
    missing = sorted(set(np.unique(generated_labels).tolist()) ^ set(classes.tolist()))
    if missing:
        raise ValueError(
            f"Classes {missing} appear in only one of the real and generated sets; "
            "generate samples for every class of the real data."
        )
    per_class = {}
    for label in classes.tolist():
        real_class = real_features[real_labels == label]
        generated_class = generated_features[generated_labels == label]
        if len(real_class) < 2 or len(generated_class) < 2:
            raise ValueError(
                f"Class {label} has {len(real_class)} real and {len(generated_class)} "
                "generated samples; intra-class FID needs at least 2 of each (and, to be "
                "meaningful, more than the feature dimension)."
            )
        metric = FrechetDistance(feature_extractor=lambda x: x)
        metric.update_features(real_class, generated_class)
        per_class[label] = metric.result()
    return {
        "intra_class_fid": float(np.mean(list(per_class.values()))),
        "per_class": per_class,
        "worst_class": max(per_class, key=per_class.get),
    }


@gan_blocks_export()
def classification_accuracy(
    classifier: Any, images: Any, labels: Any, batch_size: int = 256
) -> dict[str, Any]:
    """Accuracy of a classifier on samples generated for given classes.

    Does a conditional generator draw the class it was asked for? A
    classifier trained on real labelled data (e.g. the one of
    `gb.metrics.train_classifier_feature_extractor(..., return_classifier=True)`)
    predicts the class of each sample; the accuracy against the requested
    labels is high only when the generator follows its labels. (This is the
    accuracy of a real-data classifier on generated samples, sometimes called
    GAN-test; Ravuri and Vinyals' Classification Accuracy Score trains a
    classifier on generated samples instead.)

    Args:
        classifier: `keras.Model`/callable mapping images to class scores
            `(batch, num_classes)`.
        images: Generated images.
        labels: The class each image was generated for.
        batch_size: Images per classifier call.

    Returns:
        Dict with `accuracy` and `per_class` (class -> accuracy).

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> one_hot = lambda x: np.eye(3)[x[:, 0].astype(int)]  # a perfect "classifier"
    >>> images = np.array([[0], [1], [2], [2]])
    >>> gb.metrics.classification_accuracy(one_hot, images, [0, 1, 2, 1])["accuracy"]
    0.75
    """
    images = to_numpy(images, "images")
    labels = _labels(labels, len(images), "labels")
    predictions = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        if isinstance(classifier, keras.Model):
            scores = classifier.predict_on_batch(batch)
        else:
            scores = classifier(batch)
        predictions.append(np.argmax(to_numpy(scores, "the classifier's output"), axis=-1))
    correct = np.concatenate(predictions) == labels
    return {
        "accuracy": float(correct.mean()),
        "per_class": {
            label: float(correct[labels == label].mean()) for label in np.unique(labels).tolist()
        },
    }
