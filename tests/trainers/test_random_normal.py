"""`get_trainer().random_normal`: the latent draws of every backend."""

import keras
import numpy as np
import pytest
from scipy import stats

from gan_blocks.trainers import get_trainer


def draw(shape, seed_generator):
    return keras.ops.convert_to_numpy(get_trainer().random_normal(shape, seed_generator))


def test_draws_are_standard_normal_and_advance_the_seed_state_like_keras():
    seed_generator = keras.random.SeedGenerator(7)
    start = keras.ops.convert_to_numpy(seed_generator.state)
    values = draw((512, 64), seed_generator)
    after_one = keras.ops.convert_to_numpy(seed_generator.state)
    following = draw((512, 64), seed_generator)
    assert values.shape == (512, 64) and values.dtype == np.float32
    # One counter step per draw, as keras.random.normal: the state alone fixes
    # what a resumed run draws next.
    np.testing.assert_array_equal(after_one, start + np.array([0, 1]))
    assert stats.kstest(values.ravel(), "norm").pvalue > 1e-3
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1) < 0.02
    # Consecutive draws are independent, not shifted copies.
    assert abs(np.corrcoef(values.ravel(), following.ravel())[0, 1]) < 0.02

    replay = keras.random.SeedGenerator(7)
    np.testing.assert_array_equal(draw((512, 64), replay), values)


def numpy_hash32(x):
    x = x.astype(np.uint64) & 0xFFFFFFFF
    for shift, multiplier in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        x ^= x >> np.uint64(shift)
        x = (x * np.uint64(multiplier)) & 0xFFFFFFFF
    return x ^ (x >> np.uint64(16))


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch's counter-based draws")
@pytest.mark.inductor  # the integer hashing, as inductor generates it
def test_torch_draws_match_a_numpy_reimplementation_eagerly_and_compiled():
    import torch
    from scipy.special import erfinv

    seed_generator = keras.random.SeedGenerator(123)
    state = keras.ops.convert_to_numpy(seed_generator.state).astype(np.uint64) & 0xFFFFFFFF
    key = numpy_hash32(numpy_hash32(state[0]) ^ state[1])
    second_key = numpy_hash32(key ^ np.uint64(0x9E3779B9))
    index = np.arange(3 * 5, dtype=np.uint64)
    bits = numpy_hash32(numpy_hash32((index + key) & 0xFFFFFFFF) ^ second_key)
    uniform = ((bits >> np.uint64(9)).astype(np.float64) + 0.5) * 2.0**-23
    expected = (np.sqrt(2) * erfinv(2 * uniform - 1)).reshape(3, 5)

    np.testing.assert_allclose(draw((3, 5), seed_generator), expected, rtol=1e-5, atol=1e-5)
    # Inside torch.compile (no graph break: Keras' own torch draws stop the
    # graph) the same state gives the same values.
    replay = keras.random.SeedGenerator(123)
    compiled = torch.compile(lambda: get_trainer().random_normal((3, 5), replay), fullgraph=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(compiled()), expected, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(replay.state), keras.ops.convert_to_numpy(seed_generator.state)
    )


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch's counter-based draws")
def test_torch_uniforms_stay_inside_0_1_at_the_extreme_hash_values():
    # With 24 bits the largest hash rounded to u = 1.0 in float32 and
    # erfinv(2u - 1) gave an infinite latent: a DCGAN's losses became NaN
    # after 186 steps at batch 64.
    import torch

    from gan_blocks.trainers.torch import _bits_to_uniform

    bits = torch.tensor([0, 0xFFFFFFFF, 0xFFFFFE00, 0x7FFFFFFF], dtype=torch.int64)
    uniform = _bits_to_uniform(bits)
    assert uniform.dtype == torch.float32
    assert float(uniform.min()) > 0.0 and float(uniform.max()) < 1.0
    normal = torch.erfinv(2.0 * uniform - 1.0) * 2.0**0.5
    assert bool(torch.isfinite(normal).all())
    np.testing.assert_allclose(float(normal.max()), 5.3, atol=0.1)  # 1 - 2**-24 in the tail
