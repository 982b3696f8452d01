"""Small models shared by the model tests."""

import keras
import numpy as np


def mlp_generator(latent_dim=4, output_dim=2, hidden=16, batch_norm=True):
    layers = [keras.Input((latent_dim,)), keras.layers.Dense(hidden)]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.ReLU(), keras.layers.Dense(output_dim, activation="tanh")]
    return keras.Sequential(layers)


def mlp_discriminator(input_dim=2, hidden=16, dropout=0.0):
    layers = [
        keras.Input((input_dim,)),
        keras.layers.Dense(hidden),
        keras.layers.LeakyReLU(0.2),
    ]
    if dropout:
        # A seeded Dropout: on torch an unseeded one draws from torch's global
        # RNG, whose state no .keras file holds.
        layers.append(keras.layers.Dropout(dropout, seed=11))
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers)


def toy_data(n=64, dim=2, seed=0):
    return np.random.default_rng(seed).uniform(-0.9, 0.9, (n, dim)).astype("float32")


def numpy_weights(model):
    return [
        np.array(keras.ops.convert_to_numpy(v))
        for v in getattr(model, "weights", None) or model.variables
    ]


def cycle_gan_generator():
    """A tiny 16x16 one-channel image-to-image generator."""
    return keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(8, 3, padding="same"),
            keras.layers.LeakyReLU(0.2),
            keras.layers.Conv2D(1, 1, activation="tanh"),
        ]
    )


def cycle_gan_discriminator(normalization="instance"):
    """A one-layer 16x16 PatchGAN discriminator."""
    import gan_blocks as gb

    return gb.architectures.patchgan_discriminator(
        (16, 16, 1), filters=8, num_layers=1, normalization=normalization, conditional=False
    )


def make_cycle_gan(**kwargs):
    """A tiny `CycleGAN` of two `cycle_gan_generator`s and two discriminators."""
    import gan_blocks as gb

    normalization = kwargs.pop("normalization", "instance")
    kwargs.setdefault("pool_size", 8)
    kwargs.setdefault("seed", 0)
    return gb.models.CycleGAN(
        cycle_gan_generator(),
        cycle_gan_generator(),
        cycle_gan_discriminator(normalization),
        cycle_gan_discriminator(normalization),
        **kwargs,
    )
