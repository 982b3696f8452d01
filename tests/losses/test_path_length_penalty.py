"""The path-length regularizer against closed forms of linear generators."""

import dataclasses

import keras
import numpy as np
import pytest
from keras import ops

import gan_blocks as gb


def linear_generator(matrices):
    """W+ latents (batch, n, d) -> images (batch, 2, 4, 1): sum_n w_n @ A_n."""
    matrices = np.asarray(matrices, "float32")

    def network(ws):
        pixels = ops.einsum("bnd,ndp->bp", ops.cast(ws, "float32"), matrices)
        return ops.reshape(pixels, (-1, 2, 4, 1))

    return network


def test_path_lengths_equal_the_jacobian_closed_form():
    rng = np.random.default_rng(0)
    matrices = rng.normal(size=(3, 5, 8)).astype("float32")  # num_ws=3, w_dim=5, 8 pixels
    ws = rng.normal(size=(4, 3, 5)).astype("float32")
    noise = rng.normal(size=(4, 2, 4, 1)).astype("float32")
    got = ops.convert_to_numpy(gb.losses.path_lengths(linear_generator(matrices), ws, noise))
    y = noise.reshape(4, 8) / np.sqrt(8.0)  # noise / sqrt(H * W)
    # J_n^T y = A_n y for each style row; squared norms averaged over rows.
    squared = np.stack([np.sum((matrices[n] @ y.T) ** 2, axis=0) for n in range(3)], axis=1)
    np.testing.assert_allclose(got, np.sqrt(squared.mean(axis=1)), rtol=1e-5)


def test_penalty_and_running_mean_equal_the_closed_form():
    rng = np.random.default_rng(1)
    matrices = rng.normal(size=(1, 5, 8)).astype("float32")
    ws = rng.normal(size=(6, 1, 5)).astype("float32")
    noise = rng.normal(size=(3, 2, 4, 1)).astype("float32")  # batch_shrink=2: 3 rows
    state = {"mean": keras.Variable(0.7, trainable=False)}
    penalty = gb.losses.PathLengthPenalty(weight=2.0, decay=0.1, batch_shrink=2, every=1)
    context = gb.losses.RegularizerContext(
        "generator",
        network=linear_generator(matrices),
        latents=ws,
        fake_images=np.zeros((6, 2, 4, 1), "float32"),
        state=state,
        draws=noise,
    )
    got = float(penalty(context))
    y = noise.reshape(3, 8) / np.sqrt(8.0)
    lengths = np.linalg.norm((matrices[0] @ y.T), axis=0)
    mean = 0.7 + 0.1 * (lengths.mean() - 0.7)
    np.testing.assert_allclose(got, 2.0 * np.mean((lengths - mean) ** 2), rtol=1e-5)
    np.testing.assert_allclose(float(ops.convert_to_numpy(state["mean"])), mean, rtol=1e-6)


def test_lazy_schedule_scales_the_penalty_and_keeps_the_mean_in_between():
    matrices = np.eye(5, 8, dtype="float32")[None]
    state = {"mean": keras.Variable(0.0, trainable=False)}
    penalty = gb.losses.PathLengthPenalty(weight=1.0, decay=0.5, batch_shrink=1, every=4)
    context = gb.losses.RegularizerContext(
        "generator",
        network=linear_generator(matrices),
        latents=np.ones((2, 1, 5), "float32"),
        fake_images=np.zeros((2, 2, 4, 1), "float32"),
        state=state,
        draws=np.ones((2, 2, 4, 1), "float32"),
    )
    off = float(penalty(dataclasses.replace(context, step=3)))
    assert off == 0.0 and float(ops.convert_to_numpy(state["mean"])) == 0.0
    on = float(penalty(dataclasses.replace(context, step=4)))
    # Both rows have length ||y[:5]|| = sqrt(5 / 8); the mean moves half-way to it.
    length = np.sqrt(5.0 / 8.0)
    np.testing.assert_allclose(on, 4.0 * (length / 2.0) ** 2, rtol=1e-5)
    np.testing.assert_allclose(float(ops.convert_to_numpy(state["mean"])), length / 2.0, rtol=1e-6)


def test_penalty_needs_latents_and_round_trips_its_config():
    penalty = gb.losses.PathLengthPenalty(weight=3.0, decay=0.02, batch_shrink=4, every=8)
    clone = gb.losses.get_regularizer(keras.saving.serialize_keras_object(penalty))
    assert (clone.weight, clone.decay, clone.batch_shrink, clone.every) == (3.0, 0.02, 4, 8)
    assert gb.losses.get_regularizer("path_length").name == "path_length_penalty"
    with pytest.raises(ValueError, match="generator regularizer"):
        penalty(gb.losses.RegularizerContext("discriminator", network=lambda x: x))
    with pytest.raises(ValueError, match="decay"):
        gb.losses.PathLengthPenalty(decay=1.5)
