"""`jit_compile=True` trains as eager on torch: every model x the regularizers it takes (#30).

Before `torch.compile` can become a default, the compiled step must train
every model the library ships as the eager step does, with each regularizer:
none, R1, the WGAN-GP gradient penalty, the path-length regularizer, and
their lazy variants (`every > 1`, a branch on the step count). Each case fits
a small model a few steps from the same seed eagerly and compiled, and
compares every weight, optimizer variable and logged value.

Compiling costs 10-80 s a model on a 2-core CPU (`--run-large` compiles with
Inductor, as users do), so all but one cheap case are large tests.
"""

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import make_cycle_gan, mlp_discriminator, mlp_generator, toy_data

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="torch.compile of the torch trainer"
)

RTOL, ATOL = 1e-4, 1e-5


# ----------------------------------------------------------------- models
# Each builder: (model, fit arguments) for one jit_compile and regularizer.


def gan(jit_compile, penalty=None, regularizers=None, loss="non_saturating"):
    # No batch norm: a bias before it gets no gradient but round-off, which
    # Adam scales to steps of its learning rate, differently in each run.
    model = gb.models.GAN(
        mlp_generator(batch_norm=False), mlp_discriminator(), latent_dim=4, seed=0
    )
    model.compile(loss=loss, penalty=penalty, regularizers=regularizers, jit_compile=jit_compile)
    return model, ((toy_data(16),), {"batch_size": 4})


def conditional_gan(jit_compile, penalty=None):
    z, y = keras.Input((4,)), keras.Input((), dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(3, 4)(y))
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Concatenate()([z, embedded]))
    generator = keras.Model([z, y], keras.layers.Dense(2, activation="tanh")(hidden))
    x, c = keras.Input((2,)), keras.Input((), dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(3, 4)(c))
    hidden = keras.layers.LeakyReLU(0.2)(
        keras.layers.Dense(16)(keras.layers.Concatenate()([x, embedded]))
    )
    discriminator = keras.Model([x, c], keras.layers.Dense(1)(hidden))
    model = gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3, seed=0)
    model.compile(penalty=penalty, jit_compile=jit_compile)
    labels = np.random.default_rng(1).integers(0, 3, 16)
    return model, ((toy_data(16), labels), {"batch_size": 4})


def pix2pix(jit_compile, penalty=None):
    generator = gb.architectures.unet_generator((16, 16, 3), output_channels=3, filters=8)
    discriminator = gb.architectures.patchgan_discriminator((16, 16, 3), filters=8, num_layers=1)
    model = gb.models.Pix2Pix(generator, discriminator, seed=0)
    model.compile(penalty=penalty, jit_compile=jit_compile)
    source = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    return model, ((source, -source), {"batch_size": 4, "epochs": 2})


def cycle_gan(jit_compile, penalty=None):
    model = make_cycle_gan(pool_size=3, normalization="batch")
    model.compile(penalty=penalty, jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    images_a = rng.uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    images_b = rng.uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    loader = gb.data.unpaired(images_a, images_b, batch_size=4, seed=3)
    return model, ((loader,), {"epochs": 2})


def vae(jit_compile):
    images = keras.Input((2, 2, 1))
    flat = keras.layers.Flatten()(images)
    encoder = keras.Model(images, [keras.layers.Dense(2)(flat), keras.layers.Dense(2)(flat)])
    latents = keras.Input((2,))
    decoder = keras.Model(latents, keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4)(latents)))
    model = gb.models.VAE(encoder, decoder, seed=0)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=jit_compile)
    data = np.random.default_rng(0).uniform(0, 1, (16, 2, 2, 1)).astype("float32")
    return model, ((data,), {"batch_size": 4})


def stylegan2(jit_compile, regularizers=None, epochs=2):
    generator = gb.architectures.stylegan2_generator(8, 1, preset="tiny")
    discriminator = gb.architectures.stylegan2_discriminator(8, 1, preset="tiny")
    model = gb.models.StyleGAN2(generator, discriminator, seed=0)
    model.compile(regularizers=regularizers, jit_compile=jit_compile)
    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    return model, ((images,), {"batch_size": 8, "epochs": epochs})


# ------------------------------------------------------------------ cases
# Every model at least once, every regularizer gb.losses ships at least once
# (lazy and not), without the full product.

CASES = {
    "gan-none": gan,
    "gan-r1": lambda j: gan(j, penalty=gb.losses.R1Penalty(gamma=1.0)),
    "gan-lazy_r1": lambda j: gan(j, penalty=gb.losses.R1Penalty(gamma=1.0, every=2)),
    "gan-gradient_penalty": lambda j: gan(
        j, penalty=gb.losses.GradientPenalty(weight=1.0), loss="wasserstein"
    ),
    "gan-path_length": lambda j: gan(
        j, regularizers={"generator": [gb.losses.PathLengthPenalty(every=1, batch_shrink=2)]}
    ),
    "conditional_gan-none": conditional_gan,
    "conditional_gan-lazy_gradient_penalty": lambda j: conditional_gan(
        j, penalty=gb.losses.GradientPenalty(weight=1.0, every=2)
    ),
    "pix2pix-none": pix2pix,
    "pix2pix-lazy_r1": lambda j: pix2pix(j, penalty=gb.losses.R1Penalty(gamma=1.0, every=2)),
    "cycle_gan-none": cycle_gan,
    "cycle_gan-gradient_penalty": lambda j: cycle_gan(j, penalty="gradient_penalty"),
    "vae-none": vae,
    "stylegan2-none": lambda j: stylegan2(j, regularizers={}),
    # StyleGAN2's own defaults (#27): lazy R1 every 16 and path length every
    # 4 steps; 18 steps cross both schedules.
    "stylegan2-lazy_r1_and_lazy_path_length": lambda j: stylegan2(j, epochs=9),
}

# The one case that runs by default: small, and traced in one graph.
DEFAULT_CASE = "gan-none"


def train(case, jit_compile):
    keras.utils.set_random_seed(1337)
    model, (arguments, fit_kwargs) = CASES[case](jit_compile)
    history = model.fit(*arguments, shuffle=False, verbose=0, **fit_kwargs).history
    variables = list(model.weights) + list(model.optimizer.variables)
    return model, [(v.path, np.array(keras.ops.convert_to_numpy(v))) for v in variables], history


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, marks=() if case == DEFAULT_CASE else pytest.mark.large) for case in CASES],
)
def test_compiled_training_equals_eager(case):
    from gan_blocks.trainers import torch as torch_trainer

    _, eager_values, eager_history = train(case, jit_compile=False)
    compiled, compiled_values, compiled_history = train(case, jit_compile=True)
    # It did compile: the players' losses went through torch.compile.
    assert compiled.jit_compile is True
    assert torch_trainer._COMPILED.get(compiled, (None, {}))[1], "nothing was compiled"

    # In the same order (the names differ: Keras numbers each new layer).
    assert [v.shape for _, v in compiled_values] == [v.shape for _, v in eager_values]
    for (path, value), (_, compiled_value) in zip(eager_values, compiled_values):
        np.testing.assert_allclose(
            compiled_value, value, rtol=RTOL, atol=ATOL, err_msg=f"{case}: {path}"
        )
    assert set(compiled_history) == set(eager_history)
    for name, values in eager_history.items():
        assert np.all(np.isfinite(values)), (case, name, values)
        np.testing.assert_allclose(
            compiled_history[name], values, rtol=RTOL, atol=ATOL, err_msg=f"{case}: {name}"
        )
