"""pix2pix builders: the U-Net generator and the conditional PatchGAN."""

from __future__ import annotations

import math

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv2d_transpose import Conv2DTranspose
from gan_blocks.layers.patchgan_head import PatchGANHead
from gan_blocks.layers.unet_down_block import UNetDownBlock
from gan_blocks.layers.unet_up_block import UNetUpBlock


@gan_blocks_export(kind="architecture", name="unet_generator")
def unet_generator(
    input_shape: tuple[int, int, int] = (256, 256, 3),
    output_channels: int = 3,
    filters: int = 64,
    seed: int | None = 0,
    name: str = "unet_generator",
) -> keras.Model:
    """Builds pix2pix's U-Net generator; its depth follows the input size.

    The encoder halves the resolution down to 1x1 (8 `UNetDownBlock`s for
    256x256, filters 64-128-256-512-512-...); the decoder mirrors it with
    `UNetUpBlock`s (dropout 0.5 in the first three, pix2pix's only noise) and
    skip connections, and a final transposed convolution with `tanh`.

    Args:
        input_shape: `(height, width, channels)`, height and width equal powers
            of two >= 4.
        output_channels: Channels of the translated image.
        filters: Filters of the first encoder block.
        seed: Base seed of the decoder's dropout (each block gets `seed + i`),
            so that resumed runs match on every backend; `None` for unseeded.
        name: Model name.

    Returns:
        A functional `keras.Model` from source images to images in [-1, 1].

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.unet_generator((32, 32, 1), output_channels=3).output_shape
    (None, 32, 32, 3)
    """
    height, width, _ = input_shape
    depth = int(round(math.log2(height))) if height > 0 else 0
    if height != width or 2**depth != height or depth < 2:
        raise ValueError(
            "unet_generator needs square inputs whose side is a power of two >= 4 "
            f"(256 for pix2pix). Received: input_shape={tuple(input_shape)!r}"
        )
    widths = [filters * min(2**i, 8) for i in range(depth)]
    source = keras.Input(tuple(input_shape), name="source")
    x, skips = source, []
    for index, width_i in enumerate(widths):
        x = UNetDownBlock(width_i, normalization=index > 0, name=f"down_{index}")(x)
        skips.append(x)
    for index, (width_i, skip) in enumerate(zip(reversed(widths[:-1]), reversed(skips[:-1]))):
        block_seed = None if seed is None else seed + index
        x = UNetUpBlock(
            width_i, dropout=0.5 if index < 3 else 0.0, seed=block_seed, name=f"up_{index}"
        )([x, skip])
    images = Conv2DTranspose(
        output_channels,
        4,
        strides=2,
        padding="same",
        activation="tanh",
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
        name="output",
    )(x)
    return keras.Model(source, images, name=name)


@gan_blocks_export(kind="architecture", name="patchgan_discriminator")
def patchgan_discriminator(
    input_shape: tuple[int, int, int] = (256, 256, 3),
    target_channels: int | None = None,
    filters: int = 64,
    num_layers: int = 3,
    normalization: str | None = "batch",
    conditional: bool = True,
    name: str = "patchgan_discriminator",
) -> keras.Model:
    """Builds pix2pix's conditional PatchGAN discriminator (or CycleGAN's unconditional one).

    Called on `[source, image]`: the two are concatenated on the channel axis
    and mapped by a `PatchGANHead` to a grid of logits (30x30 for 256x256 input
    and `num_layers=3`, each seeing a 70x70 patch). With `conditional=False` it
    is called on the image alone: CycleGAN's 70x70 discriminator is
    `patchgan_discriminator(image_shape, normalization="instance",
    conditional=False)`.

    Args:
        input_shape: Shape of a source image (of the judged image when
            `conditional=False`).
        target_channels: Channels of the (real or generated) image; defaults to
            the source's. Only for `conditional=True`.
        filters: Filters of the first convolution.
        num_layers: Stride-2 blocks of the head.
        normalization: `"batch"`, `"instance"`, `"spectral"` or `None`.
        conditional: Whether the model judges `[source, image]` pairs (pix2pix)
            or single images (CycleGAN).
        name: Model name.

    Returns:
        A functional `keras.Model` taking `[source, image]`, or `image` when
        `conditional=False`.

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.patchgan_discriminator((64, 64, 3)).output_shape
    (None, 6, 6, 1)
    >>> gb.architectures.patchgan_discriminator(
    ...     (64, 64, 3), normalization="instance", conditional=False
    ... ).input_shape
    (None, 64, 64, 3)
    """
    height, width, channels = input_shape
    head = PatchGANHead(filters, num_layers=num_layers, normalization=normalization, name="head")
    if not conditional:
        if target_channels is not None:
            raise ValueError(
                "`target_channels` only applies to conditional discriminators; with "
                "conditional=False pass the judged image's shape as `input_shape`. "
                f"Received: target_channels={target_channels!r}, conditional=False"
            )
        image = keras.Input(tuple(input_shape), name="image")
        return keras.Model(image, head(image), name=name)
    target_channels = channels if target_channels is None else target_channels
    source = keras.Input(tuple(input_shape), name="source")
    image = keras.Input((height, width, target_channels), name="image")
    pair = keras.layers.Concatenate(axis=-1)([source, image])
    return keras.Model([source, image], head(pair), name=name)
