"""StyleGAN2 generator and discriminator builders, with NVlabs' configurations as presets."""

from __future__ import annotations

import math
from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.constant_input import ConstantInput
from gan_blocks.layers.equalized_conv2d import EqualizedConv2D
from gan_blocks.layers.equalized_dense import EqualizedDense
from gan_blocks.layers.mapping_network import MappingNetwork
from gan_blocks.layers.minibatch_std_dev import MinibatchStdDev
from gan_blocks.layers.modulated_conv2d import ModulatedConv2D
from gan_blocks.layers.noise_injection import NoiseInjection
from gan_blocks.layers.projection_discriminator_output import ProjectionDiscriminatorOutput
from gan_blocks.layers.stylegan2_discriminator_block import StyleGAN2DiscriminatorBlock
from gan_blocks.layers.to_rgb import ToRGB
from gan_blocks.layers.upsample_2d import Upsample2D
from gan_blocks.validation import check_int

# NVlabs stylegan2-ada-pytorch `train.py` configurations (`cfg_specs`), plus
# widths that train on a laptop CPU. channel_base / resolution, capped at
# channel_max, is each resolution's width.
PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(latent_dim=32, w_dim=32, mapping_layers=2, channel_base=256,
                 channel_max=32, mbstd_group_size=4),
    "small": dict(latent_dim=128, w_dim=128, mapping_layers=2, channel_base=2048,
                  channel_max=128, mbstd_group_size=4),
    "cifar": dict(latent_dim=512, w_dim=512, mapping_layers=2, channel_base=32768,
                  channel_max=512, mbstd_group_size=32),
    "paper256": dict(latent_dim=512, w_dim=512, mapping_layers=8, channel_base=16384,
                     channel_max=512, mbstd_group_size=8),
    "auto": dict(latent_dim=512, w_dim=512, mapping_layers=2, channel_base=16384,
                 channel_max=512, mbstd_group_size=4),
}  # fmt: skip


def _settings(preset: str, resolution: int, **overrides: Any) -> dict[str, int]:
    if preset not in PRESETS:
        raise ValueError(f"Unknown StyleGAN2 preset {preset!r}; choose one of {sorted(PRESETS)}.")
    settings = dict(PRESETS[preset])
    if preset == "auto" and resolution >= 512:
        settings["channel_base"] = 32768
    settings.update({key: value for key, value in overrides.items() if value is not None})
    return settings


def _check_resolution(resolution: int) -> int:
    resolution = check_int("resolution", resolution, minimum=4)
    if resolution & (resolution - 1):
        raise ValueError(
            f"StyleGAN2 needs a power-of-two resolution >= 4. Received: resolution={resolution}"
        )
    return resolution


