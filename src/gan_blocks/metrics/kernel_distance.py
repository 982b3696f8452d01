"""`KernelDistance`: Kernel Inception Distance (KID), unbiased MMD^2 over subsets."""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics.generative_metric import GenerativeMetric


def polynomial_mmd(real: np.ndarray, generated: np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size feature sets, cubic polynomial kernel.

    `k(x, y) = (x . y / d + 1)^3`; the diagonal terms of the within-set
    kernel sums are excluded (the unbiased U-statistic).
    """
    m, d = real.shape
    k_rr = (real @ real.T / d + 1.0) ** 3
    k_gg = (generated @ generated.T / d + 1.0) ** 3
    k_rg = (real @ generated.T / d + 1.0) ** 3
    within = (k_rr.sum() - np.trace(k_rr) + k_gg.sum() - np.trace(k_gg)) / (m * (m - 1))
    return float(within - 2.0 * k_rg.sum() / (m * m))


@gan_blocks_export()
class KernelDistance(GenerativeMetric):
    """Kernel distance between real and generated features (KID).

    The squared maximum mean discrepancy (MMD^2) between the real and the
    generated feature distributions, with the cubic polynomial kernel
    `k(x, y) = (x . y / d + 1)^3` (`d` the feature size), estimated without
    bias. Unlike FID it is unbiased for small samples, so numbers from
    different sample sizes are comparable; it can be slightly negative.

    The estimate is averaged over `subsets` random subsets: for each, with
    `rng = numpy.random.default_rng(seed)` created once per `result()` call,
    `m` real and then `m` generated features are drawn without replacement
    (`rng.choice(n, m, replace=False)`), where `m = min(subset_size, num_real,
    num_generated)`. `result()` returns the mean over subsets; `log_values()`
    also gives the standard deviation (`ddof=0`) as `{name}_std`.

    Memory: KID needs every feature vector, so it keeps all of them, as
    float32: `4 * d * (num_real + num_generated)` bytes (about 820 MB for
    50k + 50k images with InceptionV3's d = 2048). The kernel sums run in
    float64; their cost is `3 * subsets * m^2 * d` multiply-adds.
    Statistics live on the host, so `update_state` runs eagerly only (see
    `GenerativeMetric`).

    Args:
        feature_extractor: `None` for InceptionV3 (pool3, 2048-d, built
            lazily), or any `keras.Model`/callable mapping images to a
            `(batch, features)` array.
        subsets: Number of random subsets averaged.
        subset_size: Features per subset and set (1000 is usual); capped at
            the number of real and generated features seen.
        seed: Seed of the subset draws; `None` draws fresh subsets on every
            `result()` call.
        weights: Weights of the default extractor: `"imagenet"` or a local
            weights file path.
        batch_size: Images per feature-extractor call.
        name: Metric name and log key (`{name}_std` for the std).
        dtype: Unused (kernel sums are float64).

    Call arguments:
        real_images: Batch of real images, or `None`.
        generated_images: Batch of generated images, or `None`.

    Returns:
        `result()` returns the mean MMD^2 over subsets as a Python float.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> kid = gb.metrics.KernelDistance(lambda x: x, subsets=10, subset_size=100)
    >>> rng = np.random.default_rng(0)
    >>> kid.update_state(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)) + 1.0)
    >>> kid.result() > 0.1
    True
    >>> sorted(kid.log_values())
    ['kid', 'kid_std']

    Reference:
        Binkowski et al., "Demystifying MMD GANs", ICLR 2018.
    """

    def __init__(
        self,
        feature_extractor: Any = None,
        subsets: int = 100,
        subset_size: int = 1000,
        seed: int | None = 0,
        weights: str | None = "imagenet",
        batch_size: int = 64,
        name: str = "kid",
        dtype: Any = None,
    ):
        for argument, value in (("subsets", subsets), ("subset_size", subset_size)):
            minimum = 2 if argument == "subset_size" else 1
            if not isinstance(value, (int, np.integer)) or value < minimum:
                raise ValueError(
                    f"`{argument}` must be an int >= {minimum}. Received: {argument}={value!r}"
                )
        super().__init__(
            feature_extractor=feature_extractor,
            weights=weights,
            batch_size=batch_size,
            name=name,
            dtype=dtype,
        )
        self.subsets = int(subsets)
        self.subset_size = int(subset_size)
        self.seed = seed

    def _reset(self, real: bool) -> None:
        if real:
            self._real_features = []
        else:
            self._generated_features = []
        self._cached = None

    def _accumulate(self, features: np.ndarray, real: bool) -> None:
        (self._real_features if real else self._generated_features).append(
            features.astype("float32")
        )
        self._cached = None

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """All real and generated features seen so far (float32 arrays)."""
        self._require(2, 2)
        return np.concatenate(self._real_features), np.concatenate(self._generated_features)

    def _compute(self) -> tuple[float, float]:
        if self._cached is None or self.seed is None:
            real, generated = self.features()
            m = min(self.subset_size, len(real), len(generated))
            rng = np.random.default_rng(self.seed)
            values = []
            for _ in range(self.subsets):
                real_index = rng.choice(len(real), m, replace=False)
                generated_index = rng.choice(len(generated), m, replace=False)
                values.append(
                    polynomial_mmd(
                        real[real_index].astype("float64"),
                        generated[generated_index].astype("float64"),
                    )
                )
            self._cached = (float(np.mean(values)), float(np.std(values)))
        return self._cached

    def result(self) -> float:
        """Mean unbiased MMD^2 over the subsets."""
        return self._compute()[0]

    @property
    def log_names(self) -> list[str]:
        return [self.name, f"{self.name}_std"]

    def log_values(self) -> dict[str, float]:
        mean, std = self._compute()
        return {self.name: mean, f"{self.name}_std": std}

    @property
    def protocol(self) -> dict[str, Any]:
        protocol = super().protocol
        seen = min(self.num_real, self.num_generated)
        protocol.update(
            kernel="polynomial (x.y/d + 1)^3",
            subsets=self.subsets,
            subset_size=min(self.subset_size, seen) if seen else self.subset_size,
            seed=self.seed,
        )
        return protocol

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(subsets=self.subsets, subset_size=self.subset_size, seed=self.seed)
        return config
