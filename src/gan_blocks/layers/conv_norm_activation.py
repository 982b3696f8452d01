"""The conv -> batch norm -> activation -> dropout body of the DCGAN and U-Net blocks."""

from __future__ import annotations

from typing import Any

import keras


class ConvNormActivation(keras.layers.Layer):
    """Base of `DCGANDownBlock`, `DCGANUpBlock` and `UNetDownBlock`.

    A subclass creates its convolution with `set_body(conv, ...)` in
    `__init__` and defines `activation(x)`; building, calling and the output
    shape are written here once. The sub-layers keep the names `conv`,
    `batch_norm` and `dropout` (and the attributes `conv`, `norm`,
    `dropout_layer`), so weights saved by earlier versions load unchanged.
    """

    def set_body(
        self,
        conv: keras.layers.Layer,
        normalization: bool,
        dropout: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """Sets the convolution, an optional batch norm and an optional dropout."""
        self.conv = conv
        self.norm = (
            keras.layers.BatchNormalization(dtype=self.dtype_policy, name="batch_norm")
            if normalization
            else None
        )
        self.dropout_layer = (
            keras.layers.Dropout(dropout, seed=seed, dtype=self.dtype_policy, name="dropout")
            if dropout
            else None
        )

    def activation(self, x: Any) -> Any:
        """The block's nonlinearity (ReLU or LeakyReLU)."""
        raise NotImplementedError

    def build(self, input_shape: Any) -> None:
        self.conv.build(input_shape)
        if self.norm is not None:
            self.norm.build(self.conv.compute_output_shape(input_shape))
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        x = self.conv(inputs)
        if self.norm is not None:
            x = self.norm(x, training=training)
        x = self.activation(x)
        if self.dropout_layer is not None:
            x = self.dropout_layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(self.conv.compute_output_shape(input_shape))
