"""`GenerativeMetric`: base class of the streaming FID, KID and IS metrics."""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics import feature_extractors


def to_numpy(x: Any, what: str) -> np.ndarray:
    """Converts an eager tensor or array to numpy, with advice for symbolic ones."""
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception as error:
        raise ValueError(
            f"Could not read {what} as a concrete array ({type(x).__name__}): {error}. "
            "gan-blocks' generative metrics accumulate on the host in float64 and run "
            "eagerly: call `update_state` outside compiled functions (not in "
            "`model.compile(metrics=...)`), e.g. through gb.callbacks.GenerativeMetrics."
        ) from error


@gan_blocks_export()
class GenerativeMetric(keras.metrics.Metric):
    """Base class of metrics comparing real and generated images through features.

    A generative metric maps images to feature vectors with a feature
    extractor (InceptionV3 by default, built lazily on first use), and
    accumulates statistics of the real and the generated features separately
    in float64 numpy arrays on the host. Accumulating on the host keeps
    float64 precision on every backend (under JAX, float64 Keras variables
    silently become float32 unless x64 is enabled), so `update_state` runs
    eagerly only: call it outside compiled train steps, e.g. from a callback
    (`gb.callbacks.GenerativeMetrics`), never in `compile(metrics=...)`.

    Subclasses implement `_accumulate(features, real)`, `_reset(real)` and
    `result()`, and may extend `protocol` and `log_values`.

    Args:
        feature_extractor: `None` for the default InceptionV3 extractor
            (`gb.metrics.inception_v3_feature_extractor`), or any
            `keras.Model` (or callable) mapping a batch of images to a
            `(batch, features)` array.
        weights: Weights of the default extractor: `"imagenet"` (downloaded
            once and cached by Keras) or the path of a local weights file.
            Only valid with `feature_extractor=None`.
        batch_size: Images per feature-extractor call.
        name: Metric name, also its key in training logs.
        dtype: Unused (statistics are float64); kept for Keras.

    Call arguments:
        real_images: Batch of real images (numpy array or eager tensor), or
            `None`.
        generated_images: Batch of generated images, or `None`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> class MeanDistance(gb.metrics.GenerativeMetric):
    ...     def _reset(self, real):
    ...         setattr(self, "_real" if real else "_generated", [])
    ...     def _accumulate(self, features, real):
    ...         (self._real if real else self._generated).append(features)
    ...     def result(self):
    ...         self._require(1, 1)
    ...         means = [np.concatenate(f).mean(0) for f in (self._real, self._generated)]
    ...         return float(np.linalg.norm(means[0] - means[1]))
    >>> metric = MeanDistance(feature_extractor=lambda x: x, name="mean_distance")
    >>> metric.update_state(np.zeros((4, 2)), np.full((4, 2), [3.0, 4.0]))
    >>> metric.result(), metric.log_values()
    (5.0, {'mean_distance': 5.0})
    """

    #: Whether the metric uses real images (the Inception Score does not).
    uses_real_images: bool = True
    #: Output of the default InceptionV3 extractor this metric needs.
    default_extractor_output: str = "pool"
    #: Name of the `feature_extractor` argument in `__init__`/`get_config`.
    extractor_argument: str = "feature_extractor"

    def __init__(
        self,
        feature_extractor: Any = None,
        weights: str | None = "imagenet",
        batch_size: int = 64,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        if feature_extractor is not None and not callable(feature_extractor):
            raise TypeError(
                f"`{self.extractor_argument}` must be a keras.Model (or callable) mapping "
                f"images to feature vectors, or None for InceptionV3. Received: "
                f"{feature_extractor!r} of type {type(feature_extractor).__name__}"
            )
        if feature_extractor is not None and weights != "imagenet":
            raise ValueError(
                f"`weights` only applies to the default InceptionV3 extractor; pass either "
                f"`weights` or `{self.extractor_argument}`. Received: weights={weights!r} "
                f"and {self.extractor_argument}={feature_extractor!r}"
            )
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be an int >= 1. Received: batch_size={batch_size!r}"
            )
        self._feature_extractor = feature_extractor
        self.weights = weights
        self.batch_size = int(batch_size)
        self.num_real = 0
        self.num_generated = 0
        self.feature_dim = None
        self.reset_state()

    # ------------------------------------------------------------ extractor
    @property
    def uses_default_extractor(self) -> bool:
        """Whether the metric uses the built-in InceptionV3 extractor."""
        return self._feature_extractor is None

    def get_feature_extractor(self) -> Any:
        """Returns the feature extractor, building the default one if needed.

        The default InceptionV3 is built on first use (downloading its
        weights if they are not cached) and shared by all metrics of the
        process that use the same `weights`.
        """
        if self._feature_extractor is not None:
            return self._feature_extractor
        return feature_extractors.default_feature_extractor(
            self.weights, self.default_extractor_output
        )

    @property
    def uses_inception_input(self) -> bool:
        """Whether images are checked for [-1, 1] and grayscale is repeated to RGB.

        True for the default InceptionV3 and for `gb.metrics.fid_inception_v3`.
        """
        return self.uses_default_extractor or bool(
            getattr(self._feature_extractor, "_gan_blocks_inception_input", False)
        )

    @property
    def feature_extractor_name(self) -> str:
        """Name of the feature extractor (without building the default one)."""
        if self._feature_extractor is None:
            return f"inception_v3_{self.default_extractor_output}"
        return feature_extractors.describe_extractor(self._feature_extractor)

    def extract_features(self, images: Any) -> np.ndarray:
        """Maps images to a float64 `(n, features)` array in `batch_size` chunks.

        Args:
            images: Images (numpy array or eager tensor) as the extractor
                expects them; for the default InceptionV3, values in [-1, 1],
                channels last, 1 or 3 channels.

        Returns:
            Numpy float64 array of shape `(n, features)`.
        """
        images = to_numpy(images, "images")
        if self.uses_inception_input:
            images = feature_extractors.prepare_inception_images(images)
        if getattr(self._feature_extractor, "_gan_blocks_host_resize", False):
            from gan_blocks.metrics.fid_inception import clean_resize

            images = clean_resize(images)
        if images.ndim < 1 or len(images) == 0:
            raise ValueError(
                f"Expected a non-empty batch of images. Received shape {images.shape}."
            )
        extractor = self.get_feature_extractor()
        check_extractor_input(extractor, images)
        outputs = []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            if isinstance(extractor, keras.Model):
                features = extractor.predict_on_batch(batch)
            elif isinstance(extractor, keras.layers.Layer):
                features = extractor(batch, training=False)
            else:
                features = extractor(batch)
            outputs.append(to_numpy(features, "the feature extractor's output"))
        return np.concatenate(outputs, axis=0).astype("float64", copy=False)

    # ---------------------------------------------------------------- state
    def update_state(
        self,
        real_images: Any = None,
        generated_images: Any = None,
        sample_weight: Any = None,
    ) -> None:
        """Adds a batch of real and/or generated images to the statistics.

        Args:
            real_images: Real images, or `None` (ignored by metrics that do
                not use real images, such as the Inception Score).
            generated_images: Generated images, or `None`.
            sample_weight: Not supported; must be `None`.
        """
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__} does not support `sample_weight`.")
        if real_images is None and generated_images is None:
            raise ValueError("Pass `real_images`, `generated_images` or both. Received neither.")
        real_features = (
            self.extract_features(real_images)
            if real_images is not None and self.uses_real_images
            else None
        )
        generated_features = (
            self.extract_features(generated_images) if generated_images is not None else None
        )
        self.update_features(real_features, generated_features)

    def update_features(self, real_features: Any = None, generated_features: Any = None) -> None:
        """Adds precomputed feature vectors (the extractor's outputs) to the statistics.

        Use it to share one feature pass between several metrics, or to feed
        features computed elsewhere.

        Args:
            real_features: Array of shape `(n, d)` of real-image features, or `None`.
            generated_features: Array of shape `(m, d)`, or `None`.
        """
        for features, real in ((real_features, True), (generated_features, False)):
            if features is None or (real and not self.uses_real_images):
                continue
            features = to_numpy(features, "features").astype("float64", copy=False)
            if features.ndim != 2 or len(features) == 0:
                raise ValueError(
                    "Features must be a non-empty array of shape (num_images, feature_dim). "
                    f"Received shape {features.shape} from {self.feature_extractor_name}. "
                    "A feature extractor must end in a vector per image (e.g. global "
                    "average pooling or Flatten)."
                )
            if self.feature_dim is not None and features.shape[1] != self.feature_dim:
                raise ValueError(
                    f"Feature size changed: the metric has seen {self.feature_dim}-d features "
                    f"and now received {features.shape[1]}-d ones. Use the same feature "
                    "extractor for real and generated images, or call reset_state()."
                )
            if not np.all(np.isfinite(features)):
                raise ValueError(
                    f"Features from {self.feature_extractor_name} contain NaN or inf; "
                    "check the images (a diverged generator?)."
                )
            self.feature_dim = int(features.shape[1])
            self._accumulate(features, real)
            if real:
                self.num_real += len(features)
            else:
                self.num_generated += len(features)

    @property
    def extractor_identity(self) -> str:
        """The extractor's name, with the weights for the default InceptionV3.

        `gb.metrics.ReferenceStatistics` records it, and `update_reference`
        checks that it matches.
        """
        name = self.feature_extractor_name
        if self.uses_default_extractor:
            name = f"{name} (weights={self.weights})"
        elif hasattr(self._feature_extractor, "_gan_blocks_weights"):
            name = (
                f"{name} (weights={os.path.basename(self._feature_extractor._gan_blocks_weights)})"
            )
        return name

    def _check_reference(self, statistics: Any, check_extractor: bool) -> None:
        from gan_blocks.metrics.reference_statistics import ReferenceStatistics

        if not isinstance(statistics, ReferenceStatistics):
            raise TypeError(
                "`update_reference` takes gb.metrics.ReferenceStatistics (from "
                "gb.metrics.reference_statistics(...) or ReferenceStatistics.load(path)). "
                f"Received: {type(statistics).__name__}."
            )
        if check_extractor and statistics.feature_extractor != self.extractor_identity:
            raise ValueError(
                f"The reference statistics were computed with the feature extractor "
                f"{statistics.feature_extractor!r}, but {type(self).__name__} uses "
                f"{self.extractor_identity!r}: features of different extractors are not "
                "comparable. Use the same extractor, or pass check_extractor=False when "
                "they are the same network under another name."
            )
        if self.feature_dim is not None and statistics.feature_dim != self.feature_dim:
            raise ValueError(
                f"The reference statistics hold {statistics.feature_dim}-d features, but "
                f"the metric has seen {self.feature_dim}-d ones. Use the same extractor, or "
                "call reset_state()."
            )

    def update_reference(self, statistics: Any, check_extractor: bool = True) -> None:
        """Replaces the real-image statistics with precomputed reference statistics.

        The real set is then encoded once (`gb.metrics.reference_statistics`,
        saved as `.npz`) instead of at every evaluation. Metrics that do not
        use real images (the Inception Score) ignore it.

        Args:
            statistics: A `gb.metrics.ReferenceStatistics`.
            check_extractor: Whether to require that the statistics were
                computed with this metric's feature extractor (by name, and
                weights for the default InceptionV3).

        Raises:
            ValueError: Different extractor, feature size, or (for metrics
                that need feature vectors) statistics saved without features.
        """
        if not self.uses_real_images:
            return
        self._check_reference(statistics, check_extractor)
        if statistics.features is None or len(statistics.features) < 2:
            raise ValueError(
                f"{type(self).__name__} needs real feature vectors, but these reference "
                "statistics keep only the mean and covariance (max_features=0). Recompute "
                "them with max_features > 0 (50000 by default)."
            )
        self.reset_real_state()
        self.update_features(real_features=statistics.features)

    def reset_state(self) -> None:
        """Clears the statistics of both the real and the generated images."""
        self.reset_real_state()
        self.reset_generated_state()

    def reset_real_state(self) -> None:
        """Clears the real-image statistics only."""
        self.num_real = 0
        self._reset(real=True)
        if not self.num_generated:
            self.feature_dim = None

    def reset_generated_state(self) -> None:
        """Clears the generated-image statistics only (real statistics are kept).

        Real images do not change during training, so a callback can keep
        their statistics and only recompute the generated ones.
        """
        self.num_generated = 0
        self._reset(real=False)
        if not self.num_real:
            self.feature_dim = None

    def _accumulate(self, features: np.ndarray, real: bool) -> None:
        raise NotImplementedError

    def _reset(self, real: bool) -> None:
        raise NotImplementedError

    def _require(self, num_real: int, num_generated: int, hint: str = "") -> None:
        if self.num_real >= num_real and self.num_generated >= num_generated:
            return
        needed = [
            f"{count} {kind}"
            for count, kind in ((num_real, "real"), (num_generated, "generated"))
            if count
        ]
        seen = [
            f"{seen} {kind}"
            for seen, count, kind in (
                (self.num_real, num_real, "real"),
                (self.num_generated, num_generated, "generated"),
            )
            if count
        ]
        raise ValueError(
            f"{type(self).__name__} needs at least {' and '.join(needed)} images; it has "
            f"seen {' and '.join(seen)}. Pass more images to update_state{hint}."
        )

    # -------------------------------------------------------------- results
    @property
    def log_names(self) -> list[str]:
        """Keys this metric adds to training logs (see `log_values`)."""
        return [self.name]

    def log_values(self) -> dict[str, float]:
        """The metric's values for training logs, keyed by `log_names`."""
        return {self.name: float(self.result())}

    @property
    def protocol(self) -> dict[str, Any]:
        """How the number was obtained: counts, extractor, resize, settings.

        Report it with the number: FID/KID/IS depend on the extractor, the
        image resize and the number of images.
        """
        protocol: dict[str, Any] = {
            "metric": type(self).__name__,
            "name": self.name,
            "num_real": int(self.num_real),
            "num_generated": int(self.num_generated),
            "feature_extractor": self.feature_extractor_name,
            "feature_dim": self.feature_dim,
        }
        if self.uses_default_extractor:
            protocol.update(
                weights=self.weights,
                image_size=list(feature_extractors.INCEPTION_IMAGE_SIZE),
                resize="bilinear, no antialiasing, from images in [-1, 1]",
            )
        else:
            extractor = self._feature_extractor
            shape = None
            if isinstance(extractor, keras.Model) and getattr(extractor, "inputs", None):
                shape = list(extractor.inputs[0].shape[1:])
            resize = getattr(extractor, "_gan_blocks_resize", "none (the extractor's own)")
            protocol.update(extractor_input_shape=shape, resize=resize)
        if not self.uses_real_images:
            protocol.pop("num_real")
        return protocol

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        extractor = self._feature_extractor
        config.update(
            {
                self.extractor_argument: None
                if extractor is None
                else keras.saving.serialize_keras_object(extractor),
                "weights": self.weights,
                "batch_size": self.batch_size,
                # Informational; ignored by from_config.
                "protocol": self.protocol,
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GenerativeMetric:
        config = dict(config)
        config.pop("protocol", None)
        extractor = config.get(cls.extractor_argument)
        if extractor is not None:
            config[cls.extractor_argument] = keras.saving.deserialize_keras_object(extractor)
        return cls(**config)


def check_extractor_input(extractor: Any, images: np.ndarray) -> None:
    """Raises a clear error when `images` do not fit a Keras extractor's declared input.

    Models built with `keras.Input` declare their image shape; without this
    check a wrong image size fails deep in the backend (a matrix size
    mismatch in a `Dense` layer, say) after other images were encoded.
    """
    try:
        inputs = extractor.inputs if isinstance(extractor, keras.Model) else None
    except (AttributeError, ValueError):  # A subclassed model never called.
        inputs = None
    if not inputs or len(inputs) != 1:
        return
    expected = tuple(inputs[0].shape)[1:]
    received = tuple(images.shape)[1:]
    if len(expected) != len(received) or any(
        want is not None and want != got for want, got in zip(expected, received)
    ):
        shown = tuple("None" if size is None else size for size in expected)
        raise ValueError(
            f"The feature extractor {extractor.name!r} takes images of shape "
            f"(batch, {', '.join(map(str, shown))}); received images of shape "
            f"{tuple(images.shape)}. Resize the images to the extractor's input, or use an "
            "extractor built for this size."
        )
