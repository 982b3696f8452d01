"""`SpectralConv2DTranspose`: a transposed convolution, spectrally normalized."""

from __future__ import annotations

from typing import Any

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv2d_transpose import Conv2DTranspose
from gan_blocks.layers.spectral_normalization import SpectralNormalizedKernel


@gan_blocks_export()
class SpectralConv2DTranspose(SpectralNormalizedKernel, Conv2DTranspose):
    """`gb.layers.Conv2DTranspose` whose kernel is divided by its largest singular value.

    The kernel (shape `(kh, kw, filters, in_channels)`) is viewed as a
    `(kh * kw * in_channels, filters)` matrix for the power iteration; see
    `SpectralConv2D` for the semantics of `u` and `training`.

    Args:
        filters: Number of output channels.
        kernel_size: Int or tuple of 2 ints.
        strides: Int or tuple of 2 ints.
        padding: `"same"` or `"valid"`.
        power_iterations: Power-iteration steps per call (>= 1).
        seed: Seed of the initial `u`.
        **kwargs: Other `keras.layers.Conv2DTranspose` arguments.

    Call arguments:
        inputs: A 4-D tensor.
        training: Whether to update `u`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> layer = gb.layers.SpectralConv2DTranspose(4, 4, strides=2)
    >>> tuple(layer(np.zeros((1, 8, 8, 3), "float32")).shape)
    (1, 16, 16, 4)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial
        Networks", ICLR 2018.
    """

    _output_axis = -2  # the kernel is (kh, kw, filters, in_channels)

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
        return self._transpose_convolve(inputs, self.normalized_kernel(training))
