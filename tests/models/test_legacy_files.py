"""`.keras` files written by gan-blocks before the adversarial-model base still load.

The fixtures were written by `fixtures/make_legacy_fixtures.py` with the code of
commit 2a4b2d3 (TensorFlow backend): a loaded model must hold the same weights
and optimizer state, generate the same images, and keep training.
"""

import os

import keras
import numpy as np

import gan_blocks as gb

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def fingerprint(variable):
    value = np.asarray(keras.ops.convert_to_numpy(variable), "float64").ravel()
    return np.concatenate([[value.sum()], value[:8]])


def load(name):
    model = keras.models.load_model(os.path.join(FIXTURES, f"legacy_{name}.keras"))
    expected = dict(np.load(os.path.join(FIXTURES, f"legacy_{name}.npz")))
    return model, expected


def check_state(model, expected):
    weights = {}
    for weight in model.weights:
        key = f"weight:{weight.path}"
        key += f":{sum(k.startswith(key + ':') for k in weights)}"
        weights[key] = fingerprint(weight)
    expected_weights = {k: v for k, v in expected.items() if k.startswith("weight:")}
    assert sorted(weights) == sorted(expected_weights)
    for key, value in expected_weights.items():
        np.testing.assert_allclose(weights[key], value, rtol=1e-6, atol=1e-7, err_msg=key)
    count = sum(k.startswith("optimizer:") for k in expected)
    expected_optimizer = [expected[f"optimizer:{i}"] for i in range(count)]
    variables = model.optimizer.variables
    assert len(variables) == len(expected_optimizer)
    for index, (variable, value) in enumerate(zip(variables, expected_optimizer)):
        np.testing.assert_allclose(
            fingerprint(variable), value, rtol=1e-6, atol=1e-7, err_msg=f"optimizer {index}"
        )


def test_gan_file_loads_with_weights_optimizers_and_outputs():
    gan, expected = load("gan")
    assert isinstance(gan, gb.models.GAN)
    assert gan.generator_ema == 0.9 and gan.seed == 3
    assert gan.adversarial_loss.name.startswith("hinge")
    check_state(gan, expected)
    np.testing.assert_allclose(
        gan.generate(latents=expected["latents"]), expected["outputs"], rtol=1e-5, atol=1e-6
    )
    data = np.random.default_rng(0).uniform(-0.9, 0.9, (16, 2)).astype("float32")
    history = gan.fit(data, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])
    assert int(keras.ops.convert_to_numpy(gan.generator_optimizer.iterations)) == 4


def test_conditional_gan_file_loads():
    cgan, expected = load("conditional_gan")
    assert isinstance(cgan, gb.models.ConditionalGAN) and cgan.num_classes == 3
    check_state(cgan, expected)
    outputs = cgan.generate(latents=expected["latents"], labels=expected["labels"])
    np.testing.assert_allclose(outputs, expected["outputs"], rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(0)
    images = rng.uniform(-0.9, 0.9, (16, 2)).astype("float32")
    cgan.fit(images, rng.integers(0, 3, 16), batch_size=8, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(cgan.discriminator_optimizer.iterations)) == 4


def test_pix2pix_file_loads():
    p2p, expected = load("pix2pix")
    assert isinstance(p2p, gb.models.Pix2Pix) and p2p.l1_weight == 50.0
    check_state(p2p, expected)
    np.testing.assert_allclose(
        p2p.translate(expected["source"]), expected["outputs"], rtol=1e-4, atol=1e-5
    )
    source = expected["source"]
    history = p2p.fit(source, -source, batch_size=3, epochs=1, verbose=0)
    assert np.isfinite(history.history["l1_loss"][0])
