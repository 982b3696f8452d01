"""`PatchGANHead`: pix2pix's convolutional per-patch discriminator."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.spectral_conv2d import SpectralConv2D
from gan_blocks.validation import check_int

NORMALIZATIONS = ("batch", "instance", "spectral", None)


@gan_blocks_export()
class PatchGANHead(keras.layers.Layer):
    """Maps images to a grid of logits, one per (overlapping) patch.

    pix2pix's C64-C128-C256-C512 layout for `num_layers=3`: 4x4 convolutions
    with one pixel of zero padding, stride 2 for the first `num_layers` blocks
    and 1 for the last two, filters doubling up to `8 * filters`, LeakyReLU(0.2),
    no normalization on the first block, and a final 1-channel convolution. A
    256x256 input gives a 30x30 logit map; each logit sees a `receptive_field`
    square of pixels (70 for `num_layers=3`). Feed it a channel-concatenated
    `(source, target)` pair for a conditional discriminator.

    Args:
        filters: Filters of the first convolution.
        num_layers: Number of stride-2 blocks.
        normalization: `"batch"`, `"instance"` (`GroupNormalization(groups=-1)`),
            `"spectral"` (spectral-normalized convolutions) or `None`.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor.
        training: Whether batch statistics / spectral vectors update.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> head = gb.layers.PatchGANHead(filters=8, num_layers=3, normalization=None)
    >>> tuple(head(np.zeros((1, 64, 64, 6), "float32")).shape)
    (1, 6, 6, 1)
    >>> head.receptive_field
    70

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017.
    """

    def __init__(
        self,
        filters: int = 64,
        num_layers: int = 3,
        normalization: str | None = "batch",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"`normalization` must be one of {NORMALIZATIONS}. "
                f"Received: normalization={normalization!r}"
            )
        num_layers = check_int("num_layers", num_layers, minimum=1)
        self.filters = filters
        self.num_layers = num_layers
        self.normalization = normalization
        self.blocks = []
        strides = [2] * num_layers + [1]
        for index, stride in enumerate(strides):
            width = filters * min(2**index, 8)
            block = [
                keras.layers.ZeroPadding2D(1, dtype=self.dtype_policy),
                self._conv(
                    width,
                    stride,
                    use_bias=index == 0 or normalization in (None, "spectral"),
                    name=f"conv_{index}",
                ),
            ]
            if index > 0:
                block += self._norm(f"norm_{index}")
            block.append(keras.layers.LeakyReLU(0.2, dtype=self.dtype_policy))
            self.blocks.append(block)
        self.output_padding = keras.layers.ZeroPadding2D(1, dtype=self.dtype_policy)
        self.output_conv = self._conv(1, 1, use_bias=True, name="logits")

    def _conv(self, filters: int, strides: int, use_bias: bool, name: str) -> keras.layers.Layer:
        kwargs = dict(
            kernel_size=4,
            strides=strides,
            padding="valid",
            use_bias=use_bias,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=self.dtype_policy,
            name=name,
        )
        if self.normalization == "spectral":
            return SpectralConv2D(filters, **kwargs)
        return keras.layers.Conv2D(filters, **kwargs)

    def _norm(self, name: str) -> list:
        if self.normalization == "batch":
            return [keras.layers.BatchNormalization(dtype=self.dtype_policy, name=name)]
        if self.normalization == "instance":
            return [keras.layers.GroupNormalization(groups=-1, dtype=self.dtype_policy, name=name)]
        return []

    @property
    def receptive_field(self) -> int:
        """Side of the input square one output logit sees (closed form)."""
        field = 1
        for stride in reversed([2] * self.num_layers + [1, 1]):
            field = (field - 1) * stride + 4
        return field

    def build(self, input_shape: Any) -> None:
        try:
            output_shape = self.compute_output_shape(tuple(input_shape))
        except ValueError:
            output_shape = (None, 0, 0, 1)
        if any(side is not None and side < 1 for side in output_shape[1:3]):
            raise ValueError(
                f"PatchGANHead(num_layers={self.num_layers}) needs larger inputs than "
                f"{tuple(input_shape)}: its logit map would be empty. "
                "Use fewer layers (each halves the image; the last two 4x4 convolutions "
                "remove 3 pixels) or larger images."
            )
        shape = tuple(input_shape)
        for block in self.blocks:
            for layer in block:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.output_padding.build(shape)
        shape = self.output_padding.compute_output_shape(shape)
        self.output_conv.build(shape)
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        # `training` goes to every sub-layer, not only those known to use it:
        # `Layer.__call__` would propagate it through the call context anyway,
        # but `stateless_call` runs `call` directly, without that context.
        x = inputs
        for block in self.blocks:
            for layer in block:
                x = layer(x, training=training)
        x = self.output_padding(x, training=training)
        return self.output_conv(x, training=training)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        for block in self.blocks:
            for layer in block:
                shape = layer.compute_output_shape(shape)
        shape = self.output_padding.compute_output_shape(shape)
        return tuple(self.output_conv.compute_output_shape(shape))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters, num_layers=self.num_layers, normalization=self.normalization
        )
        return config
