"""`EqualizedConv2D`: StyleGAN2's convolution with an equalized learning rate."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.equalized_activation import (
    check_equalized_activation,
    equalized_activation,
)
from gan_blocks.validation import check_int, check_number


@gan_blocks_export()
class EqualizedConv2D(keras.layers.Layer):
    """Stride-1 "same" convolution whose kernel is scaled at run time.

    As NVlabs' `Conv2dLayer` (without up/down-sampling): the kernel is
    stored as draws of `N(0, 1 / lr_multiplier**2)` and used as
    `kernel * lr_multiplier / sqrt(in_channels * kernel_size**2)`, the He
    standard deviation of the fan-in; the bias (zeros at first) is used as
    `bias * lr_multiplier`. See `EqualizedDense` for why.

    Args:
        filters: Output channels.
        kernel_size: Side of the square kernel, an odd int (the padding
            `kernel_size // 2` keeps the spatial size).
        activation: `None` or `"linear"` (identity), or `"leaky_relu"`:
            NVlabs' `lrelu`, a leaky ReLU of slope 0.2 times `sqrt(2)`.
        use_bias: Whether to add a bias.
        lr_multiplier: Learning-rate multiplier of the layer (> 0).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A channels-last tensor of shape `(batch, height, width, channels)`.

    Returns:
        A tensor of shape `(batch, height, width, filters)` in the layer's
        compute dtype.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> layer = gb.layers.EqualizedConv2D(8, 3, activation="leaky_relu")
    >>> tuple(layer(np.ones((2, 16, 16, 3), "float32")).shape)
    (2, 16, 16, 8)

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        activation: str | None = None,
        use_bias: bool = True,
        lr_multiplier: float = 1.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters, minimum=1)
        kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        if kernel_size % 2 == 0:
            raise ValueError(
                "EqualizedConv2D needs an odd `kernel_size`, whose 'same' padding is "
                "symmetric (kernel_size // 2 on each side), e.g. 1 or 3. "
                f"Received: kernel_size={kernel_size}"
            )
        self.kernel_size = kernel_size
        self.activation = check_equalized_activation(activation)
        self.use_bias = bool(use_bias)
        self.lr_multiplier = check_number(
            "lr_multiplier", lr_multiplier, minimum=0.0, exclusive=True
        )
        self.kernel = None
        self.bias = None

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                "EqualizedConv2D expects a channels-last input (batch, height, width, "
                f"channels) with known channels. Received an input of shape {tuple(input_shape)}."
            )
        in_channels = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, in_channels, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
            name="kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        self.built = True

    @property
    def weight_gain(self) -> float:
        """The run-time kernel scale `lr_multiplier / sqrt(in_channels * kernel_size**2)`."""
        fan_in = self.kernel.shape[2] * self.kernel_size * self.kernel_size
        return self.lr_multiplier / math.sqrt(fan_in)

    def call(self, inputs: Any) -> Any:
        kernel = ops.cast(self.kernel, inputs.dtype) * self.weight_gain
        outputs = ops.conv(inputs, kernel, strides=1, padding="same", data_format="channels_last")
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, inputs.dtype) * self.lr_multiplier
        return equalized_activation(outputs, self.activation)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            activation=self.activation,
            use_bias=self.use_bias,
            lr_multiplier=self.lr_multiplier,
        )
        return config
