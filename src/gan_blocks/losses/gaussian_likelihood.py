"""`GaussianLikelihood`: pixels as Gaussians around the decoder's means."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.likelihood import Likelihood


@gan_blocks_export(kind="likelihood", name="gaussian")
class GaussianLikelihood(Likelihood):
    """Each pixel is `N(decoder output, variance)`; any real-valued data.

    With a fixed variance the reconstruction term is a scaled squared error
    plus a constant (`variance=1`: the classic "Gaussian VAE"). With
    `variance="learned"` one log-variance per channel is a trainable weight,
    fitted jointly with the networks by the ELBO: the calibrated decoder of
    the sigma-VAE, which balances reconstruction against the KL term without
    tuning a `beta`.

    Args:
        variance: A fixed variance > 0, or `"learned"`.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> likelihood = gb.losses.GaussianLikelihood(variance=1.0)
    >>> x = np.zeros((1, 2), "float32")
    >>> round(float(likelihood.negative_log_likelihood(x, x)[0]), 4)   # log(2 pi)
    1.8379

    Reference:
        Rybkin et al., "Simple and Effective VAE Training with Calibrated
        Decoders", ICML 2021.
    """

    def __init__(self, variance: float | str = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        if variance != "learned":
            if isinstance(variance, (bool, str)) or not float(variance) > 0.0:
                raise ValueError(
                    f'`variance` must be a number > 0 or "learned". Received: variance={variance!r}'
                )
            variance = float(variance)
        self.variance = variance
        self.log_variance = None

    def build(self, input_shape: Any) -> None:
        if self.variance == "learned":
            self.log_variance = self.add_weight(
                shape=(int(input_shape[-1]),), initializer="zeros", name="log_variance"
            )
        self.built = True

    def _log_variance(self, outputs: Any) -> Any:
        if self.variance != "learned":
            return ops.convert_to_tensor(math.log(self.variance), "float32")
        if not self.built:
            self.build(outputs.shape)
        return ops.cast(self.log_variance, "float32")

    def negative_log_likelihood(self, images: Any, outputs: Any) -> Any:
        images, outputs = ops.cast(images, "float32"), ops.cast(outputs, "float32")
        log_variance = self._log_variance(outputs)
        per_pixel = 0.5 * (
            ops.square(images - outputs) * ops.exp(-log_variance)
            + log_variance
            + math.log(2.0 * math.pi)
        )
        return ops.sum(per_pixel, axis=tuple(range(1, len(per_pixel.shape))))

    def mean(self, outputs: Any) -> Any:
        return ops.cast(outputs, "float32")

    def check_data(self, images: np.ndarray) -> None:
        """Any finite floats are valid (NaN and inf are refused by the VAE); integers are not.

        Integer pixels (uint8 0..255) are almost always unscaled images: with a
        unit-scale decoder the squared errors are in the tens of thousands and
        training overflows within a few steps.
        """
        images = np.asarray(images)
        if images.dtype.kind in "iub":
            raise ValueError(
                f"reconstruction='gaussian' got images of integer dtype {images.dtype} "
                f"(values {images.min()}..{images.max()}). Scale them to floats first, e.g. "
                "`images.astype('float32') / 127.5 - 1.0` (or `/ 255.0`)."
            )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(variance=self.variance)
        return config
