"""TensorFlow plumbing: one `GradientTape` per player."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf


def _minimize(loss_fn: Callable[[], tuple], variables: list, optimizer: Any) -> tuple:
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
        scaled_loss = optimizer.scale_loss(loss)
    gradients = tape.gradient(scaled_loss, variables)
    optimizer.apply(gradients, variables)
    return loss, aux


def train_step(model: Any, data: Any) -> dict:
    """`Model.train_step` for TensorFlow: runs inside Keras' `tf.function`."""
    return model.optimization_step(data, _minimize)


def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """Nested-tape input gradient, differentiable by an enclosing tape."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(tf.cast(fn(x), tf.float32))
    return tape.gradient(total, x)


def test_step(model: Any, data: Any) -> dict:
    """`Model.test_step` for TensorFlow."""
    return model.evaluation_step(data)
