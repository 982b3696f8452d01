"""DCGAN generator and discriminator builders (Radford et al. 2016)."""

from __future__ import annotations

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv2d_transpose import Conv2DTranspose
from gan_blocks.layers.dcgan_down_block import DCGANDownBlock
from gan_blocks.layers.dcgan_up_block import DCGANUpBlock


def _base_size(image_shape: tuple) -> tuple[int, int]:
    """Returns `(base, doublings)` with `base * 2**doublings == side`, base in 4..7."""
    if len(image_shape) != 3:
        raise ValueError(
            f"`image_shape` must be (height, width, channels). Received: {image_shape!r}"
        )
    height, width, _ = image_shape
    if height != width:
        raise ValueError(f"DCGAN builders need square images. Received: {image_shape!r}")
    side, doublings = height, 0
    while side > 7 and side % 2 == 0:
        side //= 2
        doublings += 1
    if side < 4 or side > 7 or doublings < 1:
        raise ValueError(
            f"Image side {height} must be a base of 4..7 times a power of two "
            "(e.g. 28, 32, 64, 128)."
        )
    return side, doublings


@gan_blocks_export(kind="architecture", name="dcgan_generator")
def dcgan_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int] = (28, 28, 1),
    filters: int = 64,
    name: str = "dcgan_generator",
) -> keras.Model:
    """Builds a DCGAN generator: projection, fractional-strided blocks, tanh.

    Follows the DCGAN rules and the "Hello GAN" tutorial: the latent vector is
    projected and reshaped to a small feature map (the only dense layer), then
    `DCGANUpBlock`s (transposed convolutions with kernel 4, stride 2, batch norm
    and ReLU) double the resolution; the output block is a transposed
    convolution with `tanh` and no batch norm.

    Args:
        latent_dim: Size of the latent vector.
        image_shape: `(side, side, channels)` with side 4..7 times a power of
            two: 28, 32, 64, 128, ...
        filters: Filters of the last hidden block (doubling towards the input).
        name: Model name.

    Returns:
        A functional `keras.Model` from `(batch, latent_dim)` to images in
        [-1, 1].

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.dcgan_generator(64, (32, 32, 3)).output_shape
    (None, 32, 32, 3)
    """
    base, doublings = _base_size(tuple(image_shape))
    channels = image_shape[-1]
    hidden = doublings - 1
    width = filters * 2**hidden
    latents = keras.Input((latent_dim,), name="latents")
    x = keras.layers.Dense(base * base * width, use_bias=False, name="projection")(latents)
    x = keras.layers.BatchNormalization(name="projection_batch_norm")(x)
    x = keras.layers.ReLU(name="projection_relu")(x)
    x = keras.layers.Reshape((base, base, width))(x)
    for index in range(hidden):
        x = DCGANUpBlock(filters * 2 ** (hidden - 1 - index), name=f"up_block_{index}")(x)
    images = Conv2DTranspose(
        channels,
        4,
        strides=2,
        padding="same",
        activation="tanh",
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
        name="output",
    )(x)
    return keras.Model(latents, images, name=name)


@gan_blocks_export(kind="architecture", name="dcgan_discriminator")
def dcgan_discriminator(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    filters: int = 64,
    dropout: float = 0.0,
    seed: int | None = 0,
    name: str = "dcgan_discriminator",
) -> keras.Model:
    """Builds a DCGAN discriminator: strided convolutions, LeakyReLU, one logit.

    `DCGANDownBlock`s halve the resolution (no pooling), with batch norm in
    every block but the first (the input block) and LeakyReLU(0.2); an
    optional dropout adds the tutorial's randomness. The final feature map is
    flattened into a single linear logit (no sigmoid: the losses take logits).

    Args:
        image_shape: `(side, side, channels)`, as for `dcgan_generator`.
        filters: Filters of the first block (doubling with depth).
        dropout: Dropout rate after each block.
        seed: Base seed of the dropout layers (block i gets `seed + i`); `None`
            for unseeded.
        name: Model name.

    Returns:
        A functional `keras.Model` from images to logits of shape `(batch, 1)`.

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.dcgan_discriminator((64, 64, 3)).output_shape
    (None, 1)
    """
    _, doublings = _base_size(tuple(image_shape))
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    for index in range(doublings):
        x = DCGANDownBlock(
            filters * 2**index,
            batch_norm=index > 0,
            dropout=dropout,
            seed=None if seed is None else seed + index,
            name=f"down_block_{index}",
        )(x)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(1, name="logits")(x)
    return keras.Model(images, logits, name=name)


@gan_blocks_export(kind="architecture", name="discriminator_features")
def discriminator_features(
    discriminator: keras.Model, grid: int = 4, name: str = "discriminator_features"
) -> keras.Model:
    """Turns a (trained) DCGAN discriminator into a feature extractor.

    As in the DCGAN paper's CIFAR-10 experiment: the output of every
    `DCGANDownBlock` is max-pooled to a `grid` x `grid` map, flattened, and the
    results are concatenated. Fit a linear classifier on these features to use
    what the discriminator learned without labels.

    Args:
        discriminator: A functional model with `DCGANDownBlock` layers (e.g. from
            `dcgan_discriminator`).
        grid: Side of the pooled map of each block.
        name: Model name.

    Returns:
        A `keras.Model` from images to a flat feature vector (weights shared with
        the discriminator).

    Example:
    >>> import gan_blocks as gb
    >>> d = gb.architectures.dcgan_discriminator((28, 28, 1), filters=8)
    >>> gb.architectures.discriminator_features(d, grid=2).output_shape
    (None, 96)
    """
    blocks = [layer for layer in discriminator.layers if isinstance(layer, DCGANDownBlock)]
    if not blocks:
        raise ValueError(
            "discriminator_features needs a functional discriminator with DCGANDownBlock "
            f"layers; {discriminator.name!r} has none."
        )
    pooled = []
    for block in blocks:
        height = block.output.shape[1]
        size = max(1, -(-height // grid))  # ceil: "same" pooling then gives ~grid x grid
        x = keras.layers.MaxPooling2D(size, strides=size, padding="same")(block.output)
        pooled.append(keras.layers.Flatten()(x))
    features = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
    return keras.Model(discriminator.inputs, features, name=name)
