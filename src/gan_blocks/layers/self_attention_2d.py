"""`SelfAttention2D`: SAGAN's self-attention over feature-map positions."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.validation import check_int


@gan_blocks_export()
class SelfAttention2D(keras.layers.Layer):
    """Self-attention across all spatial positions, `y = x + gamma * attention(x)`.

    Query and key are 1x1 convolutions to `channels // reduction` channels, the
    value a 1x1 convolution to `channels`; the softmax over positions mixes the
    values. `gamma` is a learned scalar initialized to 0, so the block starts as
    the identity and learns how much non-local evidence to use.

    Args:
        reduction: Channel reduction of query and key (8 in SAGAN).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> x = np.random.rand(2, 4, 4, 16).astype("float32")
    >>> y = keras.ops.convert_to_numpy(gb.layers.SelfAttention2D()(x))
    >>> bool(np.allclose(y, x))  # gamma starts at 0
    True

    Reference:
        Zhang et al., "Self-Attention Generative Adversarial Networks",
        ICML 2019.
    """

    def __init__(self, reduction: int = 8, **kwargs: Any):
        super().__init__(**kwargs)
        reduction = check_int("reduction", reduction, minimum=1)
        self.reduction = reduction

    def build(self, input_shape: Any) -> None:
        channels = input_shape[-1]
        inner = max(channels // self.reduction, 1)
        self.query = keras.layers.Conv2D(
            inner, 1, use_bias=False, dtype=self.dtype_policy, name="query"
        )
        self.key = keras.layers.Conv2D(
            inner, 1, use_bias=False, dtype=self.dtype_policy, name="key"
        )
        self.value = keras.layers.Conv2D(
            channels, 1, use_bias=False, dtype=self.dtype_policy, name="value"
        )
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")
        self.built = True

    def call(self, inputs: Any) -> Any:
        height, width = inputs.shape[1], inputs.shape[2]
        positions = height * width
        query = ops.reshape(self.query(inputs), (-1, positions, self.query.filters))
        key = ops.reshape(self.key(inputs), (-1, positions, self.key.filters))
        value = ops.reshape(self.value(inputs), (-1, positions, self.value.filters))
        scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
        weights = ops.softmax(ops.cast(scores, "float32"), axis=-1)
        attended = ops.matmul(ops.cast(weights, value.dtype), value)
        attended = ops.reshape(attended, ops.shape(inputs))
        return inputs + ops.cast(self.gamma, inputs.dtype) * attended

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(reduction=self.reduction)
        return config
