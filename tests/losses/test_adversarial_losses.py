import keras
import numpy as np
import pytest

import gan_blocks as gb


def np_softplus(x):
    return np.logaddexp(0.0, x)


def np_bce(logits, target):
    return np.mean(target * np_softplus(-logits) + (1 - target) * np_softplus(logits))


RNG = np.random.default_rng(0)
REAL = RNG.normal(size=(8, 5)).astype("float32") * 3
FAKE = RNG.normal(size=(8, 5)).astype("float32") * 3

REFERENCES = {
    "minimax": (
        lambda r, f: np_bce(r, 1.0) + np_bce(f, 0.0),
        lambda f, r: -np.mean(np_softplus(f)),
    ),
    "non_saturating": (
        lambda r, f: np_bce(r, 1.0) + np_bce(f, 0.0),
        lambda f, r: np.mean(np_softplus(-f)),
    ),
    "least_squares": (
        lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f**2),
        lambda f, r: 0.5 * np.mean((f - 1) ** 2),
    ),
    "hinge": (
        lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
        lambda f, r: -np.mean(f),
    ),
    "wasserstein": (
        lambda r, f: np.mean(f) - np.mean(r),
        lambda f, r: -np.mean(f),
    ),
    "relativistic_average": (
        lambda r, f: np_bce(r - f.mean(), 1.0) + np_bce(f - r.mean(), 0.0),
        lambda f, r: np_bce(f - r.mean(), 1.0) + np_bce(r - f.mean(), 0.0),
    ),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_loss_matches_numpy_reference(name):
    loss = gb.losses.get(name)
    d_ref, g_ref = REFERENCES[name]
    d = float(keras.ops.convert_to_numpy(loss.discriminator_loss(REAL, FAKE)))
    g = float(keras.ops.convert_to_numpy(loss.generator_loss(FAKE, REAL)))
    np.testing.assert_allclose(d, d_ref(REAL.astype("float64"), FAKE.astype("float64")), rtol=1e-5)
    np.testing.assert_allclose(g, g_ref(FAKE.astype("float64"), REAL.astype("float64")), rtol=1e-5)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_loss_is_finite_for_extreme_logits(name):
    loss = gb.losses.get(name)
    extreme = np.array([[100.0], [-100.0], [100.0], [-100.0]], "float32")
    for real, fake in [(extreme, -extreme), (-extreme, extreme), (extreme, extreme)]:
        d = keras.ops.convert_to_numpy(loss.discriminator_loss(real, fake))
        g = keras.ops.convert_to_numpy(loss.generator_loss(fake, real))
        assert np.isfinite(d) and np.isfinite(g)
    # A confident, correct discriminator has (near) zero BCE loss, not NaN.
    if name in ("non_saturating", "minimax"):
        d = loss.discriminator_loss(np.full(4, 100.0, "float32"), np.full(4, -100.0, "float32"))
        assert float(keras.ops.convert_to_numpy(d)) < 1e-30 + 1e-6


def test_one_sided_label_smoothing_matches_reference():
    loss = gb.losses.NonSaturatingLoss(label_smoothing=0.1)
    d = float(keras.ops.convert_to_numpy(loss.discriminator_loss(REAL, FAKE)))
    np.testing.assert_allclose(d, np_bce(REAL, 0.9) + np_bce(FAKE, 0.0), rtol=1e-5)


def test_label_noise_randomizes_targets_within_bounds():
    loss = gb.losses.NonSaturatingLoss(label_noise=0.2)
    seed = keras.random.SeedGenerator(0)
    zeros = np.zeros((65536, 1), "float32")
    # With zero logits, BCE against target t is log(2) whatever t, so use the
    # linear part: d/dt [t*sp(-x) + (1-t)*sp(x)] = sp(-x) - sp(x) = -x.
    x = np.full((65536, 1), 3.0, "float32")
    values = [
        float(keras.ops.convert_to_numpy(loss.discriminator_loss(x, zeros, seed=seed)))
        for _ in range(2)
    ]
    assert values[0] != values[1]  # fresh noise every call
    # Mean real target is 0.9 (uniform in [0.8, 1]): matches the closed form.
    expected = np_bce(x, 0.9) + np.log(2)
    np.testing.assert_allclose(values[0], expected, atol=3e-3)


def test_get_accepts_instances_classes_configs():
    hinge = gb.losses.HingeLoss()
    assert gb.losses.get(hinge) is hinge
    assert isinstance(gb.losses.get(gb.losses.WassersteinLoss), gb.losses.WassersteinLoss)
    config = gb.losses.serialize(gb.losses.NonSaturatingLoss(label_smoothing=0.2))
    revived = gb.losses.get(config)
    assert isinstance(revived, gb.losses.NonSaturatingLoss)
    assert revived.label_smoothing == 0.2


def test_unknown_loss_name_lists_known_names():
    with pytest.raises(ValueError, match="non_saturating"):
        gb.losses.get("nonsaturating")


def test_bad_options_raise():
    with pytest.raises(ValueError, match="label_smoothing=1.5"):
        gb.losses.NonSaturatingLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="real_logits"):
        gb.losses.RelativisticAverageLoss().generator_loss(FAKE)
