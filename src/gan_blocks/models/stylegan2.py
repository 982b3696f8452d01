"""`StyleGAN2`: a style-based generator trained with StyleGAN2's recipe by `model.fit`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import random
from gan_blocks.losses.path_length_penalty import PathLengthPenalty
from gan_blocks.losses.r1_penalty import R1Penalty
from gan_blocks.losses.regularizer import RegularizerContext
from gan_blocks.models.adversarial_model import DEFAULT_BATCH_SIZE
from gan_blocks.models.conditional_gan import ConditionalGAN
from gan_blocks.models.gan import GAN
from gan_blocks.models.styled_generation import StyledGeneration, runs_compiled, styled_generation
from gan_blocks.validation import check_int, check_number

NOISE_MODES = ("random", "const", "none")


def stylegan2_optimizer(learning_rate: float, every: int) -> keras.optimizers.Optimizer:
    """StyleGAN2's Adam (betas 0, 0.99), corrected for a lazy regularizer every `every` steps.

    Lazy regularization takes `every + 1` minibatch updates' worth of steps
    per `every` steps, so the learning rate and betas are raised to the power
    `every / (every + 1)` (NVlabs' `mb_ratio`).

    Args:
        learning_rate: The paper's learning rate (0.0025; 0.002 at 1024x1024).
        every: The interval of the player's lazy regularizer.

    Returns:
        A `keras.optimizers.Adam`.

    Example:
    >>> import gan_blocks as gb
    >>> optimizer = gb.models.stylegan2_optimizer(0.0025, every=4)
    >>> round(float(optimizer.learning_rate), 6), optimizer.beta_1
    (0.002, 0.0)
    """
    ratio = every / (every + 1.0)
    return keras.optimizers.Adam(
        learning_rate=learning_rate * ratio,
        beta_1=0.0,
        beta_2=0.99**ratio,
        epsilon=1e-8,
    )


def _find_layer(network: keras.Model, name: str, role: str) -> Any:
    try:
        return network.get_layer(name)
    except ValueError:
        raise ValueError(
            f"StyleGAN2 needs a generator with a {role} sub-network named {name!r} "
            "(gb.architectures.stylegan2_generator builds one); this generator's layers "
            f"are {[layer.name for layer in network.layers]}."
        ) from None


def _noise_layers(network: keras.Model) -> list:
    from gan_blocks.layers.noise_injection import NoiseInjection

    return [layer for layer in network._flatten_layers() if isinstance(layer, NoiseInjection)]


@contextlib.contextmanager
def noise_mode_of(network: keras.Model, noise_mode: str) -> Iterator[None]:
    """Sets every `NoiseInjection` of `network` to `noise_mode` for a `with` block."""
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"`noise_mode` must be one of {NOISE_MODES}. Received: {noise_mode!r}")
    layers = _noise_layers(network)
    previous = [layer.noise_mode for layer in layers]
    try:
        for layer in layers:
            layer.noise_mode = noise_mode
        yield
    finally:
        for layer, mode in zip(layers, previous):
            layer.noise_mode = mode


class StyleGAN2Training:
    """Mixin of `StyleGAN2` and `ConditionalStyleGAN2`: StyleGAN2 training on a base.

    The base (`GAN` or `ConditionalGAN`) supplies the data handling and the
    players' calls; this mixin maps latents to W with style mixing, runs the
    regularizers in W, derives the EMA decay from a half-life, sets
    StyleGAN2's compile defaults and generates with truncation in W.
    """

    def _init_styles(
        self,
        generator: keras.Model,
        style_mixing: float,
        ema_half_life: float | None,
        ema_rampup: float | None,
    ) -> Any:
        mapping = _find_layer(generator, "mapping", "mapping")
        _find_layer(generator, "synthesis", "synthesis")
        self.style_mixing = check_number("style_mixing", style_mixing, minimum=0.0, maximum=1.0)
        if ema_half_life is not None:
            ema_half_life = check_number("ema_half_life", ema_half_life, minimum=0.0)
        if ema_rampup is not None:
            ema_rampup = check_number("ema_rampup", ema_rampup, minimum=0.0)
        self.ema_half_life = ema_half_life
        self.ema_rampup = ema_rampup
        self.num_ws = int(mapping.num_ws or 1)
        self._images_per_step = None
        return mapping

    # ------------------------------------------------------------ networks
    def mapping_network(self, use_ema: bool = False) -> Any:
        """The trained generator's `MappingNetwork` (`use_ema=True`: the EMA copy's)."""
        return self.select_network("generator", use_ema).get_layer("mapping")

    def synthesis_network(self, use_ema: bool = False) -> Any:
        """The trained generator's synthesis network, W -> images (`use_ema=True`: EMA)."""
        return self.select_network("generator", use_ema).get_layer("synthesis")

    def styles(self, latents: Any, condition: Any = None, training: bool = True) -> Any:
        """W for `latents`, style-mixed with a second draw while training.

        Args:
            latents: z, `(batch, latent_dim)`.
            condition: Labels of a conditional mapping network, else `None`.
            training: Update the W average and mix styles.

        Returns:
            `(batch, num_ws, w_dim)`.
        """
        mapping = self.mapping_network()

        def inputs(z: Any) -> Any:
            if condition is None:
                return z
            return [z, self._shaped(condition, self._generator_label_shape)]

        ws = mapping(inputs(latents), training=training)
        if not training or self.style_mixing == 0.0 or self.num_ws < 2:
            return ws
        batch_size = ops.shape(latents)[0]
        crossover = random.randint((), 1, self.num_ws, self.seed_generator)
        mix = random.uniform((), self.seed_generator) < self.style_mixing
        crossover = ops.where(mix, crossover, self.num_ws)
        other = mapping(
            inputs(self.sample_latents(batch_size)), training=training, update_average=False
        )
        layer_index = ops.reshape(ops.arange(self.num_ws, dtype="int32"), (1, self.num_ws, 1))
        return ops.where(layer_index < ops.cast(crossover, "int32"), ws, other)

    def run_generator(self, latents: Any, condition: Any, training: bool) -> Any:
        """Maps, style-mixes (in training) and synthesises."""
        ws = self.styles(latents, condition, training=training)
        return self.synthesis_network()(ws, training=training)

    def unpack_data(self, data: Any) -> tuple[Any, Any]:
        """The base's `(images, condition)`; notes the batch size for the EMA decay."""
        images, condition = super().unpack_data(data)
        self._images_per_step = images.shape[0]
        return images, condition

    def generator_objective(self, real_images: Any, condition: Any) -> tuple[Any, dict]:
        """Adversarial loss, then the regularizers in W (the path length's space)."""
        batch_size = ops.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        ws = self.styles(latents, condition, training=True)
        synthesis = self.synthesis_network()
        fake_images = synthesis(ws, training=True)

        def judge(images: Any) -> Any:
            return self.run_discriminator(images, condition)

        loss = self.generator_terms(judge, fake_images, real_images)
        terms, logs = self.regularize(
            RegularizerContext(
                "generator",
                network=lambda w: synthesis(w, training=True),
                real_images=real_images,
                fake_images=fake_images,
                latents=ws,
                labels=condition,
                judge=judge,
            )
        )
        return loss + terms, logs

    def ema_decay(self) -> Any:
        """`0.5 ** (batch / half_life)`, the half-life ramped up with the images seen."""
        batch = self._images_per_step
        if batch is None or self.ema_half_life is None:
            return super().ema_decay()
        steps = ops.cast(self.optimizer.iterations, "float32")
        half_life = ops.convert_to_tensor(float(self.ema_half_life))
        if self.ema_rampup is not None:
            half_life = ops.minimum(half_life, steps * float(batch) * self.ema_rampup)
        return ops.power(0.5, float(batch) / ops.maximum(half_life, 1e-8))

    # ------------------------------------------------------------- compile
    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer | str | None = None,
        discriminator_optimizer: keras.optimizers.Optimizer | str | None = None,
        loss: Any = "non_saturating",
        penalty: Any = None,
        regularizers: dict[str, list] | None = None,
        r1_gamma: float | None = None,
        learning_rate: float = 0.0025,
        **kwargs: Any,
    ) -> None:
        """StyleGAN2's defaults: Adam(0, 0.99), lazy R1 and the path-length regularizer.

        Args:
            generator_optimizer: Default: `stylegan2_optimizer(learning_rate, 4)`.
            discriminator_optimizer: Default: `stylegan2_optimizer(learning_rate, 16)`.
            loss: Adversarial loss (StyleGAN2: the non-saturating logistic loss).
            penalty: A discriminator penalty replacing the default R1.
            regularizers: Replaces the defaults `{"discriminator": [R1Penalty(
                r1_gamma, every=16)], "generator": [PathLengthPenalty()]}`
                (`{}` trains without regularizers).
            r1_gamma: R1 weight; default `0.01 * (resolution / 32) ** 2`
                (NVlabs: 0.01 for CIFAR-10, 1 at 256, 10 at 1024).
            learning_rate: Learning rate of the default optimizers.
            **kwargs: `GAN.compile` arguments (`jit_compile`, ...).
        """
        if r1_gamma is None:
            r1_gamma = 0.01 * (float(self.image_shape[0]) / 32.0) ** 2
        if regularizers is None:
            regularizers = {"generator": [PathLengthPenalty()]}
            if penalty is None:
                regularizers["discriminator"] = [R1Penalty(gamma=r1_gamma, every=16)]
        super().compile(
            generator_optimizer=generator_optimizer or stylegan2_optimizer(learning_rate, 4),
            discriminator_optimizer=discriminator_optimizer
            or stylegan2_optimizer(learning_rate, 16),
            loss=loss,
            penalty=penalty,
            regularizers=regularizers,
            **kwargs,
        )

    # ------------------------------------------------------------ generate
    def _check_truncation(self, truncation_psi: float, truncation_cutoff: int | None) -> float:
        psi = check_number("truncation_psi", truncation_psi)
        if truncation_cutoff is not None and not 0 <= int(truncation_cutoff) <= self.num_ws:
            raise ValueError(
                f"`truncation_cutoff` must be in [0, num_ws={self.num_ws}]. "
                f"Received: truncation_cutoff={truncation_cutoff!r}"
            )
        return psi

    def _generate_styled(
        self,
        latents: Any,
        labels: Any,
        batch_size: int,
        use_ema: bool,
        psi: float,
        truncation_cutoff: int | None,
        noise_mode: str,
    ) -> np.ndarray:
        network = self.select_network("generator", use_ema)
        mapping, synthesis = network.get_layer("mapping"), network.get_layer("synthesis")

        def generate_batch(batch: Any) -> Any:
            if labels is None:
                ws = mapping(batch, training=False)
            else:
                z, classes = batch
                ws = mapping([z, self._shaped(classes, self._generator_label_shape)])
            if psi != 1.0:
                ws = mapping.truncate(ws, psi, truncation_cutoff)
            return synthesis(ws, training=False)

        inputs = latents if labels is None else [latents, labels]
        with noise_mode_of(synthesis, noise_mode):
            if not runs_compiled(int(latents.shape[0]), int(batch_size)):
                return self.predict_in_batches(generate_batch, inputs, batch_size)
            if labels is not None:
                shaped = self._shaped(ops.convert_to_tensor(labels), self._generator_label_shape)
                inputs = [latents, ops.convert_to_numpy(shaped)]
            key = ("generate", use_ema, psi, truncation_cutoff, noise_mode, batch_size)
            generation = styled_generation(
                self,
                key,
                lambda: StyledGeneration(
                    synthesis, mapping, psi, truncation_cutoff, conditional=labels is not None
                ),
            )
            return generation.run_in_batches(inputs, batch_size)

    def synthesize(
        self,
        ws: Any,
        noise_mode: str = "const",
        use_ema: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> np.ndarray:
        """Images of given W latents (style mixing, projection, editing).

        Args:
            ws: `(n, num_ws, w_dim)` latents (e.g. from `styles`,
                `gb.latents.project`, or rows of two latents mixed).
            noise_mode: As `generate` (`"const"`: deterministic).
            use_ema: Use the EMA generator's synthesis network.
            batch_size: Batch size.

        Returns:
            Numpy images, `(n, *image_shape)`.
        """
        ws = ops.convert_to_tensor(ws, "float32")
        synthesis = self.synthesis_network(use_ema)
        expected = tuple(synthesis.input_shape[1:])
        if tuple(ws.shape[1:]) != expected:
            raise ValueError(
                f"Expected W latents of shape (n, {expected[0]}, {expected[1]}); "
                f"received shape {tuple(ws.shape)}."
            )
        with noise_mode_of(synthesis, noise_mode):
            if not runs_compiled(int(ws.shape[0]), int(batch_size)):
                return self.predict_in_batches(
                    lambda batch: synthesis(batch, training=False), ws, batch_size
                )
            key = ("synthesize", use_ema, noise_mode, batch_size)
            generation = styled_generation(self, key, lambda: StyledGeneration(synthesis))
            return generation.run_in_batches(ops.convert_to_numpy(ws), batch_size)

    def w_average(self, use_ema: bool = True) -> np.ndarray:
        """The running mean of W that truncation moves towards, `(w_dim,)`."""
        return ops.convert_to_numpy(self.mapping_network(use_ema).w_average)

    # ---------------------------------------------------------------- saving
    def get_config(self) -> dict[str, Any]:
        """The base's config plus style mixing and the EMA half-life."""
        config = super().get_config()
        config.update(
            style_mixing=self.style_mixing,
            ema_half_life=self.ema_half_life,
            ema_rampup=self.ema_rampup,
        )
        return config


@gan_blocks_export()
class StyleGAN2(StyleGAN2Training, GAN):
    """StyleGAN2: a mapping network, a style-modulated synthesis network, `fit`-trained.

    The generator (from `gb.architectures.stylegan2_generator`) holds a
    `gb.layers.MappingNetwork` named `"mapping"` (latents z -> W, broadcast
    to one w per synthesis layer: `(batch, num_ws, w_dim)`) and a synthesis
    network named `"synthesis"` (W -> images). Training follows StyleGAN2:

    - **Style mixing**: with probability `style_mixing`, a batch's W rows
      from a random crossover layer on come from a second latent, so the
      synthesis layers do not learn that neighbouring styles correlate.
    - **The W average**: the mapping network keeps a running mean of W
      (`MappingNetwork.w_average`, beta 0.995), saved with the model, towards
      which `generate(truncation_psi=...)` truncates.
    - **Regularizers** (`compile`'s defaults): lazy R1 on the discriminator
      (every 16 steps) and the path-length regularizer on the generator
      (`gb.losses.PathLengthPenalty`, every 4, on the synthesis network in W).
    - **EMA by half-life**: the EMA generator's decay is `0.5 ** (batch /
      ema_half_life)`, with the half-life ramped up to `ema_rampup` times
      the images seen so far (NVlabs' `ema_kimg` and `ema_rampup`).

    Augmentation (`gb.layers.AdaptiveAugment` for StyleGAN2-ADA, or
    `DiffAugment`), mixed precision, the NaN guard, exact resume and the
    callbacks work as for `GAN`.

    Args:
        generator: A generator with `"mapping"` and `"synthesis"` layers.
        discriminator: Images -> logits (`gb.architectures.stylegan2_discriminator`).
        latent_dim: Size of z; default: the generator's input size.
        style_mixing: Probability of mixing two latents' styles in a batch.
        ema_half_life: Half-life of the EMA generator, in images (NVlabs'
            `ema_kimg * 1000`); `None` keeps no EMA generator.
        ema_rampup: Cap the half-life at this fraction of the images seen
            (`None`: no ramp-up).
        augmentation: Optional differentiable augmentation of the
            discriminator's inputs (e.g. `gb.layers.AdaptiveAugment()`).
        seed: Seed of the model's draws (latents, mixing, penalties).
        **kwargs: `GAN` arguments (e.g. `name`, `discriminator_steps`).

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> generator = gb.architectures.stylegan2_generator(8, channels=1, preset="tiny")
    >>> discriminator = gb.architectures.stylegan2_discriminator(8, channels=1, preset="tiny")
    >>> model = gb.models.StyleGAN2(generator, discriminator, seed=0)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    >>> sorted(model.fit(images, batch_size=8, verbose=0).history)
    ['d_loss', 'g_loss', 'path_length_penalty', 'r1_penalty']
    >>> model.generate(4, seed=0, truncation_psi=0.7).shape
    (4, 8, 8, 1)

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020; Karras et al., "Training Generative
        Adversarial Networks with Limited Data", NeurIPS 2020 (ADA).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | None = None,
        style_mixing: float = 0.9,
        ema_half_life: float | None = 10_000.0,
        ema_rampup: float | None = 0.05,
        augmentation: keras.layers.Layer | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        self._init_styles(generator, style_mixing, ema_half_life, ema_rampup)
        if latent_dim is None:
            latent_dim = int(generator.inputs[0].shape[-1])
        # The EMA decay follows from the half-life (`ema_decay`); a saved
        # config's `generator_ema` is only the switch.
        kwargs.pop("generator_ema", None)
        super().__init__(
            generator,
            discriminator,
            latent_dim,
            generator_ema=None if ema_half_life is None else 0.999,
            augmentation=augmentation,
            seed=seed,
            **kwargs,
        )

    def generate(
        self,
        num_samples: int | None = None,
        latents: Any = None,
        seed: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_ema: bool = True,
        truncation: float | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "random",
        labels: Any = None,
    ) -> np.ndarray:
        """Generates images, truncated in W towards the W average.

        Args:
            num_samples: Number of images (default 16) when `latents` is None.
            latents: Explicit z of shape `(n, latent_dim)`.
            seed: Seed of z.
            batch_size: Generator batch size.
            use_ema: Use the EMA generator when the model has one.
            truncation: Alias of `truncation_psi` (what `GAN.generate`'s
                callers and the `gan-blocks` commands pass).
            truncation_psi: `w_avg + psi * (w - w_avg)`: 1 keeps W, 0 gives
                the average image, 0.5-0.7 trades variety for fidelity.
            truncation_cutoff: Truncate only the first `cutoff` of the
                `num_ws` styles (the coarse ones); `None`: all.
            noise_mode: `"random"` (fresh per-pixel noise), `"const"` (a
                fixed noise image per layer: deterministic output) or
                `"none"`.
            labels: Unsupported (use `ConditionalStyleGAN2` for labels).

        Returns:
            Numpy array of images, `(n, *image_shape)`.
        """
        if labels is not None:
            raise ValueError(
                "This StyleGAN2 is unconditional: `labels` must be None "
                "(gb.models.ConditionalStyleGAN2 takes labels)."
            )
        psi = self._check_truncation(
            truncation if truncation is not None else truncation_psi, truncation_cutoff
        )
        latents = self._latents(num_samples, latents, seed, None)
        return self._generate_styled(
            latents, None, batch_size, use_ema, psi, truncation_cutoff, noise_mode
        )


@gan_blocks_export()
class ConditionalStyleGAN2(StyleGAN2Training, ConditionalGAN):
    """Class-conditional StyleGAN2 trained on `(images, labels)` with `fit`.

    As `StyleGAN2`, with the labels of `ConditionalGAN`: the mapping network
    embeds the class and concatenates it to z (NVlabs' conditional mapping),
    the discriminator takes `[images, labels]` (a projection head), and
    `generate(labels=...)` picks the classes. Build the players with
    `num_classes` (`gb.architectures.stylegan2_generator(..., num_classes=10)`
    and `stylegan2_discriminator(..., num_classes=10)`). Labels are checked
    as `ConditionalGAN` checks them.

    Args:
        generator: A conditional StyleGAN2 generator (`[z, labels]` -> images).
        discriminator: `[images, labels]` -> logits.
        num_classes: Number of classes; default: the mapping network's.
        latent_dim: Size of z; default: the generator's.
        style_mixing: As `StyleGAN2`.
        ema_half_life: As `StyleGAN2`.
        ema_rampup: As `StyleGAN2`.
        augmentation: As `StyleGAN2`.
        seed: As `StyleGAN2`.
        **kwargs: `ConditionalGAN` arguments.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> generator = gb.architectures.stylegan2_generator(8, 1, preset="tiny", num_classes=3)
    >>> discriminator = gb.architectures.stylegan2_discriminator(8, 1, preset="tiny", num_classes=3)
    >>> model = gb.models.ConditionalStyleGAN2(generator, discriminator, seed=0)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    >>> history = model.fit(images, np.arange(16) % 3, batch_size=8, verbose=0)
    >>> model.generate(labels=[0, 1, 2], seed=0, truncation_psi=0.5).shape
    (3, 8, 8, 1)
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        num_classes: int | None = None,
        latent_dim: int | None = None,
        style_mixing: float = 0.9,
        ema_half_life: float | None = 10_000.0,
        ema_rampup: float | None = 0.05,
        augmentation: keras.layers.Layer | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        mapping = self._init_styles(generator, style_mixing, ema_half_life, ema_rampup)
        if num_classes is None:
            num_classes = mapping.num_classes
        if num_classes is None:
            raise ValueError(
                "ConditionalStyleGAN2 needs a conditional generator: build it with "
                "gb.architectures.stylegan2_generator(..., num_classes=N)."
            )
        if latent_dim is None:
            latent_dim = int(generator.inputs[0].shape[-1])
        kwargs.pop("generator_ema", None)
        super().__init__(
            generator,
            discriminator,
            latent_dim,
            num_classes=check_int("num_classes", num_classes, minimum=2),
            generator_ema=None if ema_half_life is None else 0.999,
            augmentation=augmentation,
            seed=seed,
            **kwargs,
        )

    def generate(
        self,
        num_samples: int | None = None,
        labels: Any = None,
        latents: Any = None,
        seed: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_ema: bool = True,
        truncation: float | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "random",
    ) -> np.ndarray:
        """Generates images of the requested classes, truncated in W.

        Args:
            num_samples: Number of images when neither `labels` nor `latents`
                fix it; classes then cycle 0, 1, ..., num_classes - 1.
            labels: Integer class of each image.
            latents: Explicit z of shape `(n, latent_dim)`.
            seed: Seed of z.
            batch_size: Generator batch size.
            use_ema: Use the EMA generator when the model has one.
            truncation: Alias of `truncation_psi`.
            truncation_psi: As `StyleGAN2.generate` (towards the W average
                of all classes, as NVlabs).
            truncation_cutoff: As `StyleGAN2.generate`.
            noise_mode: As `StyleGAN2.generate`.

        Returns:
            Numpy array of images.
        """
        psi = self._check_truncation(
            truncation if truncation is not None else truncation_psi, truncation_cutoff
        )
        latents, labels = self.generation_inputs(num_samples, labels, latents, seed)
        return self._generate_styled(
            latents, labels, batch_size, use_ema, psi, truncation_cutoff, noise_mode
        )
