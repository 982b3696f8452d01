"""Regularizers for any player: a generator and a discriminator term, each from a new class.

Neither class needs a change to the models: each is a `gb.losses.Regularizer`
whose `compute(context)` reads the step context, and `compile(regularizers=...)`
attaches it to its player, which logs it under its name and applies its lazy
schedule.
"""

import keras
import numpy as np
import pytest
from keras import ops

import gan_blocks as gb
from gan_blocks.backend import input_gradients
from tests.models.helpers import mlp_discriminator, mlp_generator, numpy_weights, toy_data


@keras.saving.register_keras_serializable(package="tests")
class LatentPathLength(gb.losses.Regularizer):
    """A path-length-style generator term: `weight * E ||d sum(G(z)) / dz||^2`."""

    def __init__(self, weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = weight

    def compute(self, context):
        latents = ops.stop_gradient(context.latents)
        gradients = input_gradients(lambda z: context.network(z), latents)
        return self.weight * ops.mean(ops.sum(ops.square(gradients), axis=-1))

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


@keras.saving.register_keras_serializable(package="tests")
class RealLogitMagnitude(gb.losses.Regularizer):
    """A discriminator term: `weight * E[D(x)^2]` on real images."""

    def __init__(self, weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = weight

    def compute(self, context):
        return self.weight * ops.mean(ops.square(context.network(context.real_images)))

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


@keras.saving.register_keras_serializable(package="tests")
class Constant(gb.losses.Regularizer):
    """1.0 on every step it runs: its log shows the schedule."""

    def compute(self, context):
        return ops.ones((), "float32")


def gan(regularizers=None, **compile_kwargs):
    keras.utils.set_random_seed(1)
    model = gb.models.GAN(
        mlp_generator(batch_norm=False), mlp_discriminator(), latent_dim=4, seed=0
    )
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.optimizers.Adam(1e-2),
        regularizers=regularizers,
        **compile_kwargs,
    )
    return model


def test_each_player_logs_its_regularizers_on_their_own_schedule():
    model = gan(
        {
            "generator": [Constant(every=3, name="g_constant")],
            "discriminator": [Constant(every=2, name="d_constant")],
        }
    )
    history = model.fit(toy_data(16), batch_size=4, epochs=1, shuffle=False, verbose=0)
    # Four steps of each player: generator steps 0..3 run on 0 and 3 (x3),
    # discriminator steps on 0 and 2 (x2): the epoch means are 6/4 and 4/4.
    assert history.history["g_constant"] == pytest.approx([1.5])
    assert history.history["d_constant"] == pytest.approx([1.0])


def test_a_generator_regularizer_shapes_the_generator():
    data = toy_data(64)
    plain = gan()
    regularized = gan({"generator": [LatentPathLength(weight=50.0)]})
    for model in (plain, regularized):
        model.fit(data, batch_size=16, epochs=4, shuffle=False, verbose=0)
    latents = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")

    def path_length(model):
        gradients = input_gradients(lambda z: model.generator(z), latents)
        return float(np.mean(np.sum(ops.convert_to_numpy(gradients) ** 2, axis=-1)))

    # The term flattens the generator's response to its latents.
    assert path_length(regularized) < 0.5 * path_length(plain)
    assert "latent_path_length" in regularized.history.history


def test_regularizers_with_the_penalty_shorthand_resume_exactly(tmp_path):
    regularizers = {
        "generator": [LatentPathLength(weight=0.5, every=2)],
        "discriminator": [RealLogitMagnitude(weight=0.1, every=3)],
    }
    data = toy_data(32)
    straight = gan(regularizers, penalty=gb.losses.R1Penalty(gamma=1.0, every=2))
    history = straight.fit(data, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert set(history.history) == {
        "d_loss",
        "g_loss",
        "r1_penalty",
        "real_logit_magnitude",
        "latent_path_length",
    }

    resumed = gan(regularizers, penalty=gb.losses.R1Penalty(gamma=1.0, every=2))
    resumed.fit(data, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "regularized.keras")
    resumed.save(path)
    loaded = keras.models.load_model(path)
    assert [type(r).__name__ for r in loaded.regularizers["discriminator"]] == [
        "R1Penalty",
        "RealLogitMagnitude",
    ]
    assert loaded.regularizers["generator"][0].every == 2
    loaded.fit(data, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(numpy_weights(straight), numpy_weights(loaded)):
        np.testing.assert_array_equal(a, b)


def test_bad_regularizers_are_refused_clearly():
    with pytest.raises(ValueError, match=r"unknown group\(s\) \['critic'\]"):
        gan({"critic": [Constant()]})
    with pytest.raises(ValueError, match="same name"):
        gan({"generator": [Constant()], "discriminator": [Constant()]})
    with pytest.raises(TypeError, match="must be a dict"):
        gan([Constant()])
    for penalty in (gb.losses.R1Penalty(), "gradient_penalty"):
        with pytest.raises(ValueError, match="cannot regularize the generator"):
            gan({"generator": [penalty]})
    with pytest.raises(ValueError, match="`every` must be an int >= 1"):
        Constant(every=0)
    with pytest.raises(ValueError, match="finite"):
        gb.losses.R1Penalty(gamma=float("nan"))
