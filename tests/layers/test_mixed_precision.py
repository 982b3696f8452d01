"""Every layer runs under the mixed_bfloat16 and mixed_float16 dtype policies."""

import keras
import numpy as np
import pytest

import gan_blocks as gb

RNG = np.random.default_rng(0)
IMAGE = RNG.normal(size=(4, 16, 16, 4)).astype("float32")
LABELS = np.array([0, 2, 1, 2])

CASES = [
    (gb.layers.SpectralConv2D, {"filters": 4, "kernel_size": 3}, IMAGE),
    (gb.layers.SpectralConv2DTranspose, {"filters": 4, "kernel_size": 4, "strides": 2}, IMAGE),
    (gb.layers.SpectralDense, {"units": 3}, IMAGE[:, 0, 0]),
    (gb.layers.PatchGANHead, {"filters": 4, "num_layers": 1}, IMAGE),
    (gb.layers.UNetDownBlock, {"filters": 4}, IMAGE),
    (gb.layers.UNetUpBlock, {"filters": 4, "dropout": 0.5}, [IMAGE[:, :8, :8], IMAGE]),
    (gb.layers.DCGANUpBlock, {"filters": 4}, IMAGE),
    (gb.layers.DCGANDownBlock, {"filters": 4, "dropout": 0.2}, IMAGE),
    (gb.layers.ReparameterizedSampling, {"seed": 0}, [IMAGE[:, 0, 0], IMAGE[:, 0, 1]]),
    (gb.layers.MinibatchStdDev, {"group_size": 2}, IMAGE),
    (gb.layers.SelfAttention2D, {"reduction": 2}, IMAGE),
    (gb.layers.DiffAugment, {"seed": 0}, IMAGE),
    (gb.layers.AdaptiveAugment, {"initial_probability": 0.5, "seed": 0}, IMAGE[..., :3]),
    (gb.layers.ResidualUpBlock, {"filters": 3}, IMAGE),
    (gb.layers.ResidualUpBlock, {"filters": 4, "conditional_classes": 3}, [IMAGE, LABELS]),
    (gb.layers.ResidualDownBlock, {"filters": 3}, IMAGE),
    (gb.layers.ConditionalBatchNormalization, {"num_classes": 3}, [IMAGE, LABELS]),
    (gb.layers.ProjectionDiscriminatorOutput, {"num_classes": 3}, [IMAGE[:, 0, 0], LABELS]),
]


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("cls, kwargs, data", CASES, ids=[c[0].__name__ for c in CASES])
def test_layer_runs_in_mixed_precision(cls, kwargs, data, policy):
    layer = cls(**kwargs, dtype=policy)
    for training in (True, False):
        output = (
            layer(data, training=training)
            if cls
            not in (
                gb.layers.ReparameterizedSampling,
                gb.layers.MinibatchStdDev,
                gb.layers.SelfAttention2D,
            )
            else layer(data)
        )
        compute = policy.split("_")[1]
        assert keras.backend.standardize_dtype(output.dtype) == compute
        values = keras.ops.convert_to_numpy(keras.ops.cast(output, "float32"))
        assert np.all(np.isfinite(values))
    # Variables stay float32 (the policy's variable dtype).
    assert all(
        keras.backend.standardize_dtype(w.dtype) in ("float32", "int64", "uint32", "int32")
        for w in layer.weights
    )
