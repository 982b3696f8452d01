"""`memorization`: are generated samples copies of training images? (nearest neighbours)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics.generative_metric import to_numpy
from gan_blocks.metrics.nearest_neighbors import MAX_BLOCK_ELEMENTS, FeatureManifold


@gan_blocks_export()
def memorization(
    generated_features: Any,
    training_features: Any,
    threshold: float = 0.5,
    max_block_elements: int = MAX_BLOCK_ELEMENTS,
) -> dict[str, Any]:
    """Flags generated samples much closer to a training image than its neighbours are.

    For each generated sample `g`, with `t` its nearest training image in
    feature space, the **ratio** is `||g - t|| / ||t - t'||`, `t'` being `t`'s
    own nearest other training image: how much closer `g` is to the training
    set than the training set's own spacing. An exact copy has ratio 0; a
    sample that only looks like the data is about as far from its nearest
    training image as training images are from each other (ratio near 1 or
    above). Samples with `ratio < threshold` are reported as likely copies.
    Distances are computed in bounded blocks on the Keras backend (see
    `gb.metrics.PrecisionRecall`).

    Args:
        generated_features: `(m, d)` features of generated samples.
        training_features: `(n, d)` features of the training images, `n >= 2`
            (e.g. `ReferenceStatistics.features` of the training set).
        threshold: Ratio below which a sample counts as a likely copy.
        max_block_elements: Pairwise distances computed at once.

    Returns:
        Dict with `ratios` (`(m,)` float array), `nearest_training_index`
        (`(m,)` int array), `copies` (indices of samples below the
        threshold), `fraction_copied`, `median_ratio` and `threshold`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> training = np.random.default_rng(0).normal(size=(200, 8))
    >>> generated = np.concatenate([training[:3], np.random.default_rng(1).normal(size=(97, 8))])
    >>> report = gb.metrics.memorization(generated, training)
    >>> report["copies"][:3].tolist(), report["fraction_copied"] < 0.1
    ([0, 1, 2], True)
    """
    generated = to_numpy(generated_features, "generated features").astype("float32")
    training = to_numpy(training_features, "training features").astype("float32")
    if generated.ndim != 2 or training.ndim != 2 or generated.shape[1] != training.shape[1]:
        raise ValueError(
            "Expected generated and training features of shapes (m, d) and (n, d). "
            f"Received {generated.shape} and {training.shape}."
        )
    if not threshold > 0:
        raise ValueError(f"`threshold` must be > 0. Received: threshold={threshold!r}")
    manifold = FeatureManifold(
        training, 1, training.mean(axis=0, dtype="float64"), max_block_elements
    )
    squared_distances, nearest = manifold.nearest(generated)
    spacing = np.sqrt(manifold.squared_radii[nearest].astype("float64"))
    distance = np.sqrt(squared_distances.astype("float64"))
    # A training image duplicated in the training set has spacing 0: a sample
    # at distance 0 from it is a copy (ratio 0), anything else is not (inf).
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(spacing > 0, distance / np.where(spacing > 0, spacing, 1.0), np.inf)
    ratios = np.where((spacing == 0) & (distance == 0), 0.0, ratios)
    copies = np.flatnonzero(ratios < threshold)
    return {
        "ratios": ratios,
        "nearest_training_index": nearest,
        "copies": copies,
        "fraction_copied": float(len(copies) / len(ratios)),
        "median_ratio": float(np.median(ratios)),
        "threshold": float(threshold),
    }
