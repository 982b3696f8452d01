"""`ConstantInput`: a learned constant feature map, StyleGAN's synthesis input."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.validation import check_int


@gan_blocks_export()
class ConstantInput(keras.layers.Layer):
    """A trainable `(size, size, channels)` tensor repeated over the batch of its input.

    StyleGAN starts synthesis from this learned constant; the styles, not the
    input, carry the latent. The input only gives the batch size.

    Args:
        channels: Channels of the constant.
        size: Its height and width (StyleGAN: 4).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: Any tensor whose first axis is the batch (e.g. the W latents).

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> tuple(gb.layers.ConstantInput(8)(np.zeros((3, 5), "float32")).shape)
    (3, 4, 4, 8)
    """

    def __init__(self, channels: int, size: int = 4, **kwargs: Any):
        super().__init__(**kwargs)
        self.channels = check_int("channels", channels, minimum=1)
        self.size = check_int("size", size, minimum=1)

    def build(self, input_shape: Any) -> None:
        self.constant = self.add_weight(
            shape=(self.size, self.size, self.channels),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="constant",
        )

    def call(self, inputs: Any) -> Any:
        batch = ops.shape(inputs)[0]
        constant = ops.cast(ops.expand_dims(self.constant, 0), self.compute_dtype)
        return ops.tile(constant, (batch, 1, 1, 1))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(channels=self.channels, size=self.size)
        return config
