"""`UNetDownBlock`: the pix2pix U-Net encoder block."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv_norm_activation import ConvNormActivation


@gan_blocks_export()
class UNetDownBlock(ConvNormActivation):
    """4x4 stride-2 `Conv2D` -> optional BatchNorm -> LeakyReLU(0.2).

    Args:
        filters: Output channels.
        normalization: Whether to apply batch normalization (pix2pix leaves it
            off in the first encoder block).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor with even height and width.
        training: Batch-norm mode.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> tuple(gb.layers.UNetDownBlock(8)(np.zeros((1, 32, 32, 3), "float32")).shape)
    (1, 16, 16, 8)

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017.
    """

    def __init__(self, filters: int, normalization: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.filters = filters
        self.normalization = normalization
        self.set_body(
            keras.layers.Conv2D(
                filters,
                4,
                strides=2,
                padding="same",
                use_bias=not normalization,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
                dtype=self.dtype_policy,
                name="conv",
            ),
            normalization=normalization,
        )

    def activation(self, x: Any) -> Any:
        return keras.ops.leaky_relu(x, 0.2)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(filters=self.filters, normalization=self.normalization)
        return config
