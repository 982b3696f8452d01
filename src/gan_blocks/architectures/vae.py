"""Convolutional VAE encoder and decoder builders."""

from __future__ import annotations

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv2d_transpose import Conv2DTranspose


def _check(image_shape: tuple) -> tuple[int, int, int]:
    if len(image_shape) != 3 or image_shape[0] % 4 or image_shape[1] % 4:
        raise ValueError(
            "VAE builders need (height, width, channels) with height and width divisible "
            f"by 4. Received: image_shape={tuple(image_shape)!r}"
        )
    return tuple(image_shape)


@gan_blocks_export(kind="architecture", name="vae_encoder")
def vae_encoder(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    latent_dim: int = 32,
    filters: int = 64,
    hidden: int = 256,
    name: str = "vae_encoder",
) -> keras.Model:
    """Builds a convolutional encoder returning `(z_mean, z_log_var)`.

    Two stride-2 convolutions (`filters`, `2 * filters`), a dense layer, and two
    linear heads. The defaults (latent 32, 64 filters, 256 hidden units) were
    chosen by measurement on MNIST: 108.1 nats of test negative ELBO after 10
    epochs on 8,000 digits, against 118.2 for latent 16 with 32 filters and 64
    units, and 192.2 for the keras.io VAE tutorial's networks (latent 2;
    `benchmarks/vae_quality.py`, docs: "VAE" tutorial).

    Args:
        image_shape: `(height, width, channels)`, sides divisible by 4.
        latent_dim: Size of the latent space.
        filters: Filters of the first convolution.
        hidden: Units of the dense layer.
        name: Model name.

    Returns:
        A functional `keras.Model` from images to `[z_mean, z_log_var]`.

    Example:
    >>> import gan_blocks as gb
    >>> [t.shape for t in gb.architectures.vae_encoder((28, 28, 1), 2).outputs]
    [(None, 2), (None, 2)]
    """
    images = keras.Input(_check(image_shape), name="images")
    x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(images)
    x = keras.layers.Conv2D(2 * filters, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(hidden, activation="relu")(x)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(images, [z_mean, z_log_var], name=name)


@gan_blocks_export(kind="architecture", name="vae_decoder")
def vae_decoder(
    latent_dim: int = 32,
    image_shape: tuple[int, int, int] = (28, 28, 1),
    filters: int = 64,
    name: str = "vae_decoder",
) -> keras.Model:
    """Builds a convolutional decoder returning per-pixel logits (or means).

    Mirrors `vae_encoder`: a dense projection to a quarter-resolution map and
    two stride-2 transposed convolutions; the output is linear (Bernoulli logits
    or Gaussian means, as `gb.models.VAE(reconstruction=...)` expects).

    Args:
        latent_dim: Size of the latent space.
        image_shape: `(height, width, channels)`, sides divisible by 4.
        filters: Filters of the last hidden convolution.
        name: Model name.

    Returns:
        A functional `keras.Model` from latents to `image_shape` outputs.

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.vae_decoder(2, (28, 28, 1)).output_shape
    (None, 28, 28, 1)
    """
    height, width, channels = _check(image_shape)
    latents = keras.Input((latent_dim,), name="latents")
    x = keras.layers.Dense((height // 4) * (width // 4) * 2 * filters, activation="relu")(latents)
    x = keras.layers.Reshape((height // 4, width // 4, 2 * filters))(x)
    x = Conv2DTranspose(2 * filters, 3, strides=2, padding="same", activation="relu")(x)
    x = Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu")(x)
    outputs = Conv2DTranspose(channels, 3, padding="same", name="outputs")(x)
    return keras.Model(latents, outputs, name=name)
