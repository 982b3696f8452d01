"""`PrecisionRecall`: improved precision and recall of a generative model (k-NN manifolds)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics.manifold_metric import ManifoldMetric
from gan_blocks.metrics.nearest_neighbors import MAX_BLOCK_ELEMENTS, FeatureManifold


@gan_blocks_export()
class PrecisionRecall(ManifoldMetric):
    """Improved precision and recall: fidelity and diversity as two numbers.

    Each feature set is approximated by the union of balls around its
    points, each ball's radius the distance from the point to its `k`-th
    nearest neighbour in the same set. **Precision** is the fraction of
    generated samples that fall inside the real manifold (are the samples
    realistic?); **recall** the fraction of real samples inside the generated
    manifold (does the model cover the data?). Both lie in [0, 1], higher is
    better. A mode-collapsed generator keeps a high precision and loses
    recall, which FID alone cannot show.

    "Inside" means a Euclidean distance `<=` the radius, as in the paper
    (`prdc` uses `<`; the two differ only on exact ties). The paper and
    NVlabs' `pr50k3` use k = 3 on 50k real and 50k generated InceptionV3
    features (VGG-16 in the paper).

    Memory: all feature vectors are kept as float32 (`4 * d * (n_real +
    n_generated)` bytes). Distances are computed on the Keras backend (the
    GPU where there is one) in blocks of at most `max_block_elements`, so
    50k x 50k needs 64 MiB of distances at a time, not 10 GB. Statistics
    live on the host, so `update_state` runs eagerly only (see
    `GenerativeMetric`).

    Args:
        feature_extractor: `None` for InceptionV3 (pool3, 2048-d, built
            lazily), or any `keras.Model`/callable mapping images to a
            `(batch, features)` array.
        k: The nearest neighbour that sets each ball's radius.
        max_block_elements: Pairwise distances computed at once.
        weights: Weights of the default extractor: `"imagenet"` or a local
            weights file path.
        batch_size: Images per feature-extractor call.
        name: Metric name. With the default name the log keys are
            `precision` and `recall`; otherwise `{name}_precision`,
            `{name}_recall`.
        dtype: Unused.

    Call arguments:
        real_images: Batch of real images, or `None`.
        generated_images: Batch of generated images, or `None`.

    Returns:
        `result()` returns `{"precision": float, "recall": float}`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(400, 2))
    >>> collapsed = rng.normal(scale=0.1, size=(400, 2))  # one mode of the data
    >>> metric = gb.metrics.PrecisionRecall(feature_extractor=lambda x: x, k=3)
    >>> metric.update_state(real, collapsed)
    >>> values = metric.log_values()
    >>> values["precision"] > 0.95, values["recall"] < 0.2
    (True, True)

    Reference:
        Kynkaanniemi et al., "Improved Precision and Recall Metric for
        Assessing Generative Models", NeurIPS 2019.
    """

    value_names = ("precision", "recall")
    default_name = "precision_recall"

    def __init__(
        self,
        feature_extractor: Any = None,
        k: int = 3,
        max_block_elements: int = MAX_BLOCK_ELEMENTS,
        weights: str | None = "imagenet",
        batch_size: int = 64,
        name: str = "precision_recall",
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
        generated_manifold = FeatureManifold(generated, self.k, center, self.max_block_elements)
        precision = np.mean(real_manifold.balls_containing(generated) > 0)
        recall = np.mean(generated_manifold.balls_containing(real) > 0)
        return float(precision), float(recall)
