"""k-nearest-neighbour manifolds of feature sets, computed in bounded memory.

Precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et
al. 2020) describe each feature set by balls around its points, of radius the
distance to the point's k-th nearest neighbour. The pairwise distances of two
50k-image sets would take 10 GB; here they are computed block by block on the
Keras backend (so on the GPU where there is one), each block holding at most
`max_block_elements` distances, and only per-row reductions come back.
"""

from __future__ import annotations

import numpy as np
from keras import ops

# 2**24 float32 distances (64 MiB) per block: large enough for matrix-multiply
# speed, small enough for any GPU or a laptop.
MAX_BLOCK_ELEMENTS = 2**24


def _row_blocks(num_rows: int, num_columns: int, max_block_elements: int):
    rows = max(1, max_block_elements // max(1, num_columns))
    for start in range(0, num_rows, rows):
        yield start, min(num_rows, start + rows)


def _squared_distances(queries, points, points_squared_norms):
    """`||q - p||^2` for a block of queries against all points, clipped at 0."""
    queries_squared_norms = ops.sum(ops.square(queries), axis=1, keepdims=True)
    products = ops.matmul(queries, ops.transpose(points))
    squared = queries_squared_norms - 2.0 * products + points_squared_norms[None, :]
    return ops.maximum(squared, 0.0)


class FeatureManifold:
    """A feature set with the k-NN radius of each of its points.

    Features are centred on `center` before any distance is taken: the
    expansion `|q|^2 - 2 q.p + |p|^2` runs in float32 and loses precision
    when the features share a large offset.

    Args:
        features: `(n, d)` array, `n > k`.
        k: Which nearest neighbour (other than the point itself) sets the radius.
        center: `(d,)` offset subtracted from this and every query set.
        max_block_elements: Distances computed at once.
    """

    def __init__(
        self,
        features: np.ndarray,
        k: int,
        center: np.ndarray,
        max_block_elements: int = MAX_BLOCK_ELEMENTS,
    ):
        if len(features) <= k:
            raise ValueError(
                f"A k-nearest-neighbour manifold with k={k} needs more than {k} feature "
                f"vectors per set; received {len(features)}."
            )
        self.center = np.asarray(center, dtype="float32")
        self.max_block_elements = int(max_block_elements)
        self.points = ops.convert_to_tensor(self._centered(features))
        self.squared_norms = ops.sum(ops.square(self.points), axis=1)
        self.squared_radii = self._kth_neighbor_squared_distances(k)

    def _centered(self, features: np.ndarray) -> np.ndarray:
        return (np.asarray(features, dtype="float64") - self.center).astype("float32")

    def _blocks(self, queries: np.ndarray):
        """Yields `(start, stop, squared distances of queries[start:stop] to the points)`."""
        queries = self._centered(queries)
        for start, stop in _row_blocks(
            len(queries), int(self.points.shape[0]), self.max_block_elements
        ):
            block = ops.convert_to_tensor(queries[start:stop])
            yield start, stop, _squared_distances(block, self.points, self.squared_norms)

    def _kth_neighbor_squared_distances(self, k: int) -> np.ndarray:
        radii = []
        points = ops.convert_to_numpy(self.points)
        for start, stop in _row_blocks(len(points), len(points), self.max_block_elements):
            squared = _squared_distances(
                ops.convert_to_tensor(points[start:stop]), self.points, self.squared_norms
            )
            # The point itself is its own nearest neighbour (distance 0, up to
            # round-off): the k-th other neighbour is the (k+1)-th smallest.
            nearest, _ = ops.top_k(-squared, k + 1)
            radii.append(-ops.convert_to_numpy(nearest)[:, k])
        return np.concatenate(radii)

    def balls_containing(self, queries: np.ndarray) -> np.ndarray:
        """For each query, how many of the manifold's balls contain it (int64)."""
        counts = np.empty(len(queries), dtype="int64")
        radii = ops.convert_to_tensor(self.squared_radii)
        for start, stop, squared in self._blocks(queries):
            inside = ops.cast(squared <= radii[None, :], "int32")
            counts[start:stop] = ops.convert_to_numpy(ops.sum(inside, axis=1))
        return counts

    def nearest_query_within_radius(self, queries: np.ndarray) -> np.ndarray:
        """For each manifold point, whether some query lies inside its ball (bool)."""
        nearest = np.full(int(self.points.shape[0]), np.inf, dtype="float32")
        for _, _, squared in self._blocks(queries):
            nearest = np.minimum(nearest, ops.convert_to_numpy(ops.min(squared, axis=0)))
        return nearest <= self.squared_radii

    def nearest(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each query, the squared distance to its nearest manifold point and its index."""
        squared_distances = np.empty(len(queries), dtype="float32")
        indices = np.empty(len(queries), dtype="int64")
        for start, stop, squared in self._blocks(queries):
            indices[start:stop] = ops.convert_to_numpy(ops.argmin(squared, axis=1))
            squared_distances[start:stop] = ops.convert_to_numpy(ops.min(squared, axis=1))
        return squared_distances, indices
