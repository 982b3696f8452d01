"""Intra-class FID, classification accuracy of samples, and the memorisation check."""

import numpy as np
import pytest

import gan_blocks as gb


def class_features(seed, shift_class=None, shift=0.0, per_class=300, dim=4):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(4), per_class)
    centres = rng.normal(scale=4.0, size=(4, dim))
    features = rng.normal(size=(len(labels), dim)) + centres[labels]
    if shift_class is not None:
        features[labels == shift_class] += shift
    return features, labels


def test_intra_class_fid_finds_the_shifted_class_that_the_global_fid_misses():
    real, labels = class_features(0)
    rng = np.random.default_rng(1)
    generated = real + rng.normal(scale=0.05, size=real.shape)
    generated[labels == 3] += 2.0  # one class drawn off its mode
    report = gb.metrics.intra_class_fid(real, labels, generated, labels)
    assert report["worst_class"] == 3
    assert report["per_class"][3] == pytest.approx(4 * 2.0**2, rel=0.1)
    assert max(v for c, v in report["per_class"].items() if c != 3) < 0.1
    assert report["intra_class_fid"] == pytest.approx(np.mean(list(report["per_class"].values())))
    # Direct per-class computation (numpy means and covariances, closed form).
    mask_r, mask_g = labels == 3, labels == 3
    direct = gb.metrics.frechet_distance(
        real[mask_r].mean(0),
        np.cov(real[mask_r], rowvar=False),
        generated[mask_g].mean(0),
        np.cov(generated[mask_g], rowvar=False),
    )
    assert report["per_class"][3] == pytest.approx(direct, rel=1e-9)


def test_intra_class_fid_with_an_extractor_and_one_hot_labels():
    real, labels = class_features(2, per_class=50, dim=3)
    images = real.reshape(-1, 3, 1)
    report = gb.metrics.intra_class_fid(
        images, np.eye(4)[labels], images, labels, feature_extractor=lambda x: x[..., 0]
    )
    assert report["intra_class_fid"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match=r"Classes \[3\] appear in only one"):
        gb.metrics.intra_class_fid(real, labels, real[labels < 3], labels[labels < 3])
    with pytest.raises(ValueError, match="Expected 200 generated labels"):
        gb.metrics.intra_class_fid(real, labels, real, labels[:10])


def test_classification_accuracy_counts_samples_of_the_requested_class():
    def nearest_centre(x):  # scores: minus the distance to each class centre
        return -np.abs(x[:, :1] - np.arange(3)[None, :])

    images = np.array([[0.1], [1.2], [1.9], [0.2], [2.2], [0.9]])
    requested = np.array([0, 1, 2, 1, 2, 0])
    report = gb.metrics.classification_accuracy(nearest_centre, images, requested, batch_size=4)
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class"] == {0: 0.5, 1: 0.5, 2: 1.0}


def test_memorization_flags_exact_and_near_copies_only():
    rng = np.random.default_rng(3)
    training = rng.normal(size=(400, 16)).astype("float32")
    fresh = rng.normal(size=(90, 16)).astype("float32")
    copies = training[[5, 17, 300]]
    near_copy = training[[42]] + 1e-3
    generated = np.concatenate([fresh[:45], copies, fresh[45:], near_copy])
    report = gb.metrics.memorization(generated, training, max_block_elements=500)
    assert report["copies"].tolist() == [45, 46, 47, 93]
    assert report["nearest_training_index"][[45, 46, 47, 93]].tolist() == [5, 17, 300, 42]
    np.testing.assert_allclose(report["ratios"][45:48], 0.0, atol=1e-3)
    assert report["fraction_copied"] == pytest.approx(4 / 94)
    assert report["median_ratio"] > 0.8  # fresh samples sit like training points do
    # Ratios against a brute-force numpy computation.
    distances = np.linalg.norm(generated[:, None] - training[None], axis=-1)
    within = np.linalg.norm(training[:, None] - training[None], axis=-1)
    np.fill_diagonal(within, np.inf)
    nearest = distances.argmin(1)
    expected = distances.min(1) / within.min(1)[nearest]
    np.testing.assert_allclose(report["ratios"], expected, rtol=1e-3, atol=1e-3)
