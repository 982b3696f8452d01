"""`Downsample2D`: StyleGAN2's FIR-filtered down-sampling (NVlabs `upfirdn2d.downsample2d`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.fir_filter import (
    check_fir_filter,
    downsample_padding,
    fir_filter_1d,
    separable_taps,
    upfirdn2d,
)
from gan_blocks.validation import check_int


@gan_blocks_export()
class Downsample2D(keras.layers.Layer):
    """Down-samples by an integer factor after a FIR low-pass filter.

    Every channel is convolved with the normalised separable filter
    `outer(filter, filter) / sum`, padded as NVlabs' `upfirdn2d.downsample2d`,
    and every `factor`-th pixel is kept: anti-aliased down-sampling (with the
    default `(1, 3, 3, 1)` filter, a blur followed by a stride). Height and
    width must be divisible by `factor`. No trainable weights.

    Args:
        factor: Integer down-sampling factor (>= 1).
        filter: 1-D FIR taps; the 2-D filter is their outer product, normalised
            to sum 1.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A `(batch, height, width, channels)` tensor.

    Returns:
        A `(batch, height // factor, width // factor, channels)` tensor.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> y = gb.layers.Downsample2D()(np.ones((2, 8, 8, 3), "float32"))
    >>> tuple(y.shape), round(float(np.asarray(y)[0, 1, 2, 0]), 4)
    ((2, 4, 4, 3), 1.0)

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of StyleGAN",
        CVPR 2020; Zhang, "Making Convolutional Networks Shift-Invariant
        Again", ICML 2019.
    """

    def __init__(
        self,
        factor: int = 2,
        filter: Sequence[float] = (1, 3, 3, 1),  # NVlabs' name (shadows the builtin)
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.factor = check_int("factor", factor, minimum=1)
        self.filter = check_fir_filter("filter", filter)
        self._fir = separable_taps(fir_filter_1d(self.filter))

    def _check_shape(self, shape: Any) -> None:
        spatial = tuple(shape[1:3])
        if len(shape) != 4 or any(d is not None and d % self.factor for d in spatial):
            raise ValueError(
                "Downsample2D needs a 4-D channels-last input whose height and width are "
                f"divisible by factor={self.factor}; resize or pad the input, or change "
                f"`factor`. Received: input shape {tuple(shape)}"
            )

    def build(self, input_shape: Any) -> None:
        self._check_shape(input_shape)
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        self._check_shape(inputs.shape)
        before, after = downsample_padding(len(self.filter), self.factor)
        return upfirdn2d(
            inputs,
            self._fir,
            down=self.factor,
            padding=(before, after, before, after),
        )

    def compute_output_shape(self, input_shape: Any) -> tuple:
        self._check_shape(input_shape)
        batch, height, width, channels = input_shape
        scale = self.factor
        return (
            batch,
            None if height is None else height // scale,
            None if width is None else width // scale,
            channels,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(factor=self.factor, filter=self.filter)
        return config
