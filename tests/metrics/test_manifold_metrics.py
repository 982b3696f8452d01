"""Precision/recall and density/coverage against `prdc`'s reference implementation."""

import keras
import numpy as np
import prdc
import pytest

import gan_blocks as gb
from gan_blocks.metrics import nearest_neighbors


def identity(x):
    return x


def feature_sets(seed=0, num_real=240, num_generated=200, dim=12):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(num_real, dim)).astype("float32")
    generated = (1.3 * rng.normal(size=(num_generated, dim)) + 0.25).astype("float32")
    return real, generated


def prdc_reference(real, generated, k):
    return {key: float(value) for key, value in prdc.compute_prdc(real, generated, k).items()}


@pytest.mark.parametrize("k", [3, 5])
def test_values_match_prdc_when_fed_in_batches(k):
    real, generated = feature_sets()
    expected = prdc_reference(real, generated, k)
    precision_recall = gb.metrics.PrecisionRecall(identity, k=k)
    density_coverage = gb.metrics.DensityCoverage(identity, k=k)
    for metric in (precision_recall, density_coverage):
        metric.update_state(real[:100], generated[:70])
        metric.update_state(real[100:], None)
        metric.update_state(None, generated[70:])
    got = {**precision_recall.result(), **density_coverage.result()}
    for key in ("precision", "recall", "density", "coverage"):
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-12, err_msg=key)


def test_small_blocks_and_a_large_offset_give_the_same_values():
    # Blocks of 7 distances force many row blocks; an offset of 1000 would
    # cost the float32 distance expansion its precision without centring.
    real, generated = feature_sets(seed=1, num_real=90, num_generated=80, dim=6)
    expected = prdc_reference(real, generated, 3)
    metric = gb.metrics.PrecisionRecall(identity, k=3, max_block_elements=7)
    metric.update_features(real + 1000.0, generated + 1000.0)
    assert metric.result() == pytest.approx(
        {"precision": expected["precision"], "recall": expected["recall"]}, abs=1.5 / 80
    )
    blocked = gb.metrics.DensityCoverage(identity, k=3, max_block_elements=7)
    blocked.update_features(real, generated)
    whole = gb.metrics.DensityCoverage(identity, k=3)
    whole.update_features(real, generated)
    assert blocked.result() == whole.result()


def test_row_blocks_stay_within_the_memory_bound():
    blocks = list(nearest_neighbors._row_blocks(50_000, 50_000, 2**24))
    assert blocks[0] == (0, 335) and blocks[-1][1] == 50_000
    assert all((stop - start) * 50_000 <= 2**24 for start, stop in blocks)


def test_collapse_keeps_precision_and_loses_recall_and_coverage():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(400, 2))
    collapsed = rng.normal(scale=0.05, size=(400, 2)) + real[0]
    precision_recall = gb.metrics.PrecisionRecall(identity)
    density_coverage = gb.metrics.DensityCoverage(identity)
    for metric in (precision_recall, density_coverage):
        metric.update_state(real, collapsed)
    assert precision_recall.result()["precision"] > 0.9
    assert precision_recall.result()["recall"] < 0.1
    assert density_coverage.result()["coverage"] < 0.1
    # Same distribution: both near their ideal values.
    same = gb.metrics.DensityCoverage(identity)
    same.update_state(real, rng.normal(size=(400, 2)))
    assert 0.8 < same.result()["density"] < 1.2 and same.result()["coverage"] > 0.9


def test_log_keys_follow_the_name_and_the_callback_knows_the_metrics():
    real, generated = feature_sets(num_real=30, num_generated=30, dim=3)
    default = gb.metrics.PrecisionRecall(identity)
    named = gb.metrics.DensityCoverage(identity, name="ema")
    for metric in (default, named):
        metric.update_features(real, generated)
    assert list(default.log_values()) == ["precision", "recall"] == default.log_names
    assert list(named.log_values()) == ["ema_density", "ema_coverage"] == named.log_names
    callback = gb.callbacks.GenerativeMetrics(
        real, [gb.metrics.PrecisionRecall(identity), gb.metrics.DensityCoverage(identity)]
    )
    assert callback.log_names == ["precision", "recall", "density", "coverage"]


def test_config_round_trip_and_bad_arguments():
    metric = gb.metrics.DensityCoverage(k=4, max_block_elements=1000, batch_size=8)
    clone = gb.metrics.DensityCoverage.from_config(metric.get_config())
    assert (clone.k, clone.max_block_elements, clone.batch_size) == (4, 1000, 8)
    with pytest.raises(ValueError, match="`k` must be an int >= 1. Received: k=0"):
        gb.metrics.PrecisionRecall(identity, k=0)
    with pytest.raises(ValueError, match="max_block_elements"):
        gb.metrics.PrecisionRecall(identity, max_block_elements=0)
    metric = gb.metrics.PrecisionRecall(identity, k=3)
    metric.update_features(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="at least 4 real and 4 generated"):
        metric.result()


def test_a_keras_extractor_feeds_the_metrics():
    extractor = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(5, kernel_initializer=keras.initializers.GlorotUniform(seed=0)),
        ]
    )
    rng = np.random.default_rng(3)
    real = rng.uniform(-1, 1, (40, 4, 4, 1)).astype("float32")
    generated = rng.uniform(-1, 1, (40, 4, 4, 1)).astype("float32")
    metric = gb.metrics.PrecisionRecall(extractor, batch_size=16)
    metric.update_state(real, generated)
    features = [np.asarray(extractor.predict_on_batch(x)) for x in (real, generated)]
    expected = prdc_reference(*features, 3)
    assert metric.result() == pytest.approx(
        {"precision": expected["precision"], "recall": expected["recall"]}, abs=1.5 / 40
    )
