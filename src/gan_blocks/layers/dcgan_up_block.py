"""`DCGANUpBlock`: fractional-strided convolution, batch norm, ReLU."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv2d_transpose import Conv2DTranspose
from gan_blocks.layers.conv_norm_activation import ConvNormActivation
from gan_blocks.layers.dcgan_blocks_validation import check_no_checkerboard


@gan_blocks_export()
class DCGANUpBlock(ConvNormActivation):
    """A DCGAN generator block: `Conv2DTranspose` -> BatchNorm -> ReLU.

    Upsamples by `strides` with a fractional-strided convolution (no
    upsampling-by-copy, no pooling), following the DCGAN rules: batch norm in
    every generator block but the output one, ReLU activations. The kernel size
    must be divisible by the stride to avoid checkerboard artifacts.

    Args:
        filters: Output channels.
        kernel_size: Kernel size (divisible by `strides`).
        strides: Upsampling factor.
        batch_norm: Whether to apply batch normalization.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor.
        training: Batch-norm mode.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> tuple(gb.layers.DCGANUpBlock(16)(np.zeros((2, 7, 7, 32), "float32")).shape)
    (2, 14, 14, 16)

    Reference:
        Radford et al., "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", ICLR 2016.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int = 4,
        strides: int = 2,
        batch_norm: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        check_no_checkerboard(kernel_size, strides)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.batch_norm = batch_norm
        self.set_body(
            Conv2DTranspose(
                filters,
                kernel_size,
                strides=strides,
                padding="same",
                use_bias=not batch_norm,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
                dtype=self.dtype_policy,
                name="conv_transpose",
            ),
            normalization=batch_norm,
        )

    def activation(self, x: Any) -> Any:
        return keras.ops.relu(x)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            batch_norm=self.batch_norm,
        )
        return config
