"""`BernoulliLikelihood`: pixels as probabilities, decoder outputs as logits."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.likelihood import Likelihood


@gan_blocks_export(kind="likelihood", name="bernoulli")
class BernoulliLikelihood(Likelihood):
    """Each pixel in [0, 1] is a Bernoulli probability; the decoder returns logits.

    The negative log-likelihood is the binary cross-entropy summed over the
    pixels, computed from logits (`softplus`) so it is stable where the
    decoder is confident. The mean is `sigmoid(logits)`. The data must lie in
    [0, 1] (continuous intensities are accepted, as in the VAE paper's MNIST
    experiments). It has no weights; its constructor takes the
    `keras.layers.Layer` arguments (`name`, `dtype`).

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> likelihood = gb.losses.BernoulliLikelihood()
    >>> keras.ops.convert_to_numpy(likelihood.mean(np.zeros((1, 2), "float32"))).tolist()
    [[0.5, 0.5]]
    """

    def negative_log_likelihood(self, images: Any, outputs: Any) -> Any:
        images = ops.cast(images, "float32")
        logits = ops.cast(outputs, "float32")
        per_pixel = images * ops.softplus(-logits) + (1.0 - images) * ops.softplus(logits)
        return ops.sum(per_pixel, axis=tuple(range(1, len(per_pixel.shape))))

    def mean(self, outputs: Any) -> Any:
        return ops.sigmoid(ops.cast(outputs, "float32"))

    def check_data(self, images: np.ndarray) -> None:
        images = np.asarray(images)
        if images.dtype.kind in "iub" or images.min() < 0.0 or images.max() > 1.0:
            raise ValueError(
                "reconstruction='bernoulli' models pixel intensities in [0, 1], but the "
                f"images range over [{images.min()}, {images.max()}] (dtype {images.dtype}). "
                "Scale them, e.g. `images.astype('float32') / 255.0`, or use "
                "reconstruction='gaussian'."
            )
