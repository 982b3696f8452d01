import csv
import math
import os

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import mlp_discriminator, mlp_generator, toy_data


def identity(x):
    return x


def make_gan(**kwargs):
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0, **kwargs)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    return gan


def test_fit_logs_fid_kid_and_checkpoint_monitors_fid(tmp_path):
    gan = make_gan(generator_ema=0.9)
    real = toy_data(128)
    callback = gb.callbacks.GenerativeMetrics(
        real,
        metrics=[
            gb.metrics.FrechetDistance(feature_extractor=identity),
            gb.metrics.KernelDistance(feature_extractor=identity, subsets=4, subset_size=50),
        ],
        num_samples=96,
        batch_size=48,  # equal chunks: one generator input shape to compile on JAX
    )
    path = os.path.join(tmp_path, "best.keras")
    csv_path = os.path.join(tmp_path, "log.csv")
    checkpoint = keras.callbacks.ModelCheckpoint(
        path, monitor="fid", mode="min", save_best_only=True
    )
    history = gan.fit(
        real,
        batch_size=32,
        epochs=2,
        verbose=0,
        callbacks=[callback, checkpoint, keras.callbacks.CSVLogger(csv_path)],
    )
    for key in ("fid", "kid", "kid_std", "d_loss", "g_loss"):
        assert len(history.history[key]) == 2, key
        assert np.all(np.isfinite(history.history[key])), key
    assert os.path.exists(path)
    assert checkpoint.best == pytest.approx(min(history.history["fid"]))
    with open(csv_path) as file:
        rows = list(csv.DictReader(file))
    assert float(rows[-1]["fid"]) == pytest.approx(history.history["fid"][-1])

    # The logged FID is that of model.generate (EMA generator) vs the real data.
    fid = callback.metrics[0]
    assert fid.protocol["num_real"] == 128 and fid.protocol["num_generated"] == 96
    seeds = np.random.default_rng(0).integers(0, 2**31 - 1, size=2)
    samples = np.concatenate([gan.generate(num_samples=48, seed=int(s)) for s in seeds])
    reference = gb.metrics.FrechetDistance(feature_extractor=identity)
    reference.update_state(real, samples)
    assert history.history["fid"][-1] == pytest.approx(reference.result(), rel=1e-5)


def test_every_n_epochs_logs_nan_between_evaluations_and_reuses_real_statistics():
    calls = []

    def counting_identity(x):
        calls.append(len(x))
        return x

    gan = make_gan()
    real = toy_data(64)
    fid = gb.metrics.FrechetDistance(feature_extractor=counting_identity, batch_size=1000)
    callback = gb.callbacks.GenerativeMetrics(real, [fid], num_samples=32, every_n_epochs=2)
    history = gan.fit(real, batch_size=32, epochs=4, verbose=0, callbacks=[callback])
    values = history.history["fid"]
    # Evaluated after the first epoch, every 2nd epoch and the last one.
    assert [math.isnan(v) for v in values] == [False, False, True, False]
    # Real features once (64 images), generated ones at each of 3 evaluations.
    assert sum(calls) == 64 + 3 * 32


def test_shared_extractor_runs_once_per_batch_and_inception_score_ignores_real():
    calls = []

    def counting_identity(x):
        calls.append(len(x))
        return x

    def to_probabilities(x):
        return np.stack([np.full(len(x), 0.5), np.full(len(x), 0.5)], axis=1)

    gan = make_gan()
    callback = gb.callbacks.GenerativeMetrics(
        toy_data(50),
        [
            gb.metrics.FrechetDistance(counting_identity),
            gb.metrics.KernelDistance(counting_identity, subsets=2, subset_size=10),
            gb.metrics.InceptionScore(to_probabilities, splits=2),
        ],
        num_samples=20,
    )
    callback.set_model(gan)
    values = callback.evaluate()
    assert sorted(values) == ["fid", "inception_score", "inception_score_std", "kid", "kid_std"]
    assert values["inception_score"] == pytest.approx(1.0)
    assert sum(calls) == 50 + 20


def test_validation():
    real = toy_data(16)
    with pytest.raises(TypeError, match="gb.metrics objects"):
        gb.callbacks.GenerativeMetrics(real, [keras.metrics.Mean()])
    with pytest.raises(ValueError, match="same name"):
        gb.callbacks.GenerativeMetrics(
            real, [gb.metrics.FrechetDistance(identity), gb.metrics.FrechetDistance(identity)]
        )
    with pytest.raises(ValueError, match="every_n_epochs"):
        gb.callbacks.GenerativeMetrics(real, ["fid"], every_n_epochs=0)
    with pytest.raises(ValueError, match="Unknown metric name"):
        gb.callbacks.GenerativeMetrics(real, ["precision"])
    callback = gb.callbacks.GenerativeMetrics(real, ["fid", "kid", "inception_score"])
    assert callback.log_names == ["fid", "kid", "kid_std", "inception_score", "inception_score_std"]
    assert callback.num_samples == 16
    with pytest.raises(ValueError, match="generate"):
        callback.evaluate()


def test_reference_statistics_replace_the_real_images():
    gan = make_gan()
    real = toy_data(96)
    stats = gb.metrics.reference_statistics(real, identity)

    def evaluate(real_data):
        metrics = [
            gb.metrics.FrechetDistance(feature_extractor=identity),
            gb.metrics.PrecisionRecall(feature_extractor=identity),
            gb.metrics.DensityCoverage(feature_extractor=identity),
        ]
        callback = gb.callbacks.GenerativeMetrics(real_data, metrics, batch_size=48)
        callback.set_model(gan)
        return callback.num_samples, callback.evaluate()

    from_images, from_statistics = evaluate(real), evaluate(stats)
    assert from_statistics[0] == from_images[0] == 96
    assert sorted(from_statistics[1]) == ["coverage", "density", "fid", "precision", "recall"]
    assert from_statistics[1] == pytest.approx(from_images[1], abs=1e-9)
