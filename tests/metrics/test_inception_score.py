import keras
import numpy as np
import pytest

import gan_blocks as gb


def identity(x):
    return x


@pytest.mark.parametrize("num_classes", [2, 10])
def test_confident_balanced_classifier_scores_the_number_of_classes(num_classes):
    inception_score = gb.metrics.InceptionScore(identity, splits=5)
    one_hot = np.eye(num_classes)[np.arange(50 * num_classes) % num_classes]
    inception_score.update_state(None, one_hot[:70])
    inception_score.update_state(generated_images=one_hot[70:])
    assert inception_score.result() == pytest.approx(num_classes, rel=1e-12)
    values = inception_score.log_values()
    assert values["inception_score_std"] == pytest.approx(0.0, abs=1e-9)


def test_uniform_predictions_score_one_and_logits_work():
    inception_score = gb.metrics.InceptionScore(identity, splits=2)
    inception_score.update_state(None, np.full((10, 4), 0.25))
    assert inception_score.result() == pytest.approx(1.0)
    # Logits through a Keras model: large logits are confident predictions.
    logits_model = keras.Sequential([keras.Input((3,)), keras.layers.Identity()])
    from_logits = gb.metrics.InceptionScore(logits_model, from_logits=True, splits=1)
    from_logits.update_state(generated_images=50.0 * np.eye(3)[np.arange(30) % 3])
    assert from_logits.result() == pytest.approx(3.0, rel=1e-6)


def test_matches_direct_formula_and_reset():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(60, 5)) * 2
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    inception_score = gb.metrics.InceptionScore(identity, splits=3)
    inception_score.update_state(np.zeros((1, 1)), probabilities)  # real images are ignored
    scores = []
    for part in np.split(probabilities, 3):
        marginal = part.mean(0)
        scores.append(np.exp(np.mean(np.sum(part * np.log(part / marginal), axis=1))))
    assert inception_score.result() == pytest.approx(np.mean(scores), rel=1e-6)
    assert inception_score.log_values()["inception_score_std"] == pytest.approx(
        np.std(scores), rel=1e-5
    )
    assert "num_real" not in inception_score.protocol
    assert inception_score.protocol["num_generated"] == 60
    inception_score.reset_state()
    assert inception_score.num_generated == 0
    with pytest.raises(ValueError, match="generated images"):
        inception_score.result()


def test_errors_and_config():
    inception_score = gb.metrics.InceptionScore(identity)
    with pytest.raises(ValueError, match="from_logits=True"):
        inception_score.update_state(None, np.array([[2.0, -1.0], [0.5, 0.1]]))
    with pytest.raises(ValueError, match="from_logits=True needs your own"):
        gb.metrics.InceptionScore(from_logits=True)
    with pytest.raises(ValueError, match="splits"):
        gb.metrics.InceptionScore(identity, splits=0)
    # Too few images for the splits: the message asks for generated images only.
    too_few = gb.metrics.InceptionScore(identity, splits=10)
    too_few.update_state(None, np.eye(4)[:3])
    with pytest.raises(ValueError) as error:
        too_few.result()
    assert str(error.value) == (
        "InceptionScore needs at least 10 generated images; it has seen 3 generated. "
        "Pass more images to update_state or lower `splits`."
    )
    default = gb.metrics.InceptionScore(splits=4)
    config = default.get_config()
    assert config["classifier"] is None and config["splits"] == 4
    assert gb.metrics.InceptionScore.from_config(config).get_config() == config
    assert default.protocol["feature_extractor"] == "inception_v3_probabilities"
