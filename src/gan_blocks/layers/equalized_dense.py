"""`EqualizedDense`: StyleGAN2's fully connected layer with an equalized learning rate."""

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
class EqualizedDense(keras.layers.Layer):
    """Dense layer whose weights are scaled at run time (equalized learning rate).

    As NVlabs' `FullyConnectedLayer`: the kernel is stored as draws of
    `N(0, 1 / lr_multiplier**2)` and used as
    `kernel * lr_multiplier / sqrt(in_features)`, so the effective weights
    start with the He standard deviation `1 / sqrt(in_features)` whatever
    `lr_multiplier`, and an optimizer such as Adam, whose steps
    do not depend on the gradient's scale, moves every layer at the same
    relative speed. `lr_multiplier` slows the layer down further (StyleGAN's
    mapping network uses 0.01). The bias is stored as
    `bias_initializer / lr_multiplier` and used as `bias * lr_multiplier`.

    Args:
        units: Output size.
        activation: `None` or `"linear"` (identity), or `"leaky_relu"`:
            NVlabs' `lrelu`, a leaky ReLU of slope 0.2 times `sqrt(2)`.
        use_bias: Whether to add a bias.
        bias_initializer: Initial value of the (effective) bias, a float.
        lr_multiplier: Learning-rate multiplier of the layer (> 0).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A tensor of rank >= 2; the last axis holds the features.

    Returns:
        A tensor of the input's shape with the last axis of size `units`, in
        the layer's compute dtype.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> layer = gb.layers.EqualizedDense(3, activation="leaky_relu", lr_multiplier=0.01)
    >>> tuple(layer(np.ones((2, 5), "float32")).shape)
    (2, 3)

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020 (and "Progressive Growing of GANs", ICLR 2018,
        for the equalized learning rate).
    """

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        bias_initializer: float = 0.0,
        lr_multiplier: float = 1.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units, minimum=1)
        self.activation = check_equalized_activation(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = check_number("bias_initializer", bias_initializer)
        self.lr_multiplier = check_number(
            "lr_multiplier", lr_multiplier, minimum=0.0, exclusive=True
        )
        self.kernel = None
        self.bias = None

    def build(self, input_shape: Any) -> None:
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError(
                "EqualizedDense needs a known number of input features (the last axis). "
                f"Received an input of shape {tuple(input_shape)}."
            )
        self.kernel = self.add_weight(
            shape=(in_features, self.units),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
            name="kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                initializer=keras.initializers.Constant(self.bias_initializer / self.lr_multiplier),
                name="bias",
            )
        self.built = True

    @property
    def weight_gain(self) -> float:
        """The run-time kernel scale `lr_multiplier / sqrt(in_features)`."""
        return self.lr_multiplier / math.sqrt(self.kernel.shape[0])

    def call(self, inputs: Any) -> Any:
        outputs = ops.matmul(inputs, ops.cast(self.kernel, inputs.dtype) * self.weight_gain)
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, inputs.dtype) * self.lr_multiplier
        return equalized_activation(outputs, self.activation)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            activation=self.activation,
            use_bias=self.use_bias,
            bias_initializer=self.bias_initializer,
            lr_multiplier=self.lr_multiplier,
        )
        return config
