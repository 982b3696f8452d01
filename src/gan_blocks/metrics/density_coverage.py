"""`DensityCoverage`: density and coverage of a generative model (k-NN balls of real samples)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics.manifold_metric import ManifoldMetric
from gan_blocks.metrics.nearest_neighbors import MAX_BLOCK_ELEMENTS, FeatureManifold


@gan_blocks_export()
class DensityCoverage(ManifoldMetric):
    """Density and coverage: fidelity and diversity robust to outliers.

    Only the real samples get k-NN balls (radius: distance to the `k`-th
    nearest other real sample), so an outlier among the generated samples
    cannot inflate the result as it inflates recall. **Density** counts, for
    each generated sample, how many real balls contain it, divided by `k`
    and averaged: about 1 when generated samples are distributed like the
    real ones, above 1 when they crowd the dense regions, below 1 when they
    fall outside. **Coverage** is the fraction of real samples whose ball
    contains at least one generated sample, in [0, 1].

    "Contains" means a Euclidean distance `<=` the radius (`prdc` uses `<`;
    the two differ only on exact ties). The paper recommends k = 5, and as
    many generated as real samples. Memory and computation as
    `gb.metrics.PrecisionRecall`: float32 features kept on the host,
    distances in bounded blocks on the Keras backend.

    Args:
        feature_extractor: `None` for InceptionV3 (pool3, 2048-d, built
            lazily), or any `keras.Model`/callable mapping images to a
            `(batch, features)` array.
        k: The nearest neighbour that sets each real ball's radius.
        max_block_elements: Pairwise distances computed at once.
        weights: Weights of the default extractor: `"imagenet"` or a local
            weights file path.
        batch_size: Images per feature-extractor call.
        name: Metric name. With the default name the log keys are `density`
            and `coverage`; otherwise `{name}_density`, `{name}_coverage`.
        dtype: Unused.

    Call arguments:
        real_images: Batch of real images, or `None`.
        generated_images: Batch of generated images, or `None`.

    Returns:
        `result()` returns `{"density": float, "coverage": float}`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(500, 2))
    >>> metric = gb.metrics.DensityCoverage(feature_extractor=lambda x: x, k=5)
    >>> metric.update_state(real, rng.normal(size=(500, 2)))
    >>> values = metric.log_values()
    >>> 0.8 < values["density"] < 1.2, values["coverage"] > 0.9
    (True, True)

    Reference:
        Naeem et al., "Reliable Fidelity and Diversity Metrics for
        Generative Models", ICML 2020.
    """

    value_names = ("density", "coverage")
    default_name = "density_coverage"

    def __init__(
        self,
        feature_extractor: Any = None,
        k: int = 5,
        max_block_elements: int = MAX_BLOCK_ELEMENTS,
        weights: str | None = "imagenet",
        batch_size: int = 64,
        name: str = "density_coverage",
        dtype: Any = None,
    ):
        super().__init__(
            feature_extractor=feature_extractor,
            k=k,
            max_block_elements=max_block_elements,
            weights=weights,
            batch_size=batch_size,
            name=name,
            dtype=dtype,
        )

    def _compute_values(self, real: np.ndarray, generated: np.ndarray) -> tuple[float, float]:
        center = real.mean(axis=0, dtype="float64")
        real_manifold = FeatureManifold(real, self.k, center, self.max_block_elements)
        density = real_manifold.balls_containing(generated).mean() / self.k
        coverage = np.mean(real_manifold.nearest_query_within_radius(generated))
        return float(density), float(coverage)
