"""DCGAN's latent vector arithmetic (Radford et al. 2016, section 6.3)."""

from __future__ import annotations

from typing import Any

import numpy as np


def latent_arithmetic(positive_a: Any, negative_b: Any, positive_c: Any) -> np.ndarray:
    """Returns `mean(A) - mean(B) + mean(C)` over groups of latent vectors.

    DCGAN showed that averaging the latents of a few samples per concept (e.g.
    "smiling woman", "neutral woman", "neutral man") and combining the means
    gives a latent whose sample shows the combined concept ("smiling man").
    Averaging over about three samples per concept makes the result stable.

    Args:
        positive_a: Latents of concept A, shape `(n_a, *latent_shape)`.
        negative_b: Latents of concept B, shape `(n_b, *latent_shape)`.
        positive_c: Latents of concept C, shape `(n_c, *latent_shape)`.

    Returns:
        One latent, shape `(1, *latent_shape)`, ready for `gan.generate(latents=...)`.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.latents import latent_arithmetic
    >>> a, b, c = np.ones((3, 2)), np.zeros((2, 2)), np.full((1, 2), 5.0)
    >>> latent_arithmetic(a, b, c).tolist()
    [[6.0, 6.0]]
    """
    groups = [np.asarray(g, dtype="float64") for g in (positive_a, negative_b, positive_c)]
    shapes = {g.shape[1:] for g in groups}
    if len(shapes) != 1 or any(g.ndim < 2 or len(g) == 0 for g in groups):
        raise ValueError(
            "Each group must be a non-empty (n, *latent_shape) array of one latent shape; "
            f"received shapes {[g.shape for g in groups]}."
        )
    a, b, c = (g.mean(axis=0) for g in groups)
    return (a - b + c)[None].astype("float32")
