"""`SpectralConv2D`: a 2-D convolution with a spectrally normalized kernel."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.spectral_normalization import SpectralNormalizedKernel


@gan_blocks_export()
class SpectralConv2D(SpectralNormalizedKernel, keras.layers.Conv2D):
    """`Conv2D` whose kernel is divided by its largest singular value.

    The kernel used in `call` is `W / sigma(W)` with `W` reshaped to
    `(kh * kw * in_channels, filters)` and `sigma` estimated by power iteration.
    It is computed inside `call` (a reparametrization, so gradients flow through
    sigma as in the paper); only the non-trainable vector `u` is updated, and only
    when `training=True`. Outputs are normalized in inference too. Unlike
    `keras.layers.SpectralNormalization` this writes nothing into the trainable
    kernel, so it also works under JAX's stateless `fit`.

    Args:
        filters: Number of output channels.
        kernel_size: Int or tuple of 2 ints.
        strides: Int or tuple of 2 ints.
        padding: `"same"` or `"valid"`.
        power_iterations: Power-iteration steps per call (>= 1).
        seed: Seed of the initial `u`.
        **kwargs: Other `keras.layers.Conv2D` arguments.

    Call arguments:
        inputs: A 4-D tensor.
        training: Whether to update `u`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> layer = gb.layers.SpectralConv2D(8, 3, strides=1)
    >>> tuple(layer(np.zeros((2, 16, 16, 3), "float32")).shape)
    (2, 16, 16, 8)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial
        Networks", ICLR 2018.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: str = "same",
        power_iterations: int = 1,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            power_iterations=power_iterations,
            seed=seed,
            **kwargs,
        )

    def call(self, inputs: Any, training: bool = False) -> Any:
        outputs = self.convolution_op(inputs, self.normalized_kernel(training))
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, _bias_shape(self)))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def _bias_shape(layer: keras.layers.Layer) -> tuple:
    if layer.data_format == "channels_last":
        return (1,) * (layer.rank + 1) + (layer.filters,)
    return (1, layer.filters) + (1,) * layer.rank
