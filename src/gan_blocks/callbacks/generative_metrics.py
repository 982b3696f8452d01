"""`GenerativeMetrics`: FID/KID/IS of generated samples in the epoch logs."""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import numpy as np

from gan_blocks.metrics.density_coverage import DensityCoverage
from gan_blocks.metrics.frechet_distance import FrechetDistance
from gan_blocks.metrics.generative_metric import GenerativeMetric
from gan_blocks.metrics.inception_score import InceptionScore
from gan_blocks.metrics.kernel_distance import KernelDistance
from gan_blocks.metrics.precision_recall import PrecisionRecall
from gan_blocks.metrics.reference_statistics import ReferenceStatistics

_METRICS_BY_NAME = {
    "fid": FrechetDistance,
    "kid": KernelDistance,
    "inception_score": InceptionScore,
    "is": InceptionScore,
    "precision_recall": PrecisionRecall,
    "density_coverage": DensityCoverage,
}


def _resolve_metric(metric: Any) -> GenerativeMetric:
    if isinstance(metric, str):
        if metric.lower() not in _METRICS_BY_NAME:
            raise ValueError(
                f"Unknown metric name {metric!r}; known names: "
                f"{sorted(_METRICS_BY_NAME)}, or pass a gb.metrics object."
            )
        return _METRICS_BY_NAME[metric.lower()]()
    if not isinstance(metric, GenerativeMetric):
        raise TypeError(
            "GenerativeMetrics takes gb.metrics objects (FrechetDistance, KernelDistance, "
            "InceptionScore or another gb.metrics.GenerativeMetric subclass) or their names. "
            f"Received: {metric!r} of type {type(metric).__name__}"
        )
    return metric


