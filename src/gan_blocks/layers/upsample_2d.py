"""`Upsample2D`: StyleGAN2's FIR-filtered up-sampling (NVlabs `upfirdn2d.upsample2d`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.fir_filter import (
    check_fir_filter,
    fir_filter_1d,
    separable_taps,
    upfirdn2d,
    upsample_padding,
)
from gan_blocks.validation import check_int


@gan_blocks_export()
class Upsample2D(keras.layers.Layer):
    """Up-samples by an integer factor with zero insertion and a FIR low-pass filter.

    Zeros are inserted between pixels, then every channel is convolved with the
    normalised separable filter `outer(filter, filter) / sum` scaled by
    `factor ** 2` (which keeps the mean of the map), padded so that the output
    is exactly `factor` times larger: NVlabs' `upfirdn2d.upsample2d`. With the
    default `(1, 3, 3, 1)` filter this is a bilinear up-sampling that is free
    of the aliasing of nearest-neighbour up-sampling. No trainable weights.

    Args:
        factor: Integer up-sampling factor (>= 1).
        filter: 1-D FIR taps; the 2-D filter is their outer product, normalised
            to sum 1.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A `(batch, height, width, channels)` tensor.

    Returns:
        A `(batch, height * factor, width * factor, channels)` tensor.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> y = gb.layers.Upsample2D()(np.ones((1, 4, 4, 3), "float32"))
    >>> tuple(y.shape), round(float(np.asarray(y)[0, 3, 4, 0]), 4)
    ((1, 8, 8, 3), 1.0)

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

    def call(self, inputs: Any) -> Any:
        before, after = upsample_padding(len(self.filter), self.factor)
        return upfirdn2d(
            inputs,
            self._fir,
            up=self.factor,
            padding=(before, after, before, after),
            gain=self.factor**2,
        )

    def compute_output_shape(self, input_shape: Any) -> tuple:
        batch, height, width, channels = input_shape
        scale = self.factor
        return (
            batch,
            None if height is None else height * scale,
            None if width is None else width * scale,
            channels,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(factor=self.factor, filter=self.filter)
        return config
