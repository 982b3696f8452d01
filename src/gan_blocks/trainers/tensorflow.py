"""TensorFlow plumbing: one `GradientTape` per player.

Under a `tf.distribute` strategy (`MirroredStrategy`, `MultiWorkerMirroredStrategy`,
`TPUStrategy`) `train_step` runs once per replica on that replica's share of the
global batch, and Keras optimizers sum the replicas' gradients. Each replica
therefore differentiates its loss divided by the number of replicas (as Keras'
own `compile(loss=...)` does), so the update equals the one-device update on the
global batch; the losses logged are unscaled, and the metric trackers average
them over the replicas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf


def _minimize(loss_fn: Callable[[], tuple], variables: list, optimizer: Any) -> tuple:
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
        scaled_loss = optimizer.scale_loss(loss)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            scaled_loss = scaled_loss * tf.cast(1.0 / replicas, scaled_loss.dtype)
    gradients = tape.gradient(scaled_loss, variables)
    optimizer.apply(gradients, variables)
    return loss, aux


def train_step(model: Any, data: Any) -> dict:
    """`Model.train_step` for TensorFlow: runs inside Keras' `tf.function`."""
    return model.optimization_step(data, _minimize)


def replica_share(sample_fn: Callable[[Any], Any], batch_size: Any) -> Any:
    """This replica's share of `sample_fn(global_batch_size)`.

    Under a `tf.distribute` strategy every replica runs the step with the same
    seed-generator state, so `keras.random` draws the same values on every
    replica: latents drawn per replica would repeat across replicas. Drawing the
    global batch and slicing out this replica's share gives each replica its own
    latents, the ones a single device draws for the global batch. Without a
    strategy (or with one replica) this is `sample_fn(batch_size)`.

    Args:
        sample_fn: Maps a batch size to a batch of samples (e.g. latents).
        batch_size: This replica's batch size.

    Returns:
        `batch_size` samples.
    """
    context = tf.distribute.get_replica_context()
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if context is None or replicas == 1:
        return sample_fn(batch_size)
    samples = sample_fn(batch_size * replicas)
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * tf.cast(batch_size, tf.int32)
    return samples[start : start + batch_size]


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


def runs_on_accelerator() -> bool:
    """Whether TensorFlow sees a GPU or TPU."""
    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
