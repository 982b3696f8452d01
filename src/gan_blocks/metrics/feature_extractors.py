"""Feature extractors for FID/KID/IS: InceptionV3 and a small trained classifier.

Two builders return a `keras.Model` mapping images to feature vectors:

- `inception_v3_feature_extractor`: the standard choice for natural images,
  InceptionV3 from `keras.applications` with ImageNet weights.
- `train_classifier_feature_extractor`: for small domains (MNIST-like) where
  ImageNet features mean little, a small conv classifier trained on labelled
  real images; its penultimate layer is the feature vector.

Any other `keras.Model` (or callable) mapping a batch of images to a
`(batch, features)` array can be passed to the metrics instead.
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

INCEPTION_IMAGE_SIZE = (299, 299)
INCEPTION_OUTPUTS = ("pool", "logits", "probabilities")
_RANGE_TOLERANCE = 1e-3
# Default extractors are built once per process and shared by all metrics, so
# FID and KID with default arguments run InceptionV3 once per image.
_DEFAULT_EXTRACTORS: dict[tuple, keras.Model] = {}


def _weights_help(output: str) -> str:
    filename = (
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
        if output == "pool"
        else "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    )
    return (
        "To fix this, either (1) run once with internet access: Keras downloads the "
        "ImageNet weights and caches them in ~/.keras/models/ (or $KERAS_HOME/models/); "
        f"or (2) copy {filename} from a machine that has it and pass its path, e.g. "
        "gb.metrics.FrechetDistance(weights='/path/to/" + filename + "'); or (3) pass "
        "any keras.Model mapping images to feature vectors as `feature_extractor=` "
        "(e.g. gb.metrics.train_classifier_feature_extractor(images, labels) for "
        "MNIST-like data)."
    )


def inception_v3_feature_extractor(
    weights: str | None = "imagenet",
    output: str = "pool",
    image_size: tuple[int, int] = INCEPTION_IMAGE_SIZE,
) -> keras.Model:
    """Builds InceptionV3 (`keras.applications`) as an image feature extractor.

    The returned model takes images of any height and width with 3 channels
    and values in [-1, 1] (InceptionV3's own input range, so no rescaling
    happens), resizes them to `image_size` with bilinear interpolation
    (`keras.layers.Resizing`, no antialiasing), and returns:

    - `output="pool"`: the 2048-d global-average-pooled last convolutional
      block ("pool3"), the features of FID and KID;
    - `output="probabilities"`: the 1000 ImageNet class probabilities
      (softmax), the classifier of the Inception Score;
    - `output="logits"`: the same before the softmax.

    Scores computed with these Keras weights follow the FID/KID/IS recipes
    but are not numerically identical to numbers from the original
    TensorFlow 2015 Inception graph (`pytorch-fid`, `TTUR`), whose weights
    and resize differ; compare numbers only under the same extractor.

    Args:
        weights: `"imagenet"` (downloaded once by Keras and cached in
            `~/.keras/models/`), the path of a local weights file
            (`..._notop.h5` for `output="pool"`, the full file otherwise),
            or `None` for random weights (tests only).
        output: `"pool"`, `"probabilities"` or `"logits"`.
        image_size: `(height, width)` the images are resized to. Must be
            `(299, 299)` unless `output="pool"`.

    Returns:
        A `keras.Model` named `inception_v3_{output}`.

    Raises:
        FileNotFoundError: When the weights file does not exist, or the
            ImageNet weights are neither cached nor downloadable (offline);
            the message says how to supply them.

    Example:
    >>> import gan_blocks as gb
    >>> gb.metrics.inception_v3_feature_extractor(weights="/nonexistent/w.h5")
    Traceback (most recent call last):
    ...
    FileNotFoundError: InceptionV3 weights file not found: ...

    Reference:
        Szegedy et al., "Rethinking the Inception Architecture for Computer
        Vision", CVPR 2016.
    """
    if output not in INCEPTION_OUTPUTS:
        raise ValueError(
            f"`output` must be one of {INCEPTION_OUTPUTS}. Received: output={output!r}"
        )
    try:
        image_size = tuple(int(s) for s in image_size)
    except TypeError:
        image_size = ()
    if len(image_size) != 2 or min(image_size) < 75:
        raise ValueError(
            "`image_size` must be (height, width) with both >= 75 (InceptionV3's minimum). "
            f"Received: image_size={image_size!r}"
        )
    if output != "pool" and image_size != INCEPTION_IMAGE_SIZE:
        raise ValueError(
            f"output={output!r} uses InceptionV3's classification head, which needs "
            f"image_size=(299, 299). Received: image_size={image_size!r}"
        )
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            "`weights` must be 'imagenet', a path to a weights file or None. "
            f"Received: weights={weights!r}"
        )
    if weights is not None and str(weights) != "imagenet":
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise FileNotFoundError(
                f"InceptionV3 weights file not found: weights={weights!r}. " + _weights_help(output)
            )
    include_top = output != "pool"
    try:
        base = keras.applications.InceptionV3(
            include_top=include_top,
            weights=weights,
            input_shape=image_size + (3,),
            pooling=None if include_top else "avg",
            classifier_activation="softmax" if output == "probabilities" else None,
        )
    except Exception as error:
        if weights == "imagenet" and (
            isinstance(error, OSError) or "fetch failure" in str(error).lower()
        ):
            raise FileNotFoundError(
                "Could not download the InceptionV3 ImageNet weights (no internet access?) "
                f"and they are not cached. Original error: {error}. " + _weights_help(output)
            ) from error
        raise
    inputs = keras.Input((None, None, 3), name="images")
    resized = keras.layers.Resizing(
        image_size[0], image_size[1], interpolation="bilinear", name="resize"
    )(inputs)
    return keras.Model(inputs, base(resized), name=f"inception_v3_{output}")


def default_feature_extractor(weights: str | None, output: str) -> keras.Model:
    """The shared, lazily built InceptionV3 extractor for `(weights, output)`."""
    key = (None if weights is None else str(weights), output)
    if key not in _DEFAULT_EXTRACTORS:
        _DEFAULT_EXTRACTORS[key] = inception_v3_feature_extractor(weights=weights, output=output)
    return _DEFAULT_EXTRACTORS[key]


def prepare_inception_images(images: np.ndarray) -> np.ndarray:
    """Checks images for InceptionV3: rank 4, 1 or 3 channels, values in [-1, 1].

    Grayscale images (one channel, or rank 3) are repeated to 3 channels.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "The InceptionV3 feature extractor expects images of shape "
            "(batch, height, width, 1 or 3) (channels last). "
            f"Received shape {images.shape}. Pass a `feature_extractor` made for your data "
            "otherwise."
        )
    images = images.astype("float32", copy=False)
    if images.size:
        low, high = float(images.min()), float(images.max())
        if low < -1.0 - _RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
            raise ValueError(
                "The InceptionV3 feature extractor expects images with values in [-1, 1] "
                f"(the tanh range of a generator). Received values in [{low:.4g}, {high:.4g}]. "
                "Rescale them, e.g. `images / 127.5 - 1` for uint8 images."
            )
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def describe_extractor(extractor: Any) -> str:
    """A short name of a feature extractor for a metric's protocol."""
    if isinstance(extractor, keras.layers.Layer):
        return extractor.name
    return getattr(extractor, "__name__", type(extractor).__name__)


