"""`ReparameterizedSampling`: the VAE reparameterization trick."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import random


@gan_blocks_export()
class ReparameterizedSampling(keras.layers.Layer):
    """Samples `z = z_mean + exp(0.5 * z_log_var) * eps` with `eps ~ N(0, I)`.

    Sampling this way keeps `z` differentiable with respect to the encoder's
    outputs. Noise comes from `gb.backend.random.normal` with the layer's
    `SeedGenerator`, so a seeded layer is reproducible on every backend.

    Args:
        seed: Seed of the noise.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[z_mean, z_log_var]`, two tensors of the same shape.

    Returns:
        A tensor shaped like `z_mean`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> sample = gb.layers.ReparameterizedSampling(seed=0)
    >>> z = sample([np.zeros((4, 2), "float32"), np.zeros((4, 2), "float32")])
    >>> tuple(z.shape)
    (4, 2)

    Reference:
        Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any) -> Any:
        z_mean, z_log_var = inputs
        if tuple(z_mean.shape) != tuple(z_log_var.shape):
            raise ValueError(
                "z_mean and z_log_var must have the same shape. Received: "
                f"{tuple(z_mean.shape)} and {tuple(z_log_var.shape)}"
            )
        epsilon = random.normal(ops.shape(z_mean), self.seed_generator, dtype=z_mean.dtype)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(seed=self.seed)
        return config
