"""The models `gan-blocks train` builds: the library's recipes per `--model` and `--preset`."""

from __future__ import annotations

from typing import Any

MODEL_NAMES = ("dcgan", "sngan", "stylegan2")
# Network widths per preset. DCGAN / SN-GAN: (latent size, `filters` of the
# builders); StyleGAN2: the builders' own presets.
WIDTHS = {
    "dcgan": {"tiny": (32, 8), "small": (64, 32), "auto": (100, 64)},
    "sngan": {"tiny": (32, 8), "small": (64, 16), "auto": (100, 32)},
}
STYLEGAN2_PRESETS = ("tiny", "small", "auto", "cifar", "paper256")
PRESET_NAMES = ("tiny", "small", "auto", "cifar", "paper256")
# Learning rates of the recipes (`--lr` overrides both players').
LEARNING_RATES = {"dcgan": 2e-4, "sngan": 2e-4, "stylegan2": 0.0025}
DEFAULT_EMA_DECAY = 0.999  # DCGAN / SN-GAN generator EMA (warmed up by the model).
DEFAULT_EMA_KIMG = 10.0  # StyleGAN2's EMA half-life (NVlabs' ema_kimg).


def check_model_name(name: str) -> str:
    """Returns `name` if it is a `--model` this command trains, else raises."""
    if name not in MODEL_NAMES:
        raise ValueError(f"Unknown --model {name!r}; choose one of {', '.join(MODEL_NAMES)}.")
    return name


def check_preset(model: str, preset: str) -> str:
    """Returns `preset` if `model` has it, else raises naming the ones it has."""
    names = STYLEGAN2_PRESETS if model == "stylegan2" else tuple(WIDTHS[model])
    if preset not in names:
        raise ValueError(
            f"--model {model} has no preset {preset!r}; choose one of {', '.join(names)}."
        )
    return preset


def supported_resolution(model: str, resolution: int) -> bool:
    """Whether `model`'s builders take square images of side `resolution`."""
    if model == "stylegan2":
        return resolution >= 4 and resolution & (resolution - 1) == 0
    side, doublings = resolution, 0  # DCGAN / SN-GAN: 4..7 times a power of two, >= 8.
    while side > 7 and side % 2 == 0:
        side //= 2
        doublings += 1
    return 4 <= side <= 7 and doublings >= 1


def check_resolution(model: str, resolution: int) -> None:
    """Raises a clear error when `model` cannot generate `resolution` x `resolution` images."""
    if supported_resolution(model, resolution):
        return
    if model == "stylegan2":
        rule = "a power of two >= 4 (8, 16, 32, 64, 128, 256, ...)"
    else:
        rule = "4 to 7 times a power of two, >= 8 (8, 16, 28, 32, 48, 64, 128, ...)"
    sizes = [r for r in range(4, 1025) if supported_resolution(model, r)]
    nearest = min(sizes, key=lambda r: (abs(r - resolution), r))
    raise ValueError(
        f"--model {model} cannot generate {resolution}x{resolution} images: its side must be "
        f"{rule}. Prepare the images at a supported resolution, e.g. "
        f"`gan-blocks prepare SRC DST --resolution {nearest}`."
    )


def check_conditional(model: str, conditional: bool) -> None:
    """Refuses `--cond` for a model without a class-conditional builder (DCGAN).

    Example:
    >>> from gan_blocks.cli.train_recipes import check_conditional
    >>> check_conditional("sngan", True)
    """
    if conditional and model == "dcgan":
        raise ValueError(
            "--model dcgan has no class-conditional builder: use --model sngan or stylegan2 "
            "with --cond, or leave out --cond."
        )


def ema_setting(model: str, ema: str) -> float | None:
    """`--ema` as the model's argument, or `None` for no EMA generator.

    A decay for DCGAN / SN-GAN; a half-life in images for StyleGAN2.
    """
    text = str(ema).strip().lower()
    if text in ("off", "none", "0"):
        return None
    if model == "stylegan2":
        kimg = DEFAULT_EMA_KIMG if text == "auto" else _number("--ema", text)
        if kimg <= 0:
            raise ValueError(f"--ema for stylegan2 is a half-life in kimg > 0. Received: {ema}")
        return kimg * 1000.0
    decay = DEFAULT_EMA_DECAY if text == "auto" else _number("--ema", text)
    if not 0.0 < decay < 1.0:
        raise ValueError(
            f"--ema for {model} is a decay in (0, 1), e.g. 0.999, or 'off'. Received: {ema}"
        )
    return decay


