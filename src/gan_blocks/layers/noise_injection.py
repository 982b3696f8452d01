"""`NoiseInjection`: StyleGAN's per-pixel noise with a learned per-channel strength."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import random

NOISE_MODES = ("random", "const", "none")


def _check_noise_mode(noise_mode: Any) -> str:
    if not isinstance(noise_mode, str) or noise_mode not in NOISE_MODES:
        raise ValueError(
            '`noise_mode` must be "random" (fresh noise each call), "const" (a fixed '
            'noise image, for deterministic output) or "none". '
            f"Received: noise_mode={noise_mode!r}"
        )
    return noise_mode


@gan_blocks_export()
class NoiseInjection(keras.layers.Layer):
    """Adds `strength * noise`: one noise image per sample, scaled per channel.

    As the noise inputs of StyleGAN's synthesis layers: a single-channel
    standard-normal image of the input's height and width is broadcast over
    the channels and scaled by a learned per-channel `strength` (zeros at
    first, so a new layer is the identity). The generator learns how much
    stochastic detail (hair, pores, freckles) each feature map receives.

    `noise_mode` may be changed after construction (e.g. `layer.noise_mode =
    "const"` before exporting a deterministic generator); a compiled
    function traced before the change keeps the old mode until it is traced
    again.

    Args:
        noise_mode: `"random"`: fresh noise at every call, drawn from the
            layer's seed generator; `"const"`: the non-trainable buffer
            `const_noise` of shape `(height, width, 1)`, the same for every
            sample and call; `"none"`: no noise (the input is returned).
        seed: Seed of the random noise and of `const_noise`
            (`np.random.default_rng(seed or 0)`).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A channels-last tensor `(batch, height, width, channels)` with
            static height and width.

    Returns:
        A tensor of the input's shape.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> layer = gb.layers.NoiseInjection(seed=0)
    >>> x = np.ones((2, 4, 4, 3), "float32")
    >>> bool(np.all(keras.ops.convert_to_numpy(layer(x)) == x))  # strength starts at zero
    True
    >>> tuple(layer.strength.shape), tuple(layer.const_noise.shape)
    ((3,), (4, 4, 1))

    Reference:
        Karras et al., "A Style-Based Generator Architecture for Generative
        Adversarial Networks", CVPR 2019; "Analyzing and Improving the Image
        Quality of StyleGAN", CVPR 2020.
    """

    def __init__(self, noise_mode: str = "random", seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.noise_mode = noise_mode
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.strength = None
        self.const_noise = None

    @property
    def noise_mode(self) -> str:
        """`"random"`, `"const"` or `"none"`; may be set after construction."""
        return self._noise_mode

    @noise_mode.setter
    def noise_mode(self, value: str) -> None:
        self._noise_mode = _check_noise_mode(value)

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        if len(shape) != 4 or None in shape[1:]:
            raise ValueError(
                "NoiseInjection expects a channels-last input (batch, height, width, "
                "channels) with static height, width and channels (its `const_noise` "
                "has the input's height and width). Received an input of shape "
                f"{shape}; give the model's Input a full image shape."
            )
        height, width, channels = shape[1:]
        self.strength = self.add_weight(shape=(channels,), initializer="zeros", name="strength")
        noise = np.random.default_rng(0 if self.seed is None else self.seed).standard_normal(
            (height, width, 1)
        )

        def const_initializer(shape: Any, dtype: Any = None) -> Any:
            return ops.convert_to_tensor(noise.reshape(shape), dtype=dtype)

        self.const_noise = self.add_weight(
            shape=(height, width, 1),
            initializer=const_initializer,
            trainable=False,
            name="const_noise",
        )
        self.built = True

    def call(self, inputs: Any) -> Any:
        if self.noise_mode == "none":
            return inputs
        if self.noise_mode == "const":
            noise = ops.expand_dims(ops.cast(self.const_noise, inputs.dtype), 0)
        else:
            height, width = inputs.shape[1], inputs.shape[2]
            noise = random.normal((ops.shape(inputs)[0], height, width, 1), self.seed_generator)
            noise = ops.cast(noise, inputs.dtype)
        return inputs + noise * ops.cast(self.strength, inputs.dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(noise_mode=self.noise_mode, seed=self.seed)
        return config
