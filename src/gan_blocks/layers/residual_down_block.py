"""`ResidualDownBlock`: the SN-GAN / BigGAN discriminator block."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.residual_up_block import residual_conv
from gan_blocks.validation import check_int


def average_pool_2x(x: Any) -> Any:
    """2x2 average pooling, stride 2 (odd sides drop their last row/column)."""
    return ops.average_pool(x, pool_size=2, strides=2, padding="valid")


@gan_blocks_export()
class ResidualDownBlock(keras.layers.Layer):
    """A pre-activation residual discriminator block that halves the resolution.

    Main path: ReLU -> 3x3 conv -> ReLU -> 3x3 conv -> 2x2 average pooling.
    Shortcut: a learned 1x1 conv then pooling when the shape changes (channels
    or resolution), identity otherwise. With `preactivation=False` (the first
    block, which sees the image itself) the leading ReLU is dropped and the
    shortcut pools before its 1x1 conv, as in SN-GAN's "optimized" block.
    Convolutions are spectral-normalized by default: no batch norm is needed
    in the discriminator, and its Lipschitz constant stays bounded.

    Args:
        filters: Output channels.
        spectral: Spectral-normalize the convolutions.
        downsample: Whether to halve the resolution.
        preactivation: Apply ReLU before the first conv (`False` for the block
            on the input images).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor.
        training: Whether the spectral norms update their power iteration.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> block = gb.layers.ResidualDownBlock(32, preactivation=False)
    >>> tuple(block(np.zeros((2, 28, 28, 1), "float32")).shape)
    (2, 14, 14, 32)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial
        Networks", ICLR 2018 (appendix B).
    """

    def __init__(
        self,
        filters: int,
        spectral: bool = True,
        downsample: bool = True,
        preactivation: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        filters = check_int("filters", filters, minimum=1)
        self.filters = filters
        self.spectral = spectral
        self.downsample = downsample
        self.preactivation = preactivation
        self.conv_1 = residual_conv(filters, 3, spectral, self.dtype_policy, "conv_1")
        self.conv_2 = residual_conv(filters, 3, spectral, self.dtype_policy, "conv_2")
        self.shortcut = None  # A 1x1 conv, created in build when the shape changes.

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 4:
            raise ValueError(
                f"ResidualDownBlock expects 4-D images (batch, h, w, c). Received: {input_shape}"
            )
        out_shape = input_shape[:3] + (self.filters,)
        self.conv_1.build(input_shape)
        self.conv_2.build(out_shape)
        if input_shape[3] != self.filters or self.downsample:
            self.shortcut = residual_conv(
                self.filters, 1, self.spectral, self.dtype_policy, "shortcut"
            )
            self.shortcut.build(input_shape)  # 1x1: pooling first or last, same kernel.
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        h = ops.relu(inputs) if self.preactivation else inputs
        h = self.conv_1(h, training=training)
        h = self.conv_2(ops.relu(h), training=training)
        if self.downsample:
            h = average_pool_2x(h)
        skip = inputs
        if self.shortcut is None:
            return h + skip
        if self.preactivation:
            skip = self.shortcut(skip, training=training)
            skip = average_pool_2x(skip) if self.downsample else skip
        else:
            skip = average_pool_2x(skip) if self.downsample else skip
            skip = self.shortcut(skip, training=training)
        return h + skip

    def compute_output_shape(self, input_shape: Any) -> tuple:
        batch, height, width, _ = tuple(input_shape)
        if self.downsample:
            height = None if height is None else height // 2
            width = None if width is None else width // 2
        return (batch, height, width, self.filters)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            spectral=self.spectral,
            downsample=self.downsample,
            preactivation=self.preactivation,
        )
        return config
