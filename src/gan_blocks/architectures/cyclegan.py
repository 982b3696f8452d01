"""CycleGAN builders: the ResNet generator (Zhu et al. 2017, after Johnson et al. 2016)."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.conv2d_transpose import Conv2DTranspose
from gan_blocks.layers.reflection_padding_2d import ReflectionPadding2D

UPSAMPLE_KERNEL_SIZES = (3, 4)


def _check_image_shape(image_shape: tuple) -> tuple[int, int, int]:
    shape = tuple(image_shape)
    if (
        len(shape) != 3
        or not all(isinstance(side, int) and side > 0 for side in shape)
        or shape[0] % 4
        or shape[1] % 4
        or min(shape[:2]) < 8
    ):
        raise ValueError(
            "resnet_generator needs image_shape=(height, width, channels) with height and "
            "width multiples of 4 and at least 8 (two stride-2 convolutions, then 3x3 "
            "reflection-padded residual blocks at a quarter of the resolution), e.g. "
            f"(256, 256, 3). Received: image_shape={shape!r}"
        )
    return shape


def _check_count(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")


def _conv(
    filters: int,
    kernel_size: int,
    strides: int,
    name: str,
    use_bias: bool = False,
    **kwargs: Any,
) -> keras.layers.Layer:
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        use_bias=use_bias,
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
        name=name,
        **kwargs,
    )


def _instance_norm(name: str) -> keras.layers.Layer:
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


@gan_blocks_export(kind="architecture", name="resnet_generator")
def resnet_generator(
    image_shape: tuple[int, int, int] = (256, 256, 3),
    filters: int = 64,
    num_blocks: int | None = None,
    output_channels: int | None = None,
    upsample_kernel_size: int = 3,
    name: str = "resnet_generator",
) -> keras.Model:
    """Builds CycleGAN's ResNet generator (c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3).

    Johnson et al.'s image-transformation network as CycleGAN uses it, layer
    for layer as the authors' PyTorch `ResnetGenerator`: a 7x7 convolution with
    reflection padding 3; two 3x3 stride-2 convolutions (zero padding 1)
    doubling the filters; `num_blocks` residual blocks (reflection pad 1, 3x3
    convolution, instance norm, ReLU, reflection pad 1, 3x3 convolution,
    instance norm, plus the block's input); two stride-2
    `gb.layers.Conv2DTranspose` halving the filters; and a reflection-padded
    7x7 convolution with `tanh`. Every hidden convolution is followed by
    instance normalization (`keras.layers.GroupNormalization(groups=-1,
    epsilon=1e-5)`) and ReLU; kernels start from normal(0, 0.02). The output
    has the input's height and width.

    Two deliberate differences from the reference, which compute the same
    function: the instance norm is affine (a learned scale and offset per
    channel, as in `PatchGANHead`), and the convolutions it follows have no
    bias, which the normalization would subtract again (the reference's get a
    zero gradient). Its weights load after dropping those biases, with scale 1
    and offset 0.

    The paper's upsampling kernel is 3x3 with stride 2, which the stride does
    not divide; its uneven overlap can paint checkerboard artifacts (why
    `gb.layers.DCGANUpBlock` refuses such kernels). The default keeps the
    paper's 3, aligned as PyTorch's `padding=1, output_padding=1`;
    `upsample_kernel_size=4` is the evenly overlapping alternative with the
    same output size.

    Args:
        image_shape: `(height, width, channels)` of the input images; height
            and width multiples of 4 and at least 8.
        filters: Filters of the first convolution; the two downsampling
            convolutions have `2 * filters` and `4 * filters` (64/128/256 in
            the paper), as do the residual blocks.
        num_blocks: Residual blocks; `None` picks the paper's 6 when the
            smaller side is below 256 pixels and 9 from 256 on.
        output_channels: Channels of the translated image; defaults to the
            input's.
        upsample_kernel_size: Kernel of the two transposed convolutions: 3 (the
            paper's) or 4 (divisible by the stride).
        name: Model name.

    Returns:
        A functional `keras.Model` from images to images of the same height
        and width with values in [-1, 1].

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.resnet_generator((32, 32, 3), filters=8).output_shape
    (None, 32, 32, 3)

    Reference:
        Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
        Adversarial Networks", ICCV 2017; Johnson et al., "Perceptual Losses
        for Real-Time Style Transfer and Super-Resolution", ECCV 2016.
    """
    height, width, channels = _check_image_shape(image_shape)
    _check_count("filters", filters, 1)
    if num_blocks is None:
        num_blocks = 9 if min(height, width) >= 256 else 6
    _check_count("num_blocks", num_blocks, 0)
    output_channels = channels if output_channels is None else output_channels
    _check_count("output_channels", output_channels, 1)
    if upsample_kernel_size not in UPSAMPLE_KERNEL_SIZES:
        raise ValueError(
            f"`upsample_kernel_size` must be 3 (the paper's) or 4 (divisible by the "
            f"stride 2). Received: upsample_kernel_size={upsample_kernel_size!r}"
        )

    images = keras.Input((height, width, channels), name="images")
    x = ReflectionPadding2D(3, name="stem_pad")(images)
    x = _conv(filters, 7, 1, name="stem_conv")(x)
    x = _instance_norm("stem_norm")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for index in range(2):
        x = keras.layers.ZeroPadding2D(1, name=f"down_{index}_pad")(x)
        x = _conv(filters * 2 ** (index + 1), 3, 2, name=f"down_{index}_conv")(x)
        x = _instance_norm(f"down_{index}_norm")(x)
        x = keras.layers.ReLU(name=f"down_{index}_relu")(x)
    for index in range(num_blocks):
        prefix = f"block_{index}"
        y = ReflectionPadding2D(1, name=f"{prefix}_pad_1")(x)
        y = _conv(filters * 4, 3, 1, name=f"{prefix}_conv_1")(y)
        y = _instance_norm(f"{prefix}_norm_1")(y)
        y = keras.layers.ReLU(name=f"{prefix}_relu")(y)
        y = ReflectionPadding2D(1, name=f"{prefix}_pad_2")(y)
        y = _conv(filters * 4, 3, 1, name=f"{prefix}_conv_2")(y)
        y = _instance_norm(f"{prefix}_norm_2")(y)
        x = keras.layers.Add(name=f"{prefix}_add")([x, y])
    # A "valid" transposed convolution gives 2 * side + kernel - 2 pixels; the
    # crop keeps PyTorch's window (padding=1, output_padding=4 - kernel), so
    # the output has 2 * side pixels and the reference's alignment.
    crop = ((1, upsample_kernel_size - 3),) * 2
    for index in range(2):
        x = Conv2DTranspose(
            filters * 2 ** (1 - index),
            upsample_kernel_size,
            strides=2,
            padding="valid",
            use_bias=False,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            name=f"up_{index}_conv",
        )(x)
        x = keras.layers.Cropping2D(crop, name=f"up_{index}_crop")(x)
        x = _instance_norm(f"up_{index}_norm")(x)
        x = keras.layers.ReLU(name=f"up_{index}_relu")(x)
    x = ReflectionPadding2D(3, name="output_pad")(x)
    outputs = _conv(output_channels, 7, 1, use_bias=True, activation="tanh", name="output")(x)
    return keras.Model(images, outputs, name=name)