def _number(flag: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{flag} takes 'auto', 'off' or a number. Received: {text!r}") from None


def _augmentation(augment: str, seed: int) -> Any:
    import gan_blocks as gb

    if augment == "ada":
        return gb.layers.AdaptiveAugment(seed=seed)
    if augment == "diffaugment":
        return gb.layers.DiffAugment(seed=seed)
    if augment == "none":
        return None
    raise ValueError(f"Unknown --augment {augment!r}; choose ada, diffaugment or none.")


def build_model(
    model: str,
    resolution: int,
    channels: int,
    num_classes: int | None,
    preset: str = "auto",
    augment: str = "none",
    ema: str = "auto",
    learning_rate: float | None = None,
    seed: int = 0,
    jit_compile: bool | str = "auto",
) -> Any:
    """Builds and compiles the adversarial model of a run, with the library's recipe.

    - dcgan: `dcgan_generator`/`dcgan_discriminator`, `gb.models.GAN`, the
      non-saturating loss with one-sided label smoothing 0.1, Adam(2e-4,
      beta_1=0.5) for both players (examples/dcgan.py).
    - sngan: the SN-GAN ResNet builders (conditional: conditional batch norm
      and a projection discriminator, `ConditionalGAN`), the hinge loss,
      Adam(2e-4, beta_1=0, beta_2=0.9) (the SN-GAN recipe tutorial).
    - stylegan2: the StyleGAN2 builders with `preset`, `StyleGAN2` (or
      `ConditionalStyleGAN2`) and its `compile()` recipe: lazy R1, path
      length, Adam(0.0025, 0, 0.99), EMA half-life 10 kimg.

    Initial weights follow `keras.utils.set_random_seed(seed)`; the model's
    own random draws (latents, augmentation) follow `seed`.

    Args:
        model: `"dcgan"`, `"sngan"` or `"stylegan2"`.
        resolution: Image side.
        channels: Image channels.
        num_classes: Classes of a conditional model, or `None`.
        preset: Widths: `"tiny"`, `"small"`, `"auto"` (and StyleGAN2's
            `"cifar"`, `"paper256"`).
        augment: `"ada"`, `"diffaugment"` or `"none"`.
        ema: `--ema` (see `ema_setting`).
        learning_rate: Both players' learning rate; `None`: the recipe's.
        seed: Seed of the initial weights and of the model's draws.
        jit_compile: `compile`'s `jit_compile`.

    Returns:
        The compiled model.
    """
    import keras

    import gan_blocks as gb

    check_model_name(model)
    check_preset(model, preset)
    check_resolution(model, resolution)
    check_conditional(model, num_classes is not None)
    rate = LEARNING_RATES[model] if learning_rate is None else float(learning_rate)
    if rate <= 0:
        raise ValueError(f"--lr must be > 0. Received: {learning_rate}")
    ema_value = ema_setting(model, ema)
    augmentation = _augmentation(augment, seed)
    keras.utils.set_random_seed(seed)  # The initial weights.
    shape = (resolution, resolution, channels)
    if model == "stylegan2":
        generator = gb.architectures.stylegan2_generator(
            resolution, channels, num_classes=num_classes, preset=preset
        )
        discriminator = gb.architectures.stylegan2_discriminator(
            resolution, channels, num_classes=num_classes, preset=preset
        )
        common = dict(augmentation=augmentation, seed=seed, ema_half_life=ema_value)
        if num_classes is None:
            gan = gb.models.StyleGAN2(generator, discriminator, **common)
        else:
            gan = gb.models.ConditionalStyleGAN2(generator, discriminator, num_classes, **common)
        gan.compile(learning_rate=rate, jit_compile=jit_compile)
        return gan
    latent_dim, filters = WIDTHS[model][preset]
    common = dict(generator_ema=ema_value, augmentation=augmentation, seed=seed)
    if model == "dcgan":
        generator = gb.architectures.dcgan_generator(latent_dim, shape, filters=filters)
        discriminator = gb.architectures.dcgan_discriminator(shape, filters=filters)
        gan = gb.models.GAN(generator, discriminator, latent_dim, **common)
        gan.compile(
            generator_optimizer=keras.optimizers.Adam(rate, beta_1=0.5),
            discriminator_optimizer=keras.optimizers.Adam(rate, beta_1=0.5),
            loss=gb.losses.NonSaturatingLoss(label_smoothing=0.1),
            jit_compile=jit_compile,
        )
        return gan
    generator = gb.architectures.sngan_generator(
        latent_dim, shape, filters=filters, num_classes=num_classes
    )
    discriminator = gb.architectures.sngan_discriminator(
        shape, filters=filters, num_classes=num_classes
    )
    if num_classes is None:
        gan = gb.models.GAN(generator, discriminator, latent_dim, **common)
    else:
        gan = gb.models.ConditionalGAN(generator, discriminator, latent_dim, num_classes, **common)
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(rate, beta_1=0.0, beta_2=0.9),
        discriminator_optimizer=keras.optimizers.Adam(rate, beta_1=0.0, beta_2=0.9),
        loss="hinge",
        jit_compile=jit_compile,
    )
    return gan
