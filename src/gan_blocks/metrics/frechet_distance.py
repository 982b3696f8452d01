"""`FrechetDistance`: streaming Frechet Inception Distance (FID)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics.generative_metric import GenerativeMetric


def _symmetric(matrix: np.ndarray) -> np.ndarray:
    return 0.5 * (matrix + matrix.T)


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """`Tr((sigma1 sigma2)^(1/2))` for symmetric positive semi-definite matrices.

    `sigma1 sigma2` is similar to the symmetric PSD matrix
    `M = sigma1^(1/2) sigma2 sigma1^(1/2)` (same eigenvalues), so the trace of
    its square root is the sum of the square roots of `M`'s eigenvalues. Both
    steps are symmetric eigendecompositions (`numpy.linalg.eigh`): real
    arithmetic throughout, no complex leftovers; eigenvalues that round-off
    makes slightly negative are clipped to 0.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(_symmetric(sigma1))
    root1 = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    middle = _symmetric(root1 @ sigma2 @ root1)
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None)).sum())


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Frechet distance between two Gaussians `N(mu1, sigma1)` and `N(mu2, sigma2)`.

    `||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))`, in
    float64, with the matrix square root computed by symmetric
    eigendecompositions (see `FrechetDistance`).

    Args:
        mu1: Mean vector, shape `(d,)`.
        sigma1: Covariance matrix, shape `(d, d)`.
        mu2: Mean vector, shape `(d,)`.
        sigma2: Covariance matrix, shape `(d, d)`.

    Returns:
        The distance as a Python float (>= 0 up to round-off).

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> gb.metrics.frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
    4.0
    """
    mu1, mu2 = (np.asarray(m, dtype="float64").reshape(-1) for m in (mu1, mu2))
    sigma1, sigma2 = (np.asarray(s, dtype="float64") for s in (sigma1, sigma2))
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            "Expected means of shape (d,) and covariances of shape (d, d). Received "
            f"mu1 {mu1.shape}, sigma1 {sigma1.shape}, mu2 {mu2.shape}, sigma2 {sigma2.shape}."
        )
    difference = mu1 - mu2
    trace = np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return float(difference @ difference + trace)


class _Moments:
    """Streaming mean and covariance in float64, O(d^2) memory.

    Sums are taken around a shift (the mean of the first batch), which keeps
    `sum(x x^T) - n mu mu^T` free of cancellation when features have a large
    mean relative to their spread.
    """

    def __init__(self) -> None:
        self.count = 0
        self.shift = None
        self.sum = None
        self.outer = None

    def update(self, features: np.ndarray) -> None:
        if self.shift is None:
            self.shift = features.mean(axis=0)
            self.sum = np.zeros_like(self.shift)
            self.outer = np.zeros((features.shape[1],) * 2, dtype="float64")
        centered = features - self.shift
        self.count += len(features)
        self.sum += centered.sum(axis=0)
        self.outer += centered.T @ centered

    @classmethod
    def from_mean_and_covariance(
        cls, mean: np.ndarray, covariance: np.ndarray, count: int
    ) -> _Moments:
        """Moments that `count` features with this mean and covariance would give."""
        moments = cls()
        moments.count = int(count)
        moments.shift = np.array(mean, dtype="float64")
        moments.sum = np.zeros_like(moments.shift)
        moments.outer = np.array(covariance, dtype="float64") * (count - 1)
        return moments

    def mean_and_covariance(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.sum / self.count
        covariance = (self.outer - self.count * np.outer(mean, mean)) / (self.count - 1)
        return mean + self.shift, _symmetric(covariance)


@gan_blocks_export()
class FrechetDistance(GenerativeMetric):
    """Frechet distance between real and generated feature distributions (FID).

    Fits a Gaussian to the features of the real images and one to the
    features of the generated images and returns their Frechet (2-Wasserstein)
    distance, `||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))`. Lower
    is better; 0 for identical statistics. With the default extractor
    (InceptionV3 pool3, 2048-d, images in [-1, 1] resized to 299x299
    bilinearly) this is the FID.

    Streaming: `update_state` adds feature sums and sums of outer products
    in float64 numpy arrays, so memory is O(d^2) (32 MiB per image set for
    d = 2048) whatever the number of images, and feeding images in any
    batches gives the same result. `result()` computes the matrix square root
    by two symmetric eigendecompositions, `S_r^(1/2)` and then the eigenvalues
    of `S_r^(1/2) S_g S_r^(1/2)`, which are those of `S_r S_g`; no complex
    arithmetic, unlike `scipy.linalg.sqrtm`. Statistics live on the host, so
    `update_state` runs eagerly only (see `GenerativeMetric`).

    FID is biased upwards for small samples: compare numbers computed from
    the same number of images (10k or 50k is usual for natural images), the
    same extractor and the same resize; the `protocol` property records them.
    With fewer images than feature dimensions (2048 for InceptionV3) a
    covariance estimate is singular and the bias is large: `result()` then
    warns (Python `warnings`).

    Args:
        feature_extractor: `None` for InceptionV3 (built lazily on first
            use), or any `keras.Model`/callable mapping images to a
            `(batch, features)` array.
        weights: Weights of the default extractor: `"imagenet"` (downloaded
            once and cached by Keras) or a local weights file path.
        batch_size: Images per feature-extractor call.
        name: Metric name and log key.
        dtype: Unused (statistics are float64).

    Call arguments:
        real_images: Batch of real images, or `None`.
        generated_images: Batch of generated images, or `None`.

    Returns:
        `result()` returns the distance as a Python float.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> fid = gb.metrics.FrechetDistance(feature_extractor=lambda x: x)
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(0.0, 1.0, (4000, 2))
    >>> fid.update_state(real, real + [3.0, 4.0])  # features here: identity
    >>> round(fid.result(), 6)  # squared mean shift, same covariance
    25.0
    >>> fid.protocol["num_generated"]
    4000

    Reference:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge
        to a Local Nash Equilibrium", NeurIPS 2017; Dowson and Landau, "The
        Frechet distance between multivariate normal distributions", 1982.
    """

    def __init__(
        self,
        feature_extractor: Any = None,
        weights: str | None = "imagenet",
        batch_size: int = 64,
        name: str = "fid",
        dtype: Any = None,
    ):
        super().__init__(
            feature_extractor=feature_extractor,
            weights=weights,
            batch_size=batch_size,
            name=name,
            dtype=dtype,
        )

    def _reset(self, real: bool) -> None:
        if real:
            self._real_moments = _Moments()
        else:
            self._generated_moments = _Moments()

    def _accumulate(self, features: np.ndarray, real: bool) -> None:
        (self._real_moments if real else self._generated_moments).update(features)

    def update_reference(self, statistics: Any, check_extractor: bool = True) -> None:
        """Uses precomputed real-image moments (exact, whatever the features kept).

        Args:
            statistics: A `gb.metrics.ReferenceStatistics`.
            check_extractor: Whether to require the same feature extractor.
        """
        self._check_reference(statistics, check_extractor)
        self.reset_real_state()
        self._real_moments = _Moments.from_mean_and_covariance(
            statistics.mean, statistics.covariance, statistics.count
        )
        self.num_real = statistics.count
        self.feature_dim = statistics.feature_dim

    def statistics(self) -> dict[str, np.ndarray]:
        """Means and covariances (float64) of the real and generated features.

        Returns:
            Dict with `mu_real`, `sigma_real`, `mu_generated`, `sigma_generated`.
        """
        self._require(2, 2)
        mu_real, sigma_real = self._real_moments.mean_and_covariance()
        mu_generated, sigma_generated = self._generated_moments.mean_and_covariance()
        return {
            "mu_real": mu_real,
            "sigma_real": sigma_real,
            "mu_generated": mu_generated,
            "sigma_generated": sigma_generated,
        }

    def result(self) -> float:
        """The Frechet distance of the features seen so far.

        Warns when either image set is smaller than the feature dimension.
        """
        stats = self.statistics()
        fewest = min(self.num_real, self.num_generated)
        if self.feature_dim is not None and fewest < self.feature_dim:
            warnings.warn(
                f"FID from {self.num_real} real and {self.num_generated} generated images "
                f"of {self.feature_dim}-d features: with fewer images than feature "
                "dimensions the covariance estimates are singular and the distance is "
                "strongly biased upwards, so it compares only with FIDs from as many "
                f"images. Use at least {self.feature_dim} images per set (10k-50k is "
                "usual with InceptionV3's 2048-d features).",
                UserWarning,
                stacklevel=2,
            )
        return frechet_distance(
            stats["mu_real"], stats["sigma_real"], stats["mu_generated"], stats["sigma_generated"]
        )
