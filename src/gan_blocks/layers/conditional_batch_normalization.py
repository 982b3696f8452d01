"""`ConditionalBatchNormalization`: batch norm with a gain and bias per class."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.paired_inputs import check_pair
from gan_blocks.validation import check_int


@gan_blocks_export()
class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalization whose scale and offset are looked up by class.

    The input is normalized by a `keras.layers.BatchNormalization` without
    affine parameters (batch statistics in training, moving averages in
    inference); then row `y` of a `(num_classes, channels)` gain table
    (initialized to ones) and bias table (zeros) scales and shifts the
    channels of each example of class `y`. This is how BigGAN and the
    conditional SN-GAN generator take their class: a generator built with it
    starts out as an unconditional one and learns a per-class style.

    Args:
        num_classes: Number of classes; labels must lie in `[0, num_classes)`.
        momentum: Momentum of the moving statistics.
        epsilon: Added to the variance.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[x, labels]`: `x` of shape `(batch, ..., channels)` and integer
            class ids of shape `(batch,)` or `(batch, 1)`.
        training: Batch statistics (`True`) or moving averages (`False`).

    Returns:
        A tensor of the shape of `x`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> layer = gb.layers.ConditionalBatchNormalization(10)
    >>> x = np.random.rand(4, 8, 8, 16).astype("float32")
    >>> tuple(layer([x, np.array([0, 3, 3, 9])], training=True).shape)
    (4, 8, 8, 16)

    Reference:
        de Vries et al., "Modulating early visual processing by language",
        NeurIPS 2017; Brock et al., "Large Scale GAN Training for High
        Fidelity Natural Image Synthesis" (BigGAN), ICLR 2019.
    """

    def __init__(
        self, num_classes: int, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs: Any
    ):
        super().__init__(**kwargs)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        self.num_classes = num_classes
        self.momentum = momentum
        self.epsilon = epsilon
        self.norm = keras.layers.BatchNormalization(
            momentum=momentum,
            epsilon=epsilon,
            center=False,
            scale=False,
            dtype=self.dtype_policy,
            name="batch_norm",
        )

    def build(self, input_shape: Any) -> None:
        check_pair(input_shape, "ConditionalBatchNormalization")
        x_shape = tuple(input_shape[0])
        channels = x_shape[-1]
        if channels is None:
            raise ValueError(f"The channel axis of x must be known. Received: {x_shape}")
        self.norm.build(x_shape)
        self.gamma = self.add_weight(
            shape=(self.num_classes, channels), initializer="ones", name="gamma"
        )
        self.beta = self.add_weight(
            shape=(self.num_classes, channels), initializer="zeros", name="beta"
        )
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        x, labels = inputs
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        normalized = self.norm(x, training=training)
        # (batch, channels) rows, broadcast over every axis between.
        broadcast = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
        gamma = ops.reshape(ops.take(self.gamma, labels, axis=0), broadcast)
        beta = ops.reshape(ops.take(self.beta, labels, axis=0), broadcast)
        return normalized * ops.cast(gamma, normalized.dtype) + ops.cast(beta, normalized.dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(num_classes=self.num_classes, momentum=self.momentum, epsilon=self.epsilon)
        return config
