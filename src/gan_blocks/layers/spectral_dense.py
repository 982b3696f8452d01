"""`SpectralDense`: a dense layer with a spectrally normalized kernel."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.spectral_normalization import SpectralNormalizedKernel


@gan_blocks_export()
class SpectralDense(SpectralNormalizedKernel, keras.layers.Dense):
    """`Dense` whose kernel is divided by its largest singular value.

    See `SpectralConv2D` for the semantics of `u` and `training`.

    Args:
        units: Output size.
        power_iterations: Power-iteration steps per call (>= 1).
        seed: Seed of the initial `u`.
        **kwargs: Other `keras.layers.Dense` arguments.

    Call arguments:
        inputs: A tensor of rank >= 2.
        training: Whether to update `u`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> tuple(gb.layers.SpectralDense(3)(np.ones((2, 5), "float32")).shape)
    (2, 3)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial
        Networks", ICLR 2018.
    """

    def __init__(
        self, units: int, power_iterations: int = 1, seed: int | None = None, **kwargs: Any
    ):
        super().__init__(units, power_iterations=power_iterations, seed=seed, **kwargs)

    def call(self, inputs: Any, training: bool = False) -> Any:
        outputs = ops.matmul(inputs, self.normalized_kernel(training))
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs
