import keras
import numpy as np
import pytest

import gan_blocks as gb


def test_missing_weights_file_gives_a_clear_error():
    with pytest.raises(FileNotFoundError) as info:
        gb.metrics.inception_v3_feature_extractor(weights="/nonexistent/file.h5")
    message = str(info.value)
    assert "/nonexistent/file.h5" in message
    assert "~/.keras/models" in message and "feature_extractor=" in message
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in message


def test_metric_with_missing_weights_fails_on_first_update_not_at_construction():
    fid = gb.metrics.FrechetDistance(weights="/nonexistent/file.h5")
    assert fid.protocol["weights"] == "/nonexistent/file.h5"
    images = np.zeros((2, 16, 16, 3), "float32")
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        fid.update_state(images, images)
    inception_score = gb.metrics.InceptionScore(weights="/nonexistent/top.h5")
    with pytest.raises(FileNotFoundError, match="kernels.h5"):
        inception_score.update_state(None, images)


def test_default_extractor_checks_images_before_building():
    fid = gb.metrics.FrechetDistance(weights="/nonexistent/file.h5")
    with pytest.raises(ValueError, match=r"values in \[-1, 1\].*127.5"):
        fid.update_state(np.full((2, 8, 8, 3), 255.0), None)
    with pytest.raises(ValueError, match=r"\(batch, height, width, 1 or 3\)"):
        fid.update_state(np.zeros((2, 8, 8, 4)), None)


def test_builder_validates_arguments():
    with pytest.raises(ValueError, match="output"):
        gb.metrics.inception_v3_feature_extractor(weights=None, output="pool3")
    with pytest.raises(ValueError, match="image_size"):
        gb.metrics.inception_v3_feature_extractor(weights=None, image_size=(32, 32))
    with pytest.raises(ValueError, match="299"):
        gb.metrics.inception_v3_feature_extractor(
            weights=None, output="probabilities", image_size=(128, 128)
        )


@pytest.mark.large
def test_inception_v3_random_weights_gives_2048_features_for_any_image_size():
    extractor = gb.metrics.inception_v3_feature_extractor(weights=None)
    assert extractor.name == "inception_v3_pool"
    images = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 1)).astype("float32")
    fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=2)
    features = fid.extract_features(np.repeat(images, 3, axis=-1))
    assert features.shape == (3, 2048) and features.dtype == np.float64


def small_labelled_images(n=96, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    images = rng.normal(0, 0.1, (n, 8, 8, 1))
    for k in range(3):  # class k: a bright row k
        images[labels == k, 2 * k + 1, :, 0] += 0.8
    return np.clip(images, -1, 1).astype("float32"), labels


def test_train_classifier_feature_extractor():
    keras.utils.set_random_seed(0)
    images, labels = small_labelled_images()
    extractor, classifier = gb.metrics.train_classifier_feature_extractor(
        images[..., 0], labels, feature_dim=12, epochs=2, batch_size=48, return_classifier=True
    )
    assert extractor.name == "classifier_feature_extractor"
    assert tuple(extractor.output.shape) == (None, 12)
    assert tuple(classifier.output.shape) == (None, 3)

    fid = gb.metrics.FrechetDistance(feature_extractor=extractor, batch_size=50)
    fid.update_state(images[:48], images[48:])
    assert np.isfinite(fid.result()) and fid.protocol["feature_dim"] == 12
    assert fid.protocol["feature_extractor"] == "classifier_feature_extractor"

    inception_score = gb.metrics.InceptionScore(classifier, splits=1)
    inception_score.update_state(None, images)
    assert 1.0 <= inception_score.result() <= 3.0 + 1e-6


def test_train_classifier_validates_labels():
    images, labels = small_labelled_images(12)
    with pytest.raises(ValueError, match="integer class ids"):
        gb.metrics.train_classifier_feature_extractor(images, np.eye(3)[labels].astype("float32"))
    with pytest.raises(ValueError, match="matching the images"):
        gb.metrics.train_classifier_feature_extractor(images, labels[:5])
    with pytest.raises(ValueError, match=r"shape \(n, height, width"):
        gb.metrics.train_classifier_feature_extractor(images[:, :, 0, 0], labels)
