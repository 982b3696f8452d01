"""`ToRGB`: StyleGAN2's modulated 1x1 projection of features to image channels."""

from __future__ import annotations

from typing import Any

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.modulated_conv2d import ModulatedConv2D
from gan_blocks.validation import check_int

_FIXED = ("filters", "kernel_size", "demodulate", "upsample", "use_bias", "activation")


@gan_blocks_export()
class ToRGB(ModulatedConv2D):
    """A `ModulatedConv2D` with a 1x1 kernel, no demodulation, a bias and a linear output.

    As NVlabs' `ToRGBLayer`: the style modulates the 1x1 kernel (scaled by
    `1 / sqrt(in_channels)`), the output is not demodulated, so its scale
    follows the style, and a bias (zeros at first) is added. Its outputs are
    summed over resolutions in StyleGAN2's skip generator.

    Args:
        channels: Output (image) channels.
        **kwargs: `fused_modconv` and `resample_filter` (see
            `ModulatedConv2D`) and `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A list `[x, w]`: `x` of shape `(batch, height, width,
            features)` and the latent `w` of shape `(batch, w_dim)`.

    Returns:
        A tensor of shape `(batch, height, width, channels)`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> x, w = np.ones((2, 8, 8, 16), "float32"), np.ones((2, 32), "float32")
    >>> tuple(gb.layers.ToRGB()([x, w]).shape)
    (2, 8, 8, 3)

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020.
    """

    def __init__(self, channels: int = 3, **kwargs: Any):
        fixed = sorted(key for key in _FIXED if key in kwargs)
        if fixed:
            raise ValueError(
                f"ToRGB fixes {', '.join(fixed)} (a 1x1, non-demodulated, biased, linear "
                "modulated convolution); use ModulatedConv2D for other settings. "
                f"Received: {', '.join(f'{k}={kwargs[k]!r}' for k in fixed)}"
            )
        channels = check_int("channels", channels, minimum=1)
        super().__init__(
            channels,
            kernel_size=1,
            demodulate=False,
            upsample=False,
            use_bias=True,
            activation=None,
            **kwargs,
        )
        self.channels = channels

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in _FIXED:
            config.pop(key)
        config["channels"] = self.channels
        return config
