import numpy as np
import pytest

import gan_blocks as gb


def identity(x):
    return x


def numpy_kid(real, generated, subsets, subset_size, seed):
    """Direct implementation of Binkowski et al.'s unbiased estimator."""
    rng = np.random.default_rng(seed)
    d = real.shape[1]
    m = min(subset_size, len(real), len(generated))
    values = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), m, replace=False)].astype("float64")
        y = generated[rng.choice(len(generated), m, replace=False)].astype("float64")
        total = 0.0
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        for i in range(m):
            for j in range(m):
                if i != j:
                    total += (kxx[i, j] + kyy[i, j]) / (m * (m - 1))
                total -= 2 * kxy[i, j] / (m * m)
        values.append(total)
    return np.mean(values), np.std(values)


def test_matches_numpy_reference_with_fixed_subsets():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(120, 5)).astype("float32")
    generated = (1.3 * rng.normal(size=(90, 5)) + 0.3).astype("float32")
    kid = gb.metrics.KernelDistance(identity, subsets=5, subset_size=40, seed=7)
    kid.update_state(real[:50], generated[:20])
    kid.update_state(real[50:], generated[20:])
    mean, std = numpy_kid(real, generated, subsets=5, subset_size=40, seed=7)
    assert kid.result() == pytest.approx(mean, rel=1e-9)
    values = kid.log_values()
    assert values["kid"] == pytest.approx(mean, rel=1e-9)
    assert values["kid_std"] == pytest.approx(std, rel=1e-9)
    # Deterministic: the same seed gives the same subsets on every call.
    assert kid.result() == values["kid"]


def test_subset_size_is_capped_and_recorded():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(30, 3))
    generated = rng.normal(size=(25, 3)) + 2.0
    kid = gb.metrics.KernelDistance(identity, subsets=3, subset_size=1000, seed=0)
    kid.update_state(real, generated)
    mean, _ = numpy_kid(real.astype("float32"), generated.astype("float32"), 3, 1000, 0)
    assert kid.result() == pytest.approx(mean, rel=1e-9)
    protocol = kid.protocol
    assert protocol["subset_size"] == 25 and protocol["subsets"] == 3
    assert protocol["num_real"] == 30 and protocol["num_generated"] == 25


def test_same_distribution_is_near_zero_and_reset_state_works():
    rng = np.random.default_rng(2)
    kid = gb.metrics.KernelDistance(identity, subsets=20, subset_size=200, seed=0)
    kid.update_state(rng.normal(size=(400, 4)), rng.normal(size=(400, 4)))
    same = kid.result()
    kid.reset_state()
    with pytest.raises(ValueError, match="needs at least 2 real"):
        kid.result()
    kid.update_state(rng.normal(size=(400, 4)), rng.normal(size=(400, 4)) + 1.0)
    different = kid.result()
    assert abs(same) < 0.02 < different
    kid.reset_generated_state()
    assert kid.num_real == 400 and kid.num_generated == 0
    kid.update_state(None, rng.normal(size=(400, 4)))
    assert abs(kid.result()) < 0.02


def test_config_round_trip_and_validation():
    kid = gb.metrics.KernelDistance(subsets=10, subset_size=50, seed=3, name="kid_small")
    config = kid.get_config()
    revived = gb.metrics.KernelDistance.from_config(config)
    assert revived.get_config() == config
    assert revived.log_names == ["kid_small", "kid_small_std"]
    with pytest.raises(ValueError, match="subset_size"):
        gb.metrics.KernelDistance(identity, subset_size=1)
    with pytest.raises(ValueError, match="subsets"):
        gb.metrics.KernelDistance(identity, subsets=0)
