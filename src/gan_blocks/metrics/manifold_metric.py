"""`ManifoldMetric`: base of the k-NN manifold metrics (precision/recall, density/coverage)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_blocks.metrics.generative_metric import GenerativeMetric
from gan_blocks.metrics.nearest_neighbors import MAX_BLOCK_ELEMENTS


class ManifoldMetric(GenerativeMetric):
    """Keeps every feature vector (float32) and computes two k-NN values from them.

    Subclasses set `value_names` (two names, e.g. precision and recall) and
    implement `_compute_values(real, generated) -> tuple[float, float]`.
    """

    value_names: tuple[str, str] = ("", "")
    default_name: str = ""

    def __init__(
        self,
        feature_extractor: Any = None,
        k: int = 3,
        max_block_elements: int = MAX_BLOCK_ELEMENTS,
        weights: str | None = "imagenet",
        batch_size: int = 64,
        name: str | None = None,
        dtype: Any = None,
    ):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"`k` must be an int >= 1. Received: k={k!r}")
        if not isinstance(max_block_elements, (int, np.integer)) or max_block_elements < 1:
            raise ValueError(
                "`max_block_elements` must be an int >= 1. Received: "
                f"max_block_elements={max_block_elements!r}"
            )
        super().__init__(
            feature_extractor=feature_extractor,
            weights=weights,
            batch_size=batch_size,
            name=name or self.default_name,
            dtype=dtype,
        )
        self.k = int(k)
        self.max_block_elements = int(max_block_elements)

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
        self._require(self.k + 1, self.k + 1)
        return np.concatenate(self._real_features), np.concatenate(self._generated_features)

    def _compute_values(self, real: np.ndarray, generated: np.ndarray) -> tuple[float, float]:
        raise NotImplementedError

    def result(self) -> dict[str, float]:
        """Both values, keyed by their plain names (e.g. `precision`, `recall`)."""
        if self._cached is None:
            self._cached = tuple(float(v) for v in self._compute_values(*self.features()))
        return dict(zip(self.value_names, self._cached))

    @property
    def log_names(self) -> list[str]:
        prefix = "" if self.name == self.default_name else f"{self.name}_"
        return [prefix + value_name for value_name in self.value_names]

    def log_values(self) -> dict[str, float]:
        return dict(zip(self.log_names, self.result().values()))

    @property
    def protocol(self) -> dict[str, Any]:
        protocol = super().protocol
        protocol.update(k=self.k, distance="euclidean, ball membership by <=")
        return protocol

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(k=self.k, max_block_elements=self.max_block_elements)
        return config
