"""`StyleGAN2DiscriminatorBlock`: StyleGAN2's residual discriminator block."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.downsample_2d import Downsample2D
from gan_blocks.layers.equalized_conv2d import EqualizedConv2D
from gan_blocks.validation import check_int


@gan_blocks_export()
class StyleGAN2DiscriminatorBlock(keras.layers.Layer):
    """Two 3x3 convolutions and a 1x1 skip, halving the resolution (StyleGAN2 "resnet").

    Main path: `EqualizedConv2D(C, 3)` with leaky ReLU, FIR down-sampling
    (`Downsample2D`, the [1, 3, 3, 1] filter), `EqualizedConv2D(filters, 3)`
    with leaky ReLU. Skip path: FIR down-sampling and a bias-free 1x1
    `EqualizedConv2D(filters, 1)`. The sum is scaled by `sqrt(1/2)` so the
    output keeps the input's variance. `C` is the input's channel count.
    (NVlabs blurs before a strided convolution; here the blur and the
    down-sampling come first and the convolution runs at the lower
    resolution: the same filter, a quarter of the cost.)

    Args:
        filters: Output channels.
        resample_filter: The 1-D FIR filter of the down-sampling.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(batch, H, W, C)` with even H and W.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> block = gb.layers.StyleGAN2DiscriminatorBlock(16)
    >>> tuple(block(np.zeros((2, 8, 8, 4), "float32")).shape)
    (2, 4, 4, 16)

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020 (figure 7, residual discriminator).
    """

    def __init__(
        self,
        filters: int,
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters, minimum=1)
        self.resample_filter = tuple(float(v) for v in resample_filter)
        self.downsample = Downsample2D(2, self.resample_filter, name="downsample")
        self.conv1 = EqualizedConv2D(self.filters, 3, activation="leaky_relu", name="conv1")
        self.skip = EqualizedConv2D(self.filters, 1, use_bias=False, name="skip")
        self.conv0 = None

    def build(self, input_shape: Any) -> None:
        channels = input_shape[-1]
        if len(input_shape) != 4 or channels is None:
            raise ValueError(
                "StyleGAN2DiscriminatorBlock expects (batch, height, width, channels) with "
                f"known channels. Received: input_shape={tuple(input_shape)}"
            )
        self.conv0 = EqualizedConv2D(int(channels), 3, activation="leaky_relu", name="conv0")
        self.conv0.build(input_shape)
        self.downsample.build(input_shape)
        half = (input_shape[0], input_shape[1] // 2, input_shape[2] // 2, channels)
        self.conv1.build(half)
        self.skip.build(half)

    def call(self, inputs: Any) -> Any:
        gain = math.sqrt(0.5)
        skip = self.skip(self.downsample(inputs)) * gain
        x = self.conv0(inputs)
        x = self.conv1(self.downsample(x)) * gain
        return skip + x

    def compute_output_shape(self, input_shape: Any) -> tuple:
        height, width = input_shape[1], input_shape[2]
        return (
            input_shape[0],
            None if height is None else height // 2,
            None if width is None else width // 2,
            self.filters,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(filters=self.filters, resample_filter=list(self.resample_filter))
        return config