def _widths(resolution: int, channel_base: int, channel_max: int) -> dict[int, int]:
    sizes = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
    return {size: max(1, min(channel_base // size, channel_max)) for size in sizes}


def stylegan2_num_ws(resolution: int) -> int:
    """The number of styles (w rows) of a StyleGAN2 synthesis network.

    Two per resolution from 4 up to `resolution` (the 4x4 block's convolution
    and ToRGB; each further block's ToRGB shares its row with the next
    block's first convolution).

    Args:
        resolution: Output resolution (a power of two >= 4).

    Returns:
        `2 * log2(resolution) - 2`.

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.stylegan2_num_ws(32)
    8
    """
    return 2 * int(math.log2(_check_resolution(resolution))) - 2


@gan_blocks_export(kind="architecture", name="stylegan2_generator")
def stylegan2_generator(
    resolution: int,
    channels: int = 3,
    latent_dim: int | None = None,
    w_dim: int | None = None,
    mapping_layers: int | None = None,
    channel_base: int | None = None,
    channel_max: int | None = None,
    num_classes: int | None = None,
    preset: str = "auto",
    fused_modconv: bool = False,
    name: str = "stylegan2_generator",
) -> keras.Model:
    """Builds StyleGAN2's generator (config F, "skip" outputs) as a functional model.

    `z -> MappingNetwork ("mapping") -> W (batch, num_ws, w_dim) -> synthesis
    ("synthesis") -> images`. The synthesis network starts from a learned
    4x4 `ConstantInput`; each resolution up to `resolution` has two
    `ModulatedConv2D` 3x3 layers (the first up-sampling with the FIR filter),
    each followed by `NoiseInjection`, and a `ToRGB` whose output is added to
    the up-sampled (`Upsample2D`) image so far. The output is linear, images
    in about [-1, 1]. `gb.models.StyleGAN2` uses the two sub-networks for
    style mixing, truncation and the path-length regularizer.

    Presets (other arguments override them): `"auto"` (NVlabs' default:
    2-layer mapping, widths 16384 / resolution capped at 512), `"cifar"`
    (widths 512, as NVlabs' CIFAR-10 run), `"paper256"` (8-layer mapping),
    and, for CPUs, `"small"` (w 128, widths <= 128) and `"tiny"` (w 32,
    widths <= 32, for tests and examples).

    Args:
        resolution: Image side, a power of two >= 4.
        channels: Image channels.
        latent_dim: Size of z.
        w_dim: Size of w.
        mapping_layers: Layers of the mapping network.
        channel_base: Width numerator: a resolution's width is
            `min(channel_base // resolution, channel_max)`.
        channel_max: Largest width.
        num_classes: Classes of a conditional generator (the mapping network
            embeds the label; use `gb.models.ConditionalStyleGAN2`), or `None`.
        preset: `"auto"`, `"cifar"`, `"paper256"`, `"small"` or `"tiny"`.
        fused_modconv: Run every `ModulatedConv2D` and `ToRGB` as one grouped
            convolution of per-sample kernels instead of scaling the
            activations (the default: faster on the three backends on CPU,
            see the StyleGAN2 throughput table in the benchmarks page).
        name: Model name.

    Returns:
        A `keras.Model` from z `(batch, latent_dim)` (and integer labels
        `(batch,)` when conditional) to images
        `(batch, resolution, resolution, channels)`.

    Example:
    >>> import gan_blocks as gb
    >>> generator = gb.architectures.stylegan2_generator(16, channels=1, preset="tiny")
    >>> generator.output_shape
    (None, 16, 16, 1)
    >>> generator.get_layer("synthesis").input_shape
    (None, 6, 32)

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020.
    """
    resolution = _check_resolution(resolution)
    channels = check_int("channels", channels, minimum=1)
    settings = _settings(
        preset,
        resolution,
        latent_dim=latent_dim,
        w_dim=w_dim,
        mapping_layers=mapping_layers,
        channel_base=channel_base,
        channel_max=channel_max,
    )
    widths = _widths(resolution, settings["channel_base"], settings["channel_max"])
    styles = stylegan2_num_ws(resolution)
    synthesis = _synthesis_network(
        resolution, channels, settings["w_dim"], widths, styles, bool(fused_modconv)
    )
    z = keras.Input((settings["latent_dim"],), name="latents")
    mapping = MappingNetwork(
        w_dim=settings["w_dim"],
        num_layers=settings["mapping_layers"],
        num_classes=_check_classes(num_classes),
        num_ws=styles,
        name="mapping",
    )
    if num_classes is None:
        return keras.Model(z, synthesis(mapping(z)), name=name)
    labels = keras.Input((), dtype="int32", name="labels")
    return keras.Model([z, labels], synthesis(mapping([z, labels])), name=name)


def _check_classes(num_classes: int | None) -> int | None:
    return None if num_classes is None else check_int("num_classes", num_classes, minimum=2)


def _synthesis_network(
    resolution: int,
    channels: int,
    w_dim: int,
    widths: dict[int, int],
    styles: int,
    fused_modconv: bool,
) -> keras.Model:
    modulation = {"fused_modconv": fused_modconv}
    ws = keras.Input((styles, w_dim), name="ws")
    x = ConstantInput(widths[4], name="const")(ws)
    x = ModulatedConv2D(widths[4], 3, activation="leaky_relu", name="b4_conv1", **modulation)(
        [x, ws[:, 0]]
    )
    x = NoiseInjection(seed=1, name="b4_noise1")(x)
    image = ToRGB(channels, name="b4_torgb", **modulation)([x, ws[:, 1]])
    index = 1
    size = 8
    while size <= resolution:
        x = ModulatedConv2D(
            widths[size],
            3,
            upsample=True,
            activation="leaky_relu",
            name=f"b{size}_conv0",
            **modulation,
        )([x, ws[:, index]])
        x = NoiseInjection(seed=2 * index, name=f"b{size}_noise0")(x)
        x = ModulatedConv2D(
            widths[size], 3, activation="leaky_relu", name=f"b{size}_conv1", **modulation
        )([x, ws[:, index + 1]])
        x = NoiseInjection(seed=2 * index + 1, name=f"b{size}_noise1")(x)
        rgb = ToRGB(channels, name=f"b{size}_torgb", **modulation)([x, ws[:, index + 2]])
        image = keras.layers.Add(name=f"b{size}_skip")(
            [Upsample2D(name=f"b{size}_upsample")(image), rgb]
        )
        index += 2
        size *= 2
    return keras.Model(ws, image, name="synthesis")


@gan_blocks_export(kind="architecture", name="stylegan2_discriminator")
def stylegan2_discriminator(
    resolution: int,
    channels: int = 3,
    channel_base: int | None = None,
    channel_max: int | None = None,
    mbstd_group_size: int | None = None,
    num_classes: int | None = None,
    preset: str = "auto",
    name: str = "stylegan2_discriminator",
) -> keras.Model:
    """Builds StyleGAN2's residual discriminator (config F).

    A 1x1 `EqualizedConv2D` from the image, `StyleGAN2DiscriminatorBlock`s
    halving the resolution down to 4x4, then the epilogue:
    `MinibatchStdDev`, a 3x3 convolution, a dense layer and the logit
    (`EqualizedDense(1)`). Widths follow the generator's rule.

    Args:
        resolution: Image side, a power of two >= 4.
        channels: Image channels.
        channel_base: Width numerator (see `stylegan2_generator`).
        channel_max: Largest width.
        mbstd_group_size: Group size of the minibatch standard deviation.
        num_classes: Classes of a conditional discriminator: it takes
            `[images, labels]` and ends in a `ProjectionDiscriminatorOutput`
            (without spectral normalization); `None`: unconditional.
        preset: As `stylegan2_generator`'s.
        name: Model name.

    Returns:
        A `keras.Model` from images to logits `(batch, 1)`.

    Example:
    >>> import gan_blocks as gb
    >>> gb.architectures.stylegan2_discriminator(16, channels=1, preset="tiny").output_shape
    (None, 1)
    """
    resolution = _check_resolution(resolution)
    channels = check_int("channels", channels, minimum=1)
    settings = _settings(
        preset,
        resolution,
        channel_base=channel_base,
        channel_max=channel_max,
        mbstd_group_size=mbstd_group_size,
    )
    widths = _widths(resolution, settings["channel_base"], settings["channel_max"])
    images = keras.Input((resolution, resolution, channels), name="images")
    x = EqualizedConv2D(widths[resolution], 1, activation="leaky_relu", name="from_rgb")(images)
    size = resolution
    while size > 4:
        x = StyleGAN2DiscriminatorBlock(widths[size // 2], name=f"b{size}")(x)
        size //= 2
    x = MinibatchStdDev(group_size=settings["mbstd_group_size"], name="b4_mbstd")(x)
    x = EqualizedConv2D(widths[4], 3, activation="leaky_relu", name="b4_conv")(x)
    x = keras.layers.Flatten(name="b4_flatten")(x)
    x = EqualizedDense(widths[4], activation="leaky_relu", name="b4_fc")(x)
    if num_classes is None:
        return keras.Model(images, EqualizedDense(1, name="b4_out")(x), name=name)
    labels = keras.Input((), dtype="int32", name="labels")
    head = ProjectionDiscriminatorOutput(_check_classes(num_classes), spectral=False, name="b4_out")
    return keras.Model([images, labels], head([x, labels]), name=name)
