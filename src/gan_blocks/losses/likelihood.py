"""`Likelihood`: the distribution a VAE's decoder puts over each pixel."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from gan_blocks.api_export import gan_blocks_export


@gan_blocks_export()
class Likelihood(keras.layers.Layer):
    """Base of the VAE reconstruction terms: `p(x | decoder outputs)`.

    A likelihood is a layer (so a learned variance is a weight the VAE trains
    and saves). Subclasses define `negative_log_likelihood` and `mean`, and
    may refuse data outside their support in `check_data`. Calling the layer
    returns `mean(outputs)`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> likelihood = gb.losses.BernoulliLikelihood()
    >>> outputs = np.zeros((1, 2, 2, 1), "float32")     # logits 0: p = 0.5
    >>> float(likelihood.negative_log_likelihood(np.ones_like(outputs), outputs)[0])
    2.7725887298583984
    """

    def negative_log_likelihood(self, images: Any, outputs: Any) -> Any:
        """`-log p(images | outputs)` of each example, summed over its pixels.

        Args:
            images: Data, `(batch, ...)`.
            outputs: Decoder outputs of the same shape.

        Returns:
            A float32 tensor of shape `(batch,)`, in nats.
        """
        raise NotImplementedError

    def mean(self, outputs: Any) -> Any:
        """The mean image of the distribution the decoder outputs define."""
        raise NotImplementedError

    def check_data(self, images: np.ndarray) -> None:
        """Raises `ValueError` for data this likelihood cannot model."""

    def call(self, outputs: Any) -> Any:
        return self.mean(outputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape
