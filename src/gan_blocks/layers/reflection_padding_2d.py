"""`ReflectionPadding2D`: pads images by mirroring them at their borders."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.traceable_padding import reflect_pad


def _normalize_padding(padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Returns `padding` as `((top, bottom), (left, right))` of ints >= 0."""

    def is_count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if is_count(padding):
        pairs = ((padding, padding), (padding, padding))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(map(is_count, padding)):
        pairs = ((padding[0], padding[0]), (padding[1], padding[1]))
    elif (
        isinstance(padding, (tuple, list))
        and len(padding) == 2
        and all(
            isinstance(pair, (tuple, list)) and len(pair) == 2 and all(map(is_count, pair))
            for pair in padding
        )
    ):
        pairs = tuple(tuple(pair) for pair in padding)
    else:
        raise ValueError(
            "`padding` must be an int >= 0, a pair `(rows, columns)` or a pair of pairs "
            f"`((top, bottom), (left, right))`. Received: padding={padding!r}"
        )
    return pairs


@gan_blocks_export()
class ReflectionPadding2D(keras.layers.Layer):
    """Pads the height and width of images with their mirror image.

    Like `keras.layers.ZeroPadding2D`, but the border is reflected without
    repeating the edge pixel (`numpy.pad(..., mode="reflect")`): the row above
    the first is the second row. Generators that keep the resolution (CycleGAN's
    ResNet generator, Johnson et al.'s style-transfer network) pad this way so
    that no artificial zero border leaks into the image. Written with
    `keras.ops.pad`, so it runs on every backend.

    Args:
        padding: An int (the same padding on all four sides), a pair
            `(rows, columns)` (symmetric), or `((top, bottom), (left, right))`.
            Each must be smaller than the padded side: reflection cannot reach
            further than the opposite border.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor `(batch, height, width, channels)`.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> x = np.arange(3, dtype="float32").reshape(1, 1, 3, 1)
    >>> y = gb.layers.ReflectionPadding2D(((0, 0), (2, 1)))(x)
    >>> keras.ops.convert_to_numpy(y)[0, 0, :, 0].tolist()
    [2.0, 1.0, 0.0, 1.0, 2.0, 1.0]

    Reference:
        Johnson et al., "Perceptual Losses for Real-Time Style Transfer and
        Super-Resolution", ECCV 2016.
    """

    def __init__(self, padding: int | tuple = 1, **kwargs: Any):
        super().__init__(**kwargs)
        self.padding = _normalize_padding(padding)

    def _check(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(
                "ReflectionPadding2D expects 4-D channels-last inputs "
                f"(batch, height, width, channels). Received: input_shape={shape}"
            )
        for axis, side, (before, after) in zip(("height", "width"), shape[1:3], self.padding):
            reach = max(before, after)
            if side is not None and reach >= side:
                raise ValueError(
                    f"ReflectionPadding2D(padding={self.padding}) cannot reflect {reach} pixels "
                    f"of a {axis} of {side}: each padding must be smaller than the side it "
                    f"pads. Received: input_shape={shape}. Use a smaller padding or larger "
                    "images."
                )

    def build(self, input_shape: Any) -> None:
        self._check(input_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        self._check(inputs.shape)
        # Not keras.ops.pad: it ends a torch.compile graph (traceable_padding).
        return reflect_pad(inputs, ((0, 0), *self.padding, (0, 0)))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        self._check(input_shape)
        batch, height, width, channels = tuple(input_shape)
        (top, bottom), (left, right) = self.padding
        return (
            batch,
            None if height is None else height + top + bottom,
            None if width is None else width + left + right,
            channels,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(padding=self.padding)
        return config
