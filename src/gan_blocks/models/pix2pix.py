"""`Pix2Pix`: paired image-to-image translation trained with `fit`."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.regularizer import RegularizerContext
from gan_blocks.models import input_checks
from gan_blocks.models.adversarial_model import (
    DEFAULT_BATCH_SIZE,
    AdversarialModel,
    check_player,
    symbolic_call,
)


def _source_shape(generator: keras.Model) -> tuple:
    inputs = getattr(generator, "inputs", None)
    if not inputs:
        raise ValueError(
            "Pix2Pix needs a generator with a known input shape (a functional or "
            "Sequential model, e.g. gb.architectures.unet_generator)."
        )
    return tuple(inputs[0].shape[1:])


@gan_blocks_export()
class Pix2Pix(AdversarialModel):
    """Conditional GAN for paired translation (pix2pix), trained on `(source, target)`.

    The generator maps a source image to a target image; the discriminator
    sees `[source, image]` pairs and returns PatchGAN logits (e.g.
    `gb.architectures.patchgan_discriminator`). The generator minimizes the
    adversarial loss plus `l1_weight` times the mean absolute error to the
    target. `fit` logs `d_loss`, `g_loss` (the total) and `l1_loss`;
    `p2p(source)` translates. Saving, resuming and all backends work as in `GAN`.
    The generator's noise is its dropout (pix2pix has no latent input).

    Args:
        generator: Model mapping source images to target images (tanh output;
            `fit` checks the targets against its final activation).
        discriminator: Model called on `[source, image]`, returning logits.
        l1_weight: Weight of the L1 term (lambda = 100 in the paper).
        discriminator_steps: Discriminator updates per generator update.
        generator_ema: Decay of an EMA of the generator's weights (used by
            `translate`), or `None`.
        augmentation: Optional differentiable layer applied to the real and
            translated images before the discriminator, each with its source
            (the same random transforms for both, so pairs stay aligned).
        seed: Seed of the model's `SeedGenerator`.
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> generator = gb.architectures.unet_generator((32, 32, 3), 3, filters=16)
    >>> discriminator = gb.architectures.patchgan_discriminator(
    ...     (32, 32, 3), filters=16, num_layers=2
    ... )
    >>> p2p = gb.models.Pix2Pix(generator, discriminator, l1_weight=100.0)
    >>> p2p.compile()
    >>> source = np.random.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    >>> history = p2p.fit(source, -source, batch_size=2, verbose=0)
    >>> sorted(history.history)
    ['d_loss', 'g_loss', 'l1_loss']
    >>> p2p.translate(source[:1]).shape
    (1, 32, 32, 3)

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017.
    """

    # A translation per input and no latents: the spread of the translations
    # follows the sources, so "collapse" (diversity of samples) does not apply.
    monitor_signals = ("discriminator_wins", "divergence")

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        l1_weight: float = 100.0,
        discriminator_steps: int = 1,
        generator_ema: float | None = None,
        augmentation: keras.layers.Layer | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        if l1_weight < 0:
            raise ValueError(f"`l1_weight` must be >= 0. Received: l1_weight={l1_weight}")
        kwargs.pop("latent_dim", None)  # Written by files of gan-blocks <= 0.1.
        super().__init__(
            discriminator_steps=discriminator_steps,
            generator_ema=generator_ema,
            augmentation=augmentation,
            seed=seed,
            **kwargs,
        )
        check_player("generator", generator)
        check_player("discriminator", discriminator)
        self.l1_weight = float(l1_weight)
        self.generator = generator
        self.discriminator = discriminator
        self.source_shape = _source_shape(generator)
        self.image_shape = self._build_players()
        self.add_ema("generator", keras.KerasTensor((None,) + self.source_shape))

    def _build_players(self) -> tuple:
        source = keras.KerasTensor((None,) + self.source_shape)
        try:
            target = symbolic_call(self.generator, source)
        except Exception as error:
            raise ValueError(
                f"Could not call the generator on source images of shape "
                f"{(None,) + self.source_shape}: {error}"
            ) from error
        try:
            symbolic_call(self.discriminator, [source, target])
        except Exception as error:
            raise ValueError(
                "Could not call the discriminator on [source, image] pairs of shapes "
                f"{(None,) + self.source_shape} and {tuple(target.shape)}: {error}"
            ) from error
        return tuple(target.shape[1:])

    def loss_names(self) -> list[str]:
        """`d_loss`, `g_loss` (adversarial + weighted L1), the penalty, `l1_loss`."""
        return super().loss_names() + ["l1_loss"]

    def unpack_data(self, data: Any) -> tuple[Any, Any]:
        """Splits a batch into `(target, source)` tensors."""
        source, target = self.unpack_pair(
            data,
            "Pix2Pix.fit needs (source, target) pairs: call fit(sources, targets) or "
            "pass a dataset yielding (source, target).",
        )
        target = self._check_targets(target)
        return self.as_float(target), ops.convert_to_tensor(source)

    def _check_targets(self, images: Any) -> Any:
        return self.check_image_shape(
            images, self.image_shape, "target images", "the generator's output"
        )

    def run_discriminator(self, images: Any, source: Any) -> Any:
        """Calls the discriminator on the augmented pair `[source, images]` in training mode.

        With an `augmentation`, the source and the image get the same random
        transforms (`augment_together`), so the pair stays aligned.
        """
        source, images = self.augment_together(source, images)
        return self.discriminator([source, images], training=True)

    def discriminator_objective(self, target: Any, source: Any) -> tuple[Any, dict]:
        """Real pairs `[source, target]` against translated pairs."""
        fake = ops.stop_gradient(self.generator(source, training=True))
        return self.discriminator_terms(
            lambda images: self.run_discriminator(images, source), target, fake
        )

    def generator_objective(self, target: Any, source: Any) -> tuple[Any, dict]:
        """Adversarial loss plus `l1_weight` times the L1 distance to the target."""
        fake = self.generator(source, training=True)

        def judge(images: Any) -> Any:
            return self.run_discriminator(images, source)

        adversarial = self.generator_terms(judge, fake, target)
        l1 = ops.mean(ops.abs(ops.cast(target, "float32") - ops.cast(fake, "float32")))
        terms, logs = self.regularize(
            RegularizerContext(
                "generator",
                network=lambda images: self.generator(images, training=True),
                real_images=target,
                fake_images=fake,
                latents=source,
                judge=judge,
            )
        )
        return adversarial + self.l1_weight * l1 + terms, {"l1_loss": l1, **logs}

    def check_training_data(self, x: Any, y: Any) -> None:
        """Raises early on targets the generator cannot produce, NaN, or wrong shapes.

        Targets must lie in the range of the generator's final activation
        ([-1, 1] for tanh); sources, which the generator only reads, must be
        finite. Sources on a pixel scale (beyond twice the targets' range,
        e.g. [0, 255] next to tanh targets) get a warning: the discriminator
        judges them next to the targets.
        """
        if y is None and isinstance(x, (list, tuple)) and len(x) == 2:
            x, y = x
        activation = input_checks.final_activation(self.generator)
        for what, data, ends_in in (
            ("source images", x, None),
            ("target images", y, activation),
        ):
            sample = input_checks.peek_batch(data)
            if sample is not None:
                input_checks.check_image_range(sample, ends_in, what=what)
        target = input_checks.peek_batch(y)
        if target is not None and target.ndim >= 1:
            self._check_targets(target)
        _warn_on_pixel_scale_sources(input_checks.peek_batch(x), activation)

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Translates source images."""
        generator = self.generator if training else self.select_network("generator")
        return generator(inputs, training=training)

    def translate(
        self, source: Any, batch_size: int = DEFAULT_BATCH_SIZE, use_ema: bool = True
    ) -> np.ndarray:
        """Translates source images (in [-1, 1]) into target images, as numpy.

        Args:
            source: Source images, shape `(n, *source_shape)`.
            batch_size: Generator batch size.
            use_ema: Use the EMA generator when the model has one.

        Returns:
            Numpy array of translated images.
        """
        source = np.asarray(source, dtype="float32")
        if tuple(source.shape[1:]) != self.source_shape:
            raise ValueError(
                f"Expected source images of shape (n, {', '.join(map(str, self.source_shape))}); "
                f"received {source.shape}."
            )
        generator = self.select_network("generator", use_ema)
        return self.predict_in_batches(
            lambda batch: generator(batch, training=False), source, batch_size
        )

    def generate(
        self,
        num_samples: int | None = None,
        source_images: Any = None,
        seed: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_ema: bool = True,
        latents: Any = None,
    ) -> np.ndarray:
        """`translate(source_images)`: pix2pix has no latent space.

        Args:
            num_samples: Ignored (one output per source image); kept so code
                written for `GAN.generate` runs.
            source_images: Source images in [-1, 1], `(n, height, width, c)`.
            seed: Ignored (the translation is deterministic).
            batch_size: Images per forward pass.
            use_ema: Whether to use the EMA generator where there is one.
            latents: Deprecated name of `source_images`.

        Returns:
            The translations as a numpy array.

        Example:
        >>> import numpy as np, gan_blocks as gb
        >>> model = gb.models.Pix2Pix(
        ...     gb.architectures.unet_generator((32, 32, 3), 3, filters=8),
        ...     gb.architectures.patchgan_discriminator((32, 32, 3), filters=8, num_layers=2))
        >>> model.generate(source_images=np.zeros((2, 32, 32, 3), "float32")).shape
        (2, 32, 32, 3)
        """
        if latents is not None:
            warnings.warn(
                "Pix2Pix.generate(latents=...) is deprecated: pix2pix has no latents; "
                "pass the source images as `source_images=` (or call translate(source)).",
                DeprecationWarning,
                stacklevel=2,
            )
            if source_images is None:
                source_images = latents
        if source_images is None:
            raise ValueError(
                "Pix2Pix.generate needs source images: generate(source_images=...) "
                "or translate(source)."
            )
        return self.translate(source_images, batch_size=batch_size, use_ema=use_ema)

    def check_preview_inputs(self, inputs: Any) -> None:
        """Previews need fixed pairs: `inputs=(sources, targets)` of one length."""
        need_pairs = (
            "Pix2Pix previews need fixed pairs: pass SampleGrid(..., inputs=(sources, targets))."
        )
        if inputs is None:
            raise ValueError(need_pairs)
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            received = (
                f"a {type(inputs).__name__} of {len(inputs)} items"
                if isinstance(inputs, (list, tuple))
                else f"one array of shape {np.shape(inputs)}"
            )
            raise ValueError(f"{need_pairs} Received {received}.")
        sources, targets = (np.shape(part) for part in inputs)
        if not sources or not targets or sources[0] != targets[0]:
            raise ValueError(
                "Pix2Pix previews need as many sources as targets in SampleGrid(..., "
                f"inputs=(sources, targets)). Received shapes {sources} and {targets}."
            )

    def preview_samples(
        self, num_samples: int = 16, seed: int = 0, inputs: Any = None
    ) -> tuple[np.ndarray, int | None]:
        """Rows of source | translation | target for `inputs=(sources, targets)`."""
        self.check_preview_inputs(inputs)
        sources, targets = (np.asarray(a)[:num_samples] for a in inputs)
        outputs = self.translate(sources)
        rows = [np.stack([s, o, t]) for s, o, t in zip(sources, outputs, targets)]
        return np.concatenate(rows, axis=0), 3

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            l1_weight=self.l1_weight,
        )
        return config


def _warn_on_pixel_scale_sources(sources: Any, activation: str | None) -> None:
    """Warns when sources lie on a far larger scale than the bounded targets."""
    value_range = input_checks.output_range(activation)
    if sources is None or value_range is None:
        return
    sources = np.asarray(sources)
    if sources.dtype.kind not in "iuf" or sources.size == 0:
        return
    bound = max(abs(value_range[0]), abs(value_range[1]))
    low, high = float(np.nanmin(sources)), float(np.nanmax(sources))
    if max(abs(low), abs(high)) > 2 * bound:
        input_checks.warn(
            f"The source images range over [{low:g}, {high:g}] while the targets lie in "
            f"[{value_range[0]:g}, {value_range[1]:g}] (the generator ends in {activation}). "
            "The generator reads the sources and the discriminator judges them next to "
            "the targets: scale both the same way, e.g. `sources / 127.5 - 1` for uint8 "
            "images."
        )
