"""Latent interpolation: linear and spherical (slerp)."""

from __future__ import annotations

from typing import Any

import numpy as np


def interpolate(start: Any, end: Any, steps: int = 8, method: str = "slerp") -> np.ndarray:
    """Returns `steps` latents from `start` to `end` (both included).

    Spherical interpolation follows the great circle between the two vectors,
    which keeps the intermediate latents at the typical norm of Gaussian samples
    (linear interpolation passes through low-norm, atypical latents).

    Args:
        start: Latent vector, shape `(latent_dim,)` (or any shape).
        end: Latent vector of the same shape.
        steps: Number of latents returned (>= 2).
        method: `"slerp"` or `"linear"`.

    Returns:
        Array of shape `(steps, *start.shape)`, float32.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.latents import interpolate
    >>> path = interpolate(np.array([1.0, 0.0]), np.array([0.0, 1.0]), steps=3)
    >>> [round(float(v), 4) for v in path[1]]
    [0.7071, 0.7071]
    """
    start = np.asarray(start, dtype="float64")
    end = np.asarray(end, dtype="float64")
    if start.shape != end.shape:
        raise ValueError(f"start and end must have one shape; got {start.shape} and {end.shape}.")
    if steps < 2:
        raise ValueError(f"`steps` must be >= 2. Received: steps={steps}")
    if method not in ("slerp", "linear"):
        raise ValueError(f"`method` must be 'slerp' or 'linear'. Received: method={method!r}")
    ts = np.linspace(0.0, 1.0, steps).reshape((-1,) + (1,) * start.ndim)
    if method == "linear":
        return ((1 - ts) * start + ts * end).astype("float32")
    a, b = start.ravel(), end.ravel()
    cosine = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))
    if omega < 1e-6:  # (anti)parallel up to rounding: fall back to linear
        return ((1 - ts) * start + ts * end).astype("float32")
    path = (np.sin((1 - ts) * omega) * start + np.sin(ts * omega) * end) / np.sin(omega)
    return path.astype("float32")
