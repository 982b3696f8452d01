"""The activations of StyleGAN2's equalized layers (NVlabs' `bias_act`).

Shared by `EqualizedDense`, `EqualizedConv2D` and the modulated convolution:
`None` (or `"linear"`) is the identity, `"leaky_relu"` is NVlabs' `lrelu`,
a leaky ReLU of slope 0.2 times the gain `sqrt(2)` that keeps the second
moment of a standard-normal input near 1.
"""

from __future__ import annotations

import math
from typing import Any

from keras import ops

ACTIVATIONS = (None, "linear", "leaky_relu")
LEAKY_RELU_SLOPE = 0.2
LEAKY_RELU_GAIN = math.sqrt(2.0)


def check_equalized_activation(name: Any) -> str | None:
    """`name` as `None` (linear) or `"leaky_relu"`; any other value raises a `ValueError`.

    Example:
    >>> from gan_blocks.layers.equalized_activation import check_equalized_activation
    >>> check_equalized_activation("linear") is None, check_equalized_activation("leaky_relu")
    (True, 'leaky_relu')
    >>> check_equalized_activation("relu")
    Traceback (most recent call last):
    ...
    ValueError: `activation` must be None, "linear" or "leaky_relu" ... Received: activation='relu'
    """
    if name is None or (isinstance(name, str) and name == "linear"):
        return None
    if isinstance(name, str) and name == "leaky_relu":
        return name
    raise ValueError(
        '`activation` must be None, "linear" or "leaky_relu" (StyleGAN2\'s lrelu with '
        f"gain sqrt(2)). Received: activation={name!r}"
    )


def equalized_activation(x: Any, activation: str | None) -> Any:
    """Applies `activation` (see `check_equalized_activation`) in `x`'s dtype.

    Example:
    >>> import keras, numpy as np
    >>> from gan_blocks.layers.equalized_activation import equalized_activation
    >>> y = equalized_activation(keras.ops.convert_to_tensor([-1.0, 2.0]), "leaky_relu")
    >>> np.round(keras.ops.convert_to_numpy(y) / np.sqrt(2.0), 4).tolist()
    [-0.2, 2.0]
    """
    activation = check_equalized_activation(activation)
    if activation is None:
        return x
    return ops.leaky_relu(x, negative_slope=LEAKY_RELU_SLOPE) * LEAKY_RELU_GAIN