# Not `gan_blocks_export`ed: Keras never serializes callbacks (they have no
# get_config), and this one holds the real images.
class GenerativeMetrics(keras.callbacks.Callback):
    """Computes FID, KID, IS, ... of generated samples and adds them to the epoch logs.

    At the end of an evaluated epoch the callback generates `num_samples`
    images with `self.model.generate(num_samples=..., seed=...)` (which uses
    the EMA generator when the model keeps one), feeds them and `real_data`
    to each metric, and writes every metric's `log_values()` into the epoch
    `logs`: `fid`, `kid` and `kid_std`, `inception_score` and
    `inception_score_std` with the default metric names. So `History`,
    `CSVLogger`, `ModelCheckpoint(monitor="fid", mode="min")`, `EarlyStopping`
    and TensorBoard see them; put this callback before those in `callbacks`.

    Which epochs: every `every_n_epochs`-th epoch, plus the first and the
    last epoch of `fit`. On other epochs the keys are logged as NaN so that
    `History` and `CSVLogger` columns stay aligned with epochs; NaN never
    counts as an improvement for `ModelCheckpoint`, but counts towards
    `EarlyStopping`'s patience, so size it in epochs.

    Cost: the real images' statistics are computed once per `fit` call and
    kept; each evaluation then extracts features of `num_samples` generated
    images. Metrics sharing one feature extractor (FID and KID with the
    default InceptionV3) share one feature pass. Latents come from a fixed
    `seed`, so every evaluation scores the same latents, which lowers the
    epoch-to-epoch noise of the curve.

    Args:
        real_data: Real images as a numpy array, in the range the metrics'
            feature extractor expects ([-1, 1] for InceptionV3), or
            `gb.metrics.ReferenceStatistics` computed once with the metrics'
            extractor (`gb.metrics.reference_statistics`).
        metrics: List of `gb.metrics` objects (or the names `"fid"`,
            `"kid"`, `"inception_score"`, `"precision_recall"`,
            `"density_coverage"` for their defaults). Default:
            `[gb.metrics.FrechetDistance()]`.
        num_samples: Generated images per evaluation; default
            `len(real_data)` (the statistics' image count).
        every_n_epochs: Evaluate every this many epochs.
        batch_size: Images generated and fed to the metrics per step.
        seed: Seed of the latents; `None` for fresh latents at every
            evaluation.
        verbose: 1 prints the values and the time taken.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> generator = keras.Sequential([keras.Input((4,)),
    ...     keras.layers.Dense(2, activation="tanh")])
    >>> discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> gan = gb.models.GAN(generator, discriminator, latent_dim=4, seed=0)
    >>> gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    >>> data = np.random.uniform(-1, 1, (128, 2)).astype("float32")
    >>> fid = gb.metrics.FrechetDistance(feature_extractor=lambda x: x)  # 2-d "features"
    >>> history = gan.fit(data, batch_size=32, epochs=2, verbose=0,
    ...     callbacks=[gb.callbacks.GenerativeMetrics(data, [fid], num_samples=128)])
    >>> len(history.history["fid"])
    2
    """

    def __init__(
        self,
        real_data: Any,
        metrics: list[Any] | None = None,
        num_samples: int | None = None,
        every_n_epochs: int = 1,
        batch_size: int = 128,
        seed: int | None = 0,
        verbose: int = 0,
    ):
        super().__init__()
        self.reference = real_data if isinstance(real_data, ReferenceStatistics) else None
        real_data = np.zeros((0, 0)) if self.reference is not None else np.asarray(real_data)
        if self.reference is None and (real_data.ndim < 2 or len(real_data) < 2):
            raise ValueError(
                "`real_data` must be a numpy array of at least 2 real images, shape "
                f"(n, ...). Received shape {real_data.shape}. (Reference statistics "
                "computed once with gb.metrics.reference_statistics are accepted too.)"
            )
        self.real_data = real_data
        metrics = [FrechetDistance()] if metrics is None else list(metrics)
        if not metrics:
            raise ValueError("`metrics` must contain at least one metric. Received: []")
        self.metrics = [_resolve_metric(metric) for metric in metrics]
        names = [name for metric in self.metrics for name in metric.log_names]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(
                f"Two metrics log under the same name(s) {duplicates}; give them distinct "
                "`name=` arguments."
            )
        self.log_names = names
        if num_samples is None:
            num_samples = len(real_data) if self.reference is None else self.reference.count
        for argument, value in (
            ("num_samples", num_samples),
            ("every_n_epochs", every_n_epochs),
            ("batch_size", batch_size),
        ):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(
                    f"`{argument}` must be an int >= 1. Received: {argument}={value!r}"
                )
        self.num_samples = int(num_samples)
        self.every_n_epochs = int(every_n_epochs)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.verbose = verbose
        self.last_evaluation_seconds = None
        self._real_seen = False
        self._evaluated_in_fit = False

    # ------------------------------------------------------------- feeding
    def _feed(self, images: np.ndarray, real: bool) -> None:
        features_by_extractor: dict[int, np.ndarray] = {}
        for metric in self.metrics:
            if real and not metric.uses_real_images:
                continue
            key = id(metric.get_feature_extractor())
            if key not in features_by_extractor:
                features_by_extractor[key] = metric.extract_features(images)
            features = features_by_extractor[key]
            if real:
                metric.update_features(real_features=features)
            else:
                metric.update_features(generated_features=features)

    def _feed_real_data(self) -> None:
        for metric in self.metrics:
            metric.reset_state()
            if self.reference is not None:
                metric.update_reference(self.reference)
        if self.reference is None and any(metric.uses_real_images for metric in self.metrics):
            for start in range(0, len(self.real_data), self.batch_size):
                self._feed(self.real_data[start : start + self.batch_size], real=True)
        self._real_seen = True

    def evaluate(self) -> dict[str, float]:
        """Generates `num_samples` images and returns every metric's log values.

        Can also be called outside `fit` after `set_model(model)`.

        Returns:
            Dict from log name (e.g. `"fid"`) to value.
        """
        model = self.model
        if model is None or not hasattr(model, "generate"):
            raise ValueError(
                "GenerativeMetrics needs a model with a `generate(num_samples, seed)` method "
                f"(gb.models.GAN, ConditionalGAN, VAE). Received: {model!r}"
            )
        start_time = time.perf_counter()
        if not self._real_seen:
            self._feed_real_data()
        else:
            for metric in self.metrics:
                metric.reset_generated_state()
        chunks = math.ceil(self.num_samples / self.batch_size)
        seeds = np.random.default_rng(self.seed).integers(0, 2**31 - 1, size=chunks)
        for index, chunk_seed in enumerate(seeds):
            count = min(self.batch_size, self.num_samples - index * self.batch_size)
            images = np.asarray(model.generate(num_samples=count, seed=int(chunk_seed)))
            self._feed(images, real=False)
        values: dict[str, float] = {}
        for metric in self.metrics:
            values.update(metric.log_values())
        self.last_evaluation_seconds = time.perf_counter() - start_time
        return values

    # ----------------------------------------------------------- callbacks
    def on_train_begin(self, logs: dict | None = None) -> None:
        # Real statistics are recomputed once per fit call (the metrics may
        # have been reset or reused in between).
        self._real_seen = False
        self._evaluated_in_fit = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None:
            return
        last_epoch = self.params.get("epochs") if self.params else None
        due = (
            not self._evaluated_in_fit
            or (epoch + 1) % self.every_n_epochs == 0
            or (last_epoch is not None and epoch + 1 == last_epoch)
        )
        if not due:
            for name in self.log_names:
                logs[name] = float("nan")
            return
        values = self.evaluate()
        self._evaluated_in_fit = True
        logs.update(values)
        if self.verbose:
            text = ", ".join(f"{name}={value:.5g}" for name, value in values.items())
            print(f"Epoch {epoch + 1}: {text} ({self.last_evaluation_seconds:.1f} s)")
