"""SN-GAN generator and discriminator builders (Miyato et al. 2018)."""

from __future__ import annotations

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.architectures.dcgan import _base_size
from gan_blocks.layers.projection_discriminator_output import ProjectionDiscriminatorOutput
from gan_blocks.layers.residual_down_block import ResidualDownBlock
from gan_blocks.layers.residual_up_block import ResidualUpBlock
from gan_blocks.layers.spectral_dense import SpectralDense
from gan_blocks.validation import check_int


def _check_num_classes(num_classes: int | None) -> None:
    if num_classes is not None:
        check_int("num_classes", num_classes, minimum=2)


@gan_blocks_export(kind="architecture", name="sngan_generator")
def sngan_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int] = (28, 28, 1),
    filters: int = 32,
    num_classes: int | None = None,
    name: str = "sngan_generator",
) -> keras.Model:
    """Builds the SN-GAN ResNet generator, optionally class-conditional.

    The latent vector is projected to a `base x base` map (base 4..7: 7 for
    28 px, 4 for 32/64/128, 6 for 48), then `ResidualUpBlock`s double the
    resolution, halving the width down to `filters`; batch norm, ReLU and a
    3x3 convolution with `tanh` give the image. With `num_classes` the model
    takes `[latents, labels]` and its blocks use
    `ConditionalBatchNormalization`: it plugs into `gb.models.ConditionalGAN`
    as is.

    Args:
        latent_dim: Size of the latent vector.
        image_shape: `(side, side, channels)`: 28, 32, 48, 64, 128 (any side
            4..7 times a power of two).
        filters: Width of the last block (doubling towards the input).
        num_classes: Number of classes of a conditional generator, or `None`.
        name: Model name.

    Returns:
        A functional `keras.Model` from latents (and integer labels of shape
        `(batch,)` when conditional) to images in [-1, 1].

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.sngan_generator(100, (28, 28, 1)).output_shape
    (None, 28, 28, 1)
    >>> gb.architectures.sngan_generator(100, (32, 32, 3), num_classes=10).input_shape
    [(None, 100), (None,)]

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial
        Networks", ICLR 2018 (appendix B, ResNet architectures).
    """
    _check_num_classes(num_classes)
    base, doublings = _base_size(tuple(image_shape))
    latents = keras.Input((latent_dim,), name="latents")
    inputs = latents
    labels = None
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs = [latents, labels]
    width = filters * 2 ** (doublings - 1)
    x = keras.layers.Dense(base * base * width, name="projection")(latents)
    x = keras.layers.Reshape((base, base, width))(x)
    for index in range(doublings):
        block = ResidualUpBlock(
            filters * 2 ** (doublings - 1 - index),
            conditional_classes=num_classes,
            name=f"up_block_{index}",
        )
        x = block(x) if labels is None else block([x, labels])
    x = keras.layers.BatchNormalization(name="output_batch_norm")(x)
    x = keras.layers.ReLU(name="output_relu")(x)
    images = keras.layers.Conv2D(
        image_shape[-1], 3, padding="same", activation="tanh", name="output"
    )(x)
    return keras.Model(inputs, images, name=name)


@gan_blocks_export(kind="architecture", name="sngan_discriminator")
def sngan_discriminator(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    filters: int = 32,
    num_classes: int | None = None,
    name: str = "sngan_discriminator",
) -> keras.Model:
    """Builds the SN-GAN ResNet discriminator, optionally with a projection.

    Spectral-normalized `ResidualDownBlock`s (the first without the leading
    ReLU) halve the resolution down to the generator's base map, doubling the
    width from `filters`; one more block keeps the resolution; then ReLU, a sum
    over positions and a spectral-normalized linear logit. No batch norm: the
    spectral norm alone keeps the discriminator smooth. With `num_classes` the
    model takes `[images, labels]` and ends in a
    `ProjectionDiscriminatorOutput`.

    Args:
        image_shape: `(side, side, channels)`, as for `sngan_generator`.
        filters: Width of the first block (doubling with depth).
        num_classes: Number of classes of a projection discriminator, or `None`.
        name: Model name.

    Returns:
        A functional `keras.Model` from images (and integer labels of shape
        `(batch,)` when conditional) to logits of shape `(batch, 1)`.

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.sngan_discriminator((28, 28, 1)).output_shape
    (None, 1)

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial
        Networks", ICLR 2018; Miyato & Koyama, "cGANs with Projection
        Discriminator", ICLR 2018.
    """
    _check_num_classes(num_classes)
    base, doublings = _base_size(tuple(image_shape))
    images = keras.Input(tuple(image_shape), name="images")
    inputs = images
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs = [images, labels]
    x = images
    for index in range(doublings):
        x = ResidualDownBlock(
            filters * 2**index, preactivation=index > 0, name=f"down_block_{index}"
        )(x)
    x = ResidualDownBlock(
        filters * 2 ** (doublings - 1), downsample=False, name=f"down_block_{doublings}"
    )(x)
    x = keras.layers.ReLU(name="features_relu")(x)
    # A sum over positions, as in SN-GAN: an average scaled by the area.
    x = keras.layers.GlobalAveragePooling2D(name="features_pool")(x)
    x = keras.layers.Rescaling(float(base * base), name="features_sum")(x)
    if num_classes is None:
        logits = SpectralDense(1, name="logits")(x)
    else:
        logits = ProjectionDiscriminatorOutput(num_classes, name="logits")([x, labels])
    return keras.Model(inputs, logits, name=name)
