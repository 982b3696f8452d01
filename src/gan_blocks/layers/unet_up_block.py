"""`UNetUpBlock`: the pix2pix U-Net decoder block with its skip connection."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv2d_transpose import Conv2DTranspose


@gan_blocks_export()
class UNetUpBlock(keras.layers.Layer):
    """4x4 stride-2 `Conv2DTranspose` -> BatchNorm -> Dropout -> ReLU -> concat skip.

    Called as `up([x, skip])`: `x` is upsampled by 2 and the encoder feature map
    `skip` of the same spatial size is concatenated on the channel axis.

    Args:
        filters: Channels of the upsampled map (the output has
            `filters + skip channels`).
        dropout: Dropout rate (pix2pix uses 0.5 in the first three decoder
            blocks, as its source of noise).
        seed: Seed of the dropout noise (makes torch runs resume bit-exactly).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[x, skip]`, two 4-D channels-last tensors with
            `skip.shape[1:3] == 2 * x.shape[1:3]`.
        training: Batch-norm and dropout mode.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> up = gb.layers.UNetUpBlock(8, dropout=0.5)
    >>> x, skip = np.zeros((1, 4, 4, 16), "float32"), np.zeros((1, 8, 8, 4), "float32")
    >>> tuple(up([x, skip]).shape)
    (1, 8, 8, 12)

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017.
    """

    def __init__(self, filters: int, dropout: float = 0.0, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
        self.filters = filters
        self.dropout = dropout
        self.seed = seed
        self.conv = Conv2DTranspose(
            filters,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=self.dtype_policy,
            name="conv_transpose",
        )
        self.norm = keras.layers.BatchNormalization(dtype=self.dtype_policy, name="batch_norm")
        self.dropout_layer = (
            keras.layers.Dropout(dropout, seed=seed, dtype=self.dtype_policy, name="dropout")
            if dropout
            else None
        )

    def _check(self, x_shape: Any, skip_shape: Any) -> tuple:
        upsampled = tuple(self.conv.compute_output_shape(tuple(x_shape)))
        spatial, skip_spatial = upsampled[1:3], tuple(skip_shape)[1:3]
        if any(a is not None and b is not None and a != b for a, b in zip(spatial, skip_spatial)):
            raise ValueError(
                f"UNetUpBlock upsamples x of shape {tuple(x_shape)} to spatial size "
                f"{spatial}, which does not match the skip of shape {tuple(skip_shape)}. "
                "The skip must come from the encoder level with twice x's height and width."
            )
        return upsampled

    def build(self, input_shape: Any) -> None:
        x_shape, skip_shape = input_shape
        upsampled = self._check(x_shape, skip_shape)
        self.conv.build(tuple(x_shape))
        self.norm.build(upsampled)
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        x, skip = inputs
        self._check(x.shape, skip.shape)
        x = self.norm(self.conv(x), training=training)
        if self.dropout_layer is not None:
            x = self.dropout_layer(x, training=training)
        x = keras.ops.relu(x)
        return keras.ops.concatenate([x, keras.ops.cast(skip, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        x_shape, skip_shape = input_shape
        upsampled = self._check(x_shape, skip_shape)
        channels = skip_shape[-1]
        total = None if channels is None else self.filters + channels
        return tuple(upsampled[:3]) + (total,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(filters=self.filters, dropout=self.dropout, seed=self.seed)
        return config