def train_classifier_feature_extractor(
    images: Any,
    labels: Any,
    num_classes: int | None = None,
    feature_dim: int = 64,
    epochs: int = 5,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int = 0,
    return_classifier: bool = False,
) -> keras.Model | tuple[keras.Model, keras.Model]:
    """Trains a small conv classifier on labelled real images; returns its features.

    For small domains (MNIST, Fashion-MNIST, ...) ImageNet features are a
    poor fit, so FID/KID are often computed with a classifier trained on the
    real data instead ("FID with a domain classifier"). The classifier is
    Conv(32, stride 2) - Conv(64, stride 2) - Flatten - Dense(`feature_dim`,
    ReLU) - Dropout(0.3) - Dense(`num_classes`, softmax), trained with Adam
    and sparse categorical cross-entropy. The returned extractor maps images
    to the `feature_dim` ReLU activations of the penultimate layer.

    Scores computed with such an extractor are comparable only with scores
    computed with the very same extractor (same weights): save it with
    `extractor.save("extractor.keras")` and reload it for every evaluation,
    and report it with the numbers. They are not comparable to Inception
    FIDs. Feed generated images in the same value range as `images` (e.g.
    [-1, 1] for a tanh generator).

    Args:
        images: Real images, shape `(n, height, width, channels)` or
            `(n, height, width)` for grayscale.
        labels: Integer class labels, shape `(n,)`.
        num_classes: Number of classes; default `max(labels) + 1`.
        feature_dim: Size of the penultimate layer (the features).
        epochs: Training epochs.
        batch_size: Training batch size.
        learning_rate: Adam learning rate.
        seed: Seed of the weight initializers and dropout. `fit` shuffles with
            the global seed: call `keras.utils.set_random_seed` first for
            bitwise-reproducible training.
        verbose: Verbosity passed to `fit`.
        return_classifier: Also return the full classifier (softmax
            probabilities), e.g. as `InceptionScore(classifier=...)`.

    Returns:
        The feature extractor `keras.Model` named
        `classifier_feature_extractor`, or `(extractor, classifier)` when
        `return_classifier=True`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> rng = np.random.default_rng(0)
    >>> labels = np.arange(64) % 2
    >>> images = rng.uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    >>> images[labels == 1] *= 0.1
    >>> extractor = gb.metrics.train_classifier_feature_extractor(
    ...     images, labels, feature_dim=16, epochs=1)
    >>> extractor.predict(images[:3], verbose=0).shape
    (3, 16)
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(
            "`images` must have shape (n, height, width, channels) or (n, height, width). "
            f"Received shape {images.shape}."
        )
    labels = labels.reshape(-1) if labels.ndim == 2 and labels.shape[1] == 1 else labels
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            "`labels` must be integer class ids of shape (n,) matching the images. "
            f"Received labels of shape {labels.shape} for {len(images)} images."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"`labels` must be integer class ids (not one-hot). Received dtype {labels.dtype}."
        )
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    if num_classes < 2 or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"Labels must lie in [0, num_classes) with num_classes >= 2. Received "
            f"num_classes={num_classes} and labels in [{labels.min()}, {labels.max()}]."
        )
    if feature_dim < 1:
        raise ValueError(f"`feature_dim` must be >= 1. Received: feature_dim={feature_dim}")

    def init(offset: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=seed + offset)

    inputs = keras.Input(images.shape[1:], name="images")
    x = keras.layers.Conv2D(
        32, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(0)
    )(inputs)
    x = keras.layers.Conv2D(
        64, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(1)
    )(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(
        feature_dim, activation="relu", kernel_initializer=init(2), name="features"
    )(x)
    x = keras.layers.Dropout(0.3, seed=seed)(features)
    probabilities = keras.layers.Dense(
        num_classes, activation="softmax", kernel_initializer=init(3), name="probabilities"
    )(x)
    classifier = keras.Model(inputs, probabilities, name="classifier")
    classifier.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    classifier.fit(
        images.astype("float32"),
        labels.astype("int32"),
        batch_size=batch_size,
        epochs=epochs,
        verbose=verbose,
    )
    extractor = keras.Model(inputs, features, name="classifier_feature_extractor")
    if return_classifier:
        return extractor, classifier
    return extractor
