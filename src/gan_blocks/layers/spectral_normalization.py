"""Power iteration shared by the spectral-normalized layers."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.validation import check_int


def _l2_normalize(x: Any, epsilon: float = 1e-12) -> Any:
    return x * ops.rsqrt(ops.sum(ops.square(x)) + epsilon)


def spectral_normalize(matrix: Any, u: Any, power_iterations: int) -> tuple[Any, Any]:
    """Estimates the largest singular value of `matrix` by power iteration.

    Args:
        matrix: Float32 tensor of shape `(fan_in, units)`.
        u: Current estimate of the leading right singular vector, `(1, units)`.
        power_iterations: Number of iterations (>= 1).

    Returns:
        `(sigma, new_u)`: the estimate (differentiable w.r.t. `matrix`, as in
        Miyato et al.: u and v are treated as constants) and the updated vector.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.layers.spectral_normalization import spectral_normalize
    >>> w = np.diag([3.0, 1.0]).astype("float32")
    >>> sigma, _ = spectral_normalize(w, np.array([[1.0, 0.5]], "float32"), 20)
    >>> round(float(sigma), 4)
    3.0
    """
    matrix = ops.cast(matrix, "float32")
    u = ops.cast(u, "float32")
    for _ in range(power_iterations):
        v = _l2_normalize(ops.matmul(u, ops.transpose(matrix)))
        u = _l2_normalize(ops.matmul(v, matrix))
    u = ops.stop_gradient(u)
    v = ops.stop_gradient(v)
    sigma = ops.sum(ops.matmul(v, matrix) * u)
    return sigma, u


def validate_power_iterations(power_iterations: Any) -> int:
    """Raises unless `power_iterations` is an int >= 1."""
    power_iterations = check_int("power_iterations", power_iterations, minimum=1)
    return power_iterations


class SpectralNormalizedKernel:
    """Mixin: adds the vector `u` and computes `kernel / sigma(kernel)` in `call`.

    List it before the Keras layer it normalizes (`Dense`, `Conv2D`, ...). It
    takes the `power_iterations` and `seed` arguments (validated, and in
    `get_config`), creates `u` after the layer's own weights in `build`, runs
    the power iteration in `normalized_kernel` and saves `u` with the kernel and
    bias. Subclasses keep their explicit `__init__` signature, forward
    `power_iterations` and `seed` to `super().__init__`, use
    `normalized_kernel(training)` in `call` and, where the kernel's output axis
    is not the last one, set `_output_axis`.
    """

    #: Axis of `kernel` indexing the outputs: the columns of the matrix whose
    #: largest singular value is estimated, and the length of `u`.
    _output_axis: int = -1

    def __init__(
        self, *args: Any, power_iterations: int = 1, seed: int | None = None, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.power_iterations = validate_power_iterations(power_iterations)
        self.seed = seed

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)  # kernel and bias first: the saved order
        self.u = self.add_weight(
            shape=(1, self.kernel.shape[self._output_axis]),
            initializer=keras.initializers.RandomNormal(stddev=1.0, seed=self.seed),
            trainable=False,
            name="u",
            dtype="float32",
        )

    def _kernel_as_matrix(self, kernel: Any) -> Any:
        """Returns `kernel` as a `(fan_in, units)` matrix."""
        kernel = ops.moveaxis(kernel, self._output_axis, -1)
        return ops.reshape(kernel, (-1, kernel.shape[-1]))

    def normalized_kernel(self, training: bool = False) -> Any:
        """Returns `kernel / sigma`, updating `u` when `training` is true."""
        matrix = self._kernel_as_matrix(ops.cast(self.kernel, "float32"))
        sigma, new_u = spectral_normalize(matrix, self.u, self.power_iterations)
        if training:
            self.u.assign(new_u)
        kernel = ops.cast(self.kernel, "float32") / sigma
        return ops.cast(kernel, self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(power_iterations=self.power_iterations, seed=self.seed)
        return config

    def _saved_variables(self) -> list:
        variables = [self.kernel]
        if self.use_bias:
            variables.append(self.bias)
        return variables + [self.u]

    # Keras' Conv/Dense save only kernel and bias; `u` must survive a reload.
    def save_own_variables(self, store: Any) -> None:
        if self.built:
            for index, variable in enumerate(self._saved_variables()):
                store[str(index)] = variable

    def load_own_variables(self, store: Any) -> None:
        if self.built:
            variables = self._saved_variables()
            if len(list(store.keys())) != len(variables):
                raise ValueError(
                    f"Layer '{self.name}' expected {len(variables)} saved variables "
                    f"(kernel, bias, u), but the file holds {len(list(store.keys()))}."
                )
            for index, variable in enumerate(variables):
                variable.assign(store[str(index)])
