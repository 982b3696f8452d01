"""`DCGANDownBlock`: strided convolution, batch norm, LeakyReLU."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv_norm_activation import ConvNormActivation
from gan_blocks.layers.dcgan_blocks_validation import check_no_checkerboard


@gan_blocks_export()
class DCGANDownBlock(ConvNormActivation):
    """A DCGAN discriminator block: strided `Conv2D` -> BatchNorm -> LeakyReLU.

    Downsamples with a strided convolution instead of pooling (no sparse
    gradients), LeakyReLU instead of ReLU, batch norm everywhere except the
    discriminator's input block (`batch_norm=False` there), and optional dropout
    (the tutorial's "randomness for stability").

    Args:
        filters: Output channels.
        kernel_size: Kernel size (divisible by `strides`).
        strides: Downsampling factor.
        batch_norm: Whether to apply batch normalization (off for the first
            block).
        negative_slope: LeakyReLU slope.
        dropout: Dropout rate after the activation (0 disables it).
        seed: Seed of the dropout noise (makes torch runs resume bit-exactly).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor.
        training: Batch-norm and dropout mode.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> block = gb.layers.DCGANDownBlock(16, batch_norm=False)
    >>> tuple(block(np.zeros((2, 28, 28, 1), "float32")).shape)
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
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        check_no_checkerboard(kernel_size, strides)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.batch_norm = batch_norm
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.seed = seed
        self.set_body(
            keras.layers.Conv2D(
                filters,
                kernel_size,
                strides=strides,
                padding="same",
                use_bias=not batch_norm,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
                dtype=self.dtype_policy,
                name="conv",
            ),
            normalization=batch_norm,
            dropout=dropout,
            seed=seed,
        )

    def activation(self, x: Any) -> Any:
        return keras.ops.leaky_relu(x, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            batch_norm=self.batch_norm,
            negative_slope=self.negative_slope,
            dropout=self.dropout,
            seed=self.seed,
        )
        return config
