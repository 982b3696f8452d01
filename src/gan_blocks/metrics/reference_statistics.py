"""`ReferenceStatistics`: a real image set encoded once (FID moments, k-NN features)."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics.frechet_distance import FrechetDistance, _Moments
from gan_blocks.metrics.generative_metric import to_numpy

_FORMAT_VERSION = 1


# Not `gan_blocks_export`ed: a data holder saved as `.npz`, not a Keras object.
class ReferenceStatistics:
    """What the metrics need to know about a real image set, computed once.

    Holds the mean and covariance of the real features (all that FID needs,
    exact whatever the set's size) and a uniform random subsample of up to
    `max_features` feature vectors (what KID, precision/recall and
    density/coverage need). `save` writes a plain `.npz` (no pickles);
    `load` reads it back. Every `gb.metrics` metric takes it through
    `metric.update_reference(statistics)`, and `gb.callbacks.GenerativeMetrics`
    and `gan-blocks evaluate --reference` accept it in place of real images.

    Build one with `gb.metrics.reference_statistics`.

    Args:
        mean: `(d,)` float64 mean of all real features.
        covariance: `(d, d)` float64 covariance (`ddof=1`) of all real features.
        count: Number of real images the moments come from.
        features: `(n, d)` float32 subsample of the real features, or `None`.
        feature_extractor: Name of the extractor (a metric checks it matches its own).
        protocol: Free-form description (extractor, resize, data source).

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> features = np.random.default_rng(0).normal(size=(100, 3))
    >>> stats = gb.metrics.ReferenceStatistics(
    ...     features.mean(0), np.cov(features, rowvar=False), 100, features, "identity")
    >>> stats.num_features, stats.feature_dim
    (100, 3)
    """

    def __init__(
        self,
        mean: Any,
        covariance: Any,
        count: int,
        features: Any = None,
        feature_extractor: str = "",
        protocol: dict[str, Any] | None = None,
    ):
        self.mean = np.asarray(mean, dtype="float64").reshape(-1)
        self.covariance = np.asarray(covariance, dtype="float64")
        d = self.mean.shape[0]
        if self.covariance.shape != (d, d):
            raise ValueError(
                f"Expected a covariance of shape ({d}, {d}) for a mean of shape ({d},). "
                f"Received covariance shape {self.covariance.shape}."
            )
        if not isinstance(count, (int, np.integer)) or count < 2:
            raise ValueError(f"`count` must be an int >= 2. Received: count={count!r}")
        self.count = int(count)
        if features is not None:
            features = np.asarray(features, dtype="float32")
            if features.ndim != 2 or features.shape[1] != d:
                raise ValueError(
                    f"Expected `features` of shape (n, {d}). Received shape {features.shape}."
                )
        self.features = features
        self.feature_extractor = str(feature_extractor)
        self.protocol = dict(protocol or {})

    @property
    def feature_dim(self) -> int:
        """Size of a feature vector."""
        return int(self.mean.shape[0])

    @property
    def num_features(self) -> int:
        """Number of feature vectors kept (0 when only the moments were kept)."""
        return 0 if self.features is None else int(len(self.features))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the statistics to an `.npz` file (`path` should end in `.npz`)."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            raise ValueError(f"Reference statistics are saved as `.npz`. Received path {path!r}.")
        arrays = {"mean": self.mean, "covariance": self.covariance}
        if self.features is not None:
            arrays["features"] = self.features
        header = {
            "format_version": _FORMAT_VERSION,
            "count": self.count,
            "feature_extractor": self.feature_extractor,
            "protocol": self.protocol,
        }
        np.savez(path, header=np.array(json.dumps(header)), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ReferenceStatistics:
        """Reads statistics written by `save`.

        Raises:
            ValueError: When the file is not gan-blocks reference statistics.
        """
        with np.load(os.fspath(path), allow_pickle=False) as data:
            if "header" not in data or "mean" not in data or "covariance" not in data:
                raise ValueError(
                    f"{os.fspath(path)!r} is not a gan-blocks reference statistics file "
                    f"(expected arrays header, mean, covariance; found {sorted(data.files)}). "
                    "Write one with gb.metrics.reference_statistics(...).save(path)."
                )
            header = json.loads(str(data["header"]))
            features = data["features"] if "features" in data else None
            return cls(
                data["mean"],
                data["covariance"],
                header["count"],
                features,
                header.get("feature_extractor", ""),
                header.get("protocol"),
            )

    def __repr__(self) -> str:
        return (
            f"ReferenceStatistics(count={self.count}, feature_dim={self.feature_dim}, "
            f"num_features={self.num_features}, "
            f"feature_extractor={self.feature_extractor!r})"
        )


def _image_batches(images_or_dataset: Any, batch_size: int):
    """Yields numpy image batches from an array or an iterable of batches."""
    if isinstance(images_or_dataset, np.ndarray) or hasattr(images_or_dataset, "shape"):
        images = to_numpy(images_or_dataset, "images")
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size]
        return
    try:
        iterator = iter(images_or_dataset)
    except TypeError:
        raise TypeError(
            "Expected images as an array of shape (n, height, width, channels) or an "
            "iterable of such batches (a tf.data.Dataset, a PyTorch DataLoader, a generator); "
            f"batches of (images, labels) tuples use their first element. Received: "
            f"{type(images_or_dataset).__name__}."
        ) from None
    for batch in iterator:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        elif isinstance(batch, dict):
            batch = batch.get("images", batch.get("image"))
        yield to_numpy(batch, "a batch of images")


@gan_blocks_export()
def reference_statistics(
    images_or_dataset: Any,
    extractor: Any = None,
    max_features: int = 50_000,
    seed: int = 0,
    weights: str | None = "imagenet",
    batch_size: int = 64,
) -> ReferenceStatistics:
    """Encodes a real image set once, for every later evaluation against it.

    One pass over the images accumulates the exact mean and covariance of
    their features (float64, streaming) and keeps a uniform random
    subsample of `max_features` feature vectors (reservoir sampling with
    `seed`): all of them for sets up to that size.

    Args:
        images_or_dataset: Images as an array `(n, height, width, channels)`
            or an iterable of batches (tf.data, a DataLoader, a generator;
            `(images, labels)` tuples use the images), in the range the
            extractor expects ([-1, 1] for the default InceptionV3).
        extractor: `None` for InceptionV3 pool3 features (2048-d), or any
            `keras.Model`/callable mapping images to `(batch, features)`.
            Use the same one in the metrics that read the statistics.
        max_features: Feature vectors kept for KID / precision-recall /
            density-coverage; 0 keeps only the FID moments.
        seed: Seed of the subsample.
        weights: Weights of the default extractor (`"imagenet"` or a path).
        batch_size: Images per extractor call.

    Returns:
        A `ReferenceStatistics`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> images = np.random.default_rng(0).uniform(-1, 1, (300, 4)).astype("float32")
    >>> stats = gb.metrics.reference_statistics(images, extractor=lambda x: x,
    ...                                         max_features=100)
    >>> stats.count, stats.num_features
    (300, 100)
    >>> fid = gb.metrics.FrechetDistance(feature_extractor=lambda x: x)
    >>> fid.update_reference(stats)
    >>> fid.update_state(generated_images=images)
    >>> abs(fid.result()) < 1e-9
    True
    """
    if not isinstance(max_features, (int, np.integer)) or max_features < 0:
        raise ValueError(
            f"`max_features` must be an int >= 0. Received: max_features={max_features!r}"
        )
    encoder = FrechetDistance(feature_extractor=extractor, weights=weights, batch_size=batch_size)
    moments = _Moments()
    rng = np.random.default_rng(seed)
    kept = None
    seen = 0
    for images in _image_batches(images_or_dataset, batch_size):
        if len(images) == 0:
            continue
        features = encoder.extract_features(images)
        if not np.all(np.isfinite(features)):
            raise ValueError(
                f"Features from {encoder.feature_extractor_name} contain NaN or inf; check "
                "the images."
            )
        moments.update(features)
        if max_features:
            if kept is None:
                kept = np.empty((max_features, features.shape[1]), dtype="float32")
            for row in features:
                # Reservoir sampling (Algorithm R): a uniform subsample of any stream.
                if seen < max_features:
                    kept[seen] = row
                else:
                    slot = rng.integers(0, seen + 1)
                    if slot < max_features:
                        kept[slot] = row
                seen += 1
        else:
            seen += len(features)
    if moments.count < 2:
        raise ValueError(f"Reference statistics need at least 2 images; received {moments.count}.")
    mean, covariance = moments.mean_and_covariance()
    encoder.num_real = moments.count
    encoder.feature_dim = int(mean.shape[0])
    protocol = encoder.protocol
    for key in ("metric", "name", "num_real", "num_generated"):
        protocol.pop(key, None)
    return ReferenceStatistics(
        mean,
        covariance,
        moments.count,
        None if kept is None else kept[: min(seen, max_features)],
        encoder.extractor_identity,
        protocol,
    )
