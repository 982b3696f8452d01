"""`MinibatchStdDev`: appends the minibatch standard deviation as a feature map."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.validation import check_int


@gan_blocks_export()
class MinibatchStdDev(keras.layers.Layer):
    """Adds one channel holding the average per-group feature std (ProGAN).

    The batch is split into groups of `group_size` (sample `i` joins group
    `i % (batch // group_size)`); within each group the standard deviation of
    every feature is averaged into one number, broadcast as an extra channel to
    the group's samples. A discriminator can then detect low sample diversity,
    which discourages mode collapse.

    Args:
        group_size: Samples per group; the batch size must be divisible by it
            (or smaller, in which case the whole batch is one group).
        epsilon: Added to the variance before the square root.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: A 4-D channels-last tensor.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> tuple(gb.layers.MinibatchStdDev(group_size=2)(np.ones((4, 3, 3, 5), "float32")).shape)
    (4, 3, 3, 6)

    Reference:
        Karras et al., "Progressive Growing of GANs for Improved Quality,
        Stability, and Variation", ICLR 2018.
    """

    def __init__(self, group_size: int = 4, epsilon: float = 1e-8, **kwargs: Any):
        super().__init__(**kwargs)
        group_size = check_int("group_size", group_size, minimum=1)
        self.group_size = group_size
        self.epsilon = epsilon

    def call(self, inputs: Any) -> Any:
        batch = inputs.shape[0]
        if batch is None:
            # A graph traced for any batch size (TensorFlow): a last batch
            # smaller than the group is one group, as with a static size.
            group = ops.minimum(self.group_size, ops.shape(inputs)[0])
        else:
            group = min(self.group_size, batch)
        if batch is not None and batch % group:
            raise ValueError(
                f"MinibatchStdDev needs a batch size divisible by group_size={group}. "
                f"Received a batch of {batch}."
            )
        shape = ops.shape(inputs)
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        x = ops.cast(inputs, "float32")
        grouped = ops.reshape(x, (group, -1, height, width, channels))
        variance = ops.mean(ops.square(grouped - ops.mean(grouped, axis=0)), axis=0)
        std = ops.mean(ops.sqrt(variance + self.epsilon), axis=(1, 2, 3))  # (batch / group,)
        feature = ops.tile(ops.reshape(std, (-1, 1, 1, 1)), (group, height, width, 1))
        feature = ops.cast(ops.reshape(feature, (shape[0], height, width, 1)), inputs.dtype)
        return ops.concatenate([inputs, feature], axis=-1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        channels = input_shape[-1]
        return tuple(input_shape[:-1]) + (None if channels is None else channels + 1,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(group_size=self.group_size, epsilon=self.epsilon)
        return config
