"""`ResidualUpBlock`: the SN-GAN / BigGAN generator block."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conditional_batch_normalization import ConditionalBatchNormalization
from gan_blocks.layers.paired_inputs import is_pair
from gan_blocks.layers.spectral_conv2d import SpectralConv2D
from gan_blocks.validation import check_int


def residual_conv(
    filters: int, kernel_size: int, spectral: bool, dtype: Any, name: str
) -> keras.layers.Layer:
    """A stride-1 "same" convolution of a residual block, spectral or plain."""
    if spectral:
        return SpectralConv2D(filters, kernel_size, dtype=dtype, name=name)
    return keras.layers.Conv2D(filters, kernel_size, padding="same", dtype=dtype, name=name)


@gan_blocks_export()
class ResidualUpBlock(keras.layers.Layer):
    """A pre-activation residual generator block that doubles the resolution.

    Main path: norm -> ReLU -> 2x nearest upsampling -> 3x3 conv -> norm ->
    ReLU -> 3x3 conv. Shortcut: upsampling, then a learned 1x1 conv when the
    channel count changes (identity otherwise). The two paths are added. The
    norms are `BatchNormalization`, or `ConditionalBatchNormalization` when
    `conditional_classes` is set: the block is then called as
    `block([x, labels])`. Nearest upsampling followed by a 3x3 conv has no
    checkerboard pattern, unlike a transposed convolution whose kernel is
    not divisible by its stride.

    Args:
        filters: Output channels.
        spectral: Spectral-normalize the convolutions (BigGAN does it in the
            generator too; SN-GAN does not).
        conditional_classes: Number of classes of a conditional block, or
            `None`.
        upsample: Whether to double the resolution.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor, or `[x, labels]` for a
            conditional block (integer labels of shape `(batch,)`).
        training: Batch-norm mode.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> block = gb.layers.ResidualUpBlock(32)
    >>> tuple(block(np.zeros((2, 7, 7, 64), "float32")).shape)
    (2, 14, 14, 32)
    >>> block = gb.layers.ResidualUpBlock(32, conditional_classes=10)
    >>> tuple(block([np.zeros((2, 7, 7, 64), "float32"), np.array([1, 2])]).shape)
    (2, 14, 14, 32)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial
        Networks", ICLR 2018 (appendix B); He et al., "Identity Mappings in
        Deep Residual Networks", ECCV 2016.
    """

    def __init__(
        self,
        filters: int,
        spectral: bool = False,
        conditional_classes: int | None = None,
        upsample: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        filters = check_int("filters", filters, minimum=1)
        self.filters = filters
        self.spectral = spectral
        self.conditional_classes = conditional_classes
        self.upsample = upsample
        self.norm_1 = self._norm("norm_1")
        self.norm_2 = self._norm("norm_2")
        self.conv_1 = residual_conv(filters, 3, spectral, self.dtype_policy, "conv_1")
        self.conv_2 = residual_conv(filters, 3, spectral, self.dtype_policy, "conv_2")
        self.shortcut = None  # A 1x1 conv, created in build when channels change.

    def _norm(self, name: str) -> keras.layers.Layer:
        if self.conditional_classes is None:
            return keras.layers.BatchNormalization(dtype=self.dtype_policy, name=name)
        return ConditionalBatchNormalization(
            self.conditional_classes, dtype=self.dtype_policy, name=name
        )

    def _split(self, inputs: Any) -> tuple[Any, Any]:
        """`(x, labels)` of the inputs, or of their shapes (`labels` None if unconditional)."""
        paired = is_pair(inputs)
        if self.conditional_classes is None:
            if paired:
                raise ValueError(
                    "This ResidualUpBlock is unconditional and takes one tensor; "
                    "set `conditional_classes` to call it on [x, labels]."
                )
            return inputs, None
        if not paired:
            raise ValueError(
                f"A ResidualUpBlock with conditional_classes={self.conditional_classes} "
                "is called on [x, labels]."
            )
        return inputs[0], inputs[1]

    def _normalize(self, norm: keras.layers.Layer, x: Any, labels: Any, training: bool) -> Any:
        if labels is None:
            return norm(x, training=training)
        return norm([x, labels], training=training)

    def build(self, input_shape: Any) -> None:
        x_shape, labels_shape = self._split(input_shape)
        x_shape = tuple(x_shape)
        if len(x_shape) != 4:
            raise ValueError(
                f"ResidualUpBlock expects 4-D images (batch, h, w, c). Received: {x_shape}"
            )
        up_shape = self._upsampled_shape(x_shape)
        out_shape = up_shape[:3] + (self.filters,)
        if labels_shape is None:
            self.norm_1.build(x_shape)
            self.norm_2.build(out_shape)
        else:
            self.norm_1.build([x_shape, labels_shape])
            self.norm_2.build([out_shape, labels_shape])
        self.conv_1.build(up_shape)
        self.conv_2.build(out_shape)
        if x_shape[3] != self.filters:
            self.shortcut = residual_conv(
                self.filters, 1, self.spectral, self.dtype_policy, "shortcut"
            )
            self.shortcut.build(up_shape)
        self.built = True

    def _upsampled_shape(self, x_shape: tuple) -> tuple:
        """The shape of `x` after the (optional) 2x nearest-neighbour upsampling."""
        factor = 2 if self.upsample else 1
        height, width = (None if side is None else side * factor for side in x_shape[1:3])
        return (x_shape[0], height, width, x_shape[3])

    def _upsampled(self, x: Any) -> Any:
        if not self.upsample:
            return x
        height, width, channels = x.shape[1:]
        if None in (height, width, channels):
            return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)
        # Nearest-neighbour 2x by reshapes and concatenations: the same values as
        # `ops.repeat`, but TensorFlow keeps the static height and width with a
        # free batch axis (after `tf.repeat` it does not, and the LiteRT converter
        # then emits a Flex convolution its interpreter cannot run).
        rows = ops.reshape(x, (-1, height, 1, width * channels))
        rows = ops.reshape(
            ops.concatenate([rows, rows], axis=2), (-1, 2 * height, width, 1, channels)
        )
        both = ops.concatenate([rows, rows], axis=3)
        return ops.reshape(both, (-1, 2 * height, 2 * width, channels))

    def call(self, inputs: Any, training: bool = False) -> Any:
        x, labels = self._split(inputs)
        h = ops.relu(self._normalize(self.norm_1, x, labels, training))
        h = self.conv_1(self._upsampled(h), training=training)
        h = ops.relu(self._normalize(self.norm_2, h, labels, training))
        h = self.conv_2(h, training=training)
        skip = self._upsampled(x)
        if self.shortcut is not None:
            skip = self.shortcut(skip, training=training)
        return h + skip

    def compute_output_shape(self, input_shape: Any) -> tuple:
        x_shape = tuple(self._split(input_shape)[0])
        return self._upsampled_shape(x_shape)[:3] + (self.filters,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            spectral=self.spectral,
            conditional_classes=self.conditional_classes,
            upsample=self.upsample,
        )
        return config
