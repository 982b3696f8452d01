"""Reference statistics: encode the real set once, save, load, and feed every metric."""

import numpy as np
import pytest

import gan_blocks as gb


def identity(x):
    return x


def images_and_generated(seed=0):
    rng = np.random.default_rng(seed)
    real = rng.uniform(-1, 1, (260, 5)).astype("float32")
    generated = (0.8 * rng.uniform(-1, 1, (200, 5)) + 0.1).astype("float32")
    return real, generated


def test_moments_are_exact_and_the_subsample_is_uniform_and_seeded():
    real, _ = images_and_generated()
    stats = gb.metrics.reference_statistics(real, identity, max_features=100, batch_size=32)
    np.testing.assert_allclose(stats.mean, real.astype("float64").mean(0), atol=1e-12)
    np.testing.assert_allclose(
        stats.covariance, np.cov(real.astype("float64"), rowvar=False), atol=1e-12
    )
    assert stats.count == 260 and stats.features.shape == (100, 5)
    rows = {tuple(row) for row in real}
    assert all(tuple(row) in rows for row in stats.features)
    assert len({tuple(row) for row in stats.features}) == 100
    # Reservoir sampling reaches the whole stream, not only its head.
    positions = [np.flatnonzero((real == row).all(1))[0] for row in stats.features]
    assert max(positions) > 200
    again = gb.metrics.reference_statistics(real, identity, max_features=100, batch_size=64)
    np.testing.assert_array_equal(
        stats.features, gb.metrics.reference_statistics(real, identity, 100, batch_size=32).features
    )
    assert again.count == stats.count


def test_a_dataset_of_image_label_batches_gives_the_same_moments():
    real, _ = images_and_generated()
    batches = [(real[i : i + 50], np.zeros(len(real[i : i + 50]))) for i in range(0, 260, 50)]
    from_batches = gb.metrics.reference_statistics(iter(batches), identity)
    from_array = gb.metrics.reference_statistics(real, identity)
    np.testing.assert_allclose(from_batches.covariance, from_array.covariance, atol=1e-12)
    np.testing.assert_array_equal(from_batches.features, real)


def test_saved_statistics_reproduce_every_metric(tmp_path):
    real, generated = images_and_generated()
    stats = gb.metrics.reference_statistics(real, identity)
    path = tmp_path / "real.npz"
    stats.save(path)
    loaded = gb.metrics.ReferenceStatistics.load(path)
    assert loaded.feature_extractor == "identity" and loaded.count == 260
    metrics = {
        "fid": lambda: gb.metrics.FrechetDistance(identity),
        "kid": lambda: gb.metrics.KernelDistance(identity, subsets=3, subset_size=50),
        "pr": lambda: gb.metrics.PrecisionRecall(identity),
        "dc": lambda: gb.metrics.DensityCoverage(identity),
    }
    for name, make in metrics.items():
        direct, referenced = make(), make()
        direct.update_state(real, generated)
        referenced.update_reference(loaded)
        referenced.update_state(generated_images=generated)
        assert referenced.log_values() == pytest.approx(direct.log_values(), abs=1e-9), name


def test_fid_uses_exact_moments_when_only_a_subsample_is_kept():
    real, generated = images_and_generated()
    stats = gb.metrics.reference_statistics(real, identity, max_features=0)
    assert stats.features is None
    direct = gb.metrics.FrechetDistance(identity)
    direct.update_state(real, generated)
    referenced = gb.metrics.FrechetDistance(identity)
    referenced.update_reference(stats)
    referenced.update_state(generated_images=generated)
    assert referenced.result() == pytest.approx(direct.result(), abs=1e-10)
    with pytest.raises(ValueError, match="keep only the mean and covariance"):
        gb.metrics.PrecisionRecall(identity).update_reference(stats)


def test_a_different_extractor_or_file_is_refused(tmp_path):
    real, _ = images_and_generated()
    stats = gb.metrics.reference_statistics(real, identity)

    def other(x):
        return x

    with pytest.raises(ValueError, match="computed with the feature extractor 'identity'"):
        gb.metrics.FrechetDistance(other).update_reference(stats)
    gb.metrics.FrechetDistance(other).update_reference(stats, check_extractor=False)
    with pytest.raises(ValueError, match="hold 5-d features"):
        metric = gb.metrics.FrechetDistance(other)
        metric.update_state(generated_images=np.zeros((3, 2)))
        metric.update_reference(stats, check_extractor=False)
    np.savez(tmp_path / "images.npz", images=real)
    with pytest.raises(ValueError, match="is not a gan-blocks reference statistics file"):
        gb.metrics.ReferenceStatistics.load(tmp_path / "images.npz")
    with pytest.raises(ValueError, match="saved as `.npz`"):
        stats.save(tmp_path / "real.stats")
    with pytest.raises(TypeError, match="takes gb.metrics.ReferenceStatistics"):
        gb.metrics.FrechetDistance(identity).update_reference({"mean": 0})
