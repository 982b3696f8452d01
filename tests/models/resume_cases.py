"""Small models of every kind, for the resume-in-a-fresh-process test.

`python resume_cases.py KIND MODEL.keras OUT.npz` loads the model, trains it
one more epoch on the same data and writes its weights: run in a new process,
so nothing but the `.keras` file carries the state over.
"""

import os
import sys

import keras
import numpy as np

import gan_blocks as gb

KINDS = ("conditional_gan", "pix2pix", "cycle_gan", "vae")


def data(kind):
    """`fit`'s data for `kind`: positional arguments, rebuilt identically in any process."""
    rng = np.random.default_rng(0)
    if kind == "conditional_gan":
        return rng.uniform(-1, 1, (16, 2)).astype("float32"), rng.integers(0, 3, 16)
    if kind == "pix2pix":
        source = rng.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
        return source, -source
    if kind == "cycle_gan":
        images_a = rng.uniform(-0.9, -0.1, (8, 16, 16, 1)).astype("float32")
        images_b = rng.uniform(0.1, 0.9, (8, 16, 16, 1)).astype("float32")
        return (gb.data.unpaired(images_a, images_b, batch_size=4, seed=3),)
    return (rng.uniform(0, 1, (16, 2, 2, 1)).astype("float32"),)


FIT_KWARGS = {
    "conditional_gan": {"batch_size": 4},
    "pix2pix": {"batch_size": 4},
    "cycle_gan": {},
    "vae": {"batch_size": 4},
}


def build(kind):
    """A compiled model of `kind`, with dropout, EMA or pools where the kind has them."""
    if kind == "conditional_gan":
        from tests.models.test_conditional_gan import conditional_players

        model = gb.models.ConditionalGAN(*conditional_players(), 4, num_classes=3, seed=0)
        model.compile(loss="hinge")
    elif kind == "pix2pix":
        generator = gb.architectures.unet_generator((16, 16, 3), output_channels=3, filters=8)
        discriminator = gb.architectures.patchgan_discriminator(
            (16, 16, 3), filters=8, num_layers=1
        )
        model = gb.models.Pix2Pix(generator, discriminator, generator_ema=0.9, seed=0)
        model.compile()
    elif kind == "cycle_gan":
        from tests.models.test_cycle_gan import make_cycle_gan

        model = make_cycle_gan(pool_size=3)
        model.compile()
    else:
        from tests.models.test_vae import tiny_vae

        model = tiny_vae("bernoulli")
        model.compile(keras.optimizers.Adam(1e-2))
    return model


def fit(model, kind, epochs):
    model.fit(*data(kind), epochs=epochs, shuffle=False, verbose=0, **FIT_KWARGS[kind])


def weights(model):
    return [np.asarray(keras.ops.convert_to_numpy(w)) for w in model.weights]


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    kind, path, out = sys.argv[1:4]
    resumed = keras.models.load_model(path)
    fit(resumed, kind, 1)
    np.savez(out, *weights(resumed))
