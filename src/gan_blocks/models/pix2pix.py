"""`Pix2Pix`: paired image-to-image translation trained with `fit`."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.models import input_checks
from gan_blocks.models.gan import GAN


def _source_shape(generator: keras.Model) -> tuple:
    inputs = getattr(generator, "inputs", None)
    if not inputs:
        raise ValueError(
            "Pix2Pix needs a generator with a known input shape (a functional or "
            "Sequential model, e.g. gb.architectures.unet_generator)."
        )
    return tuple(inputs[0].shape[1:])


@gan_blocks_export()
class Pix2Pix(GAN):
    """Conditional GAN for paired translation (pix2pix), trained on `(source, target)`.

    The generator maps a source image to a target image; the discriminator
    sees `[source, image]` pairs and returns PatchGAN logits (e.g.
    `gb.architectures.patchgan_discriminator`). The generator minimizes the
    adversarial loss plus `l1_weight` times the mean absolute error to the
    target. `fit` logs `d_loss`, `g_loss` (the total) and `l1_loss`;
    `p2p(source)` translates. Saving, resuming and all backends work as in `GAN`.
    The generator's noise is its dropout (pix2pix has no latent input).

    Args:
        generator: Model mapping source images to target images (tanh output).
        discriminator: Model called on `[source, image]`, returning logits.
        l1_weight: Weight of the L1 term (lambda = 100 in the paper).
        **kwargs: `GAN` arguments (`discriminator_steps`, `generator_ema`,
            `augmentation`, `seed`, `name`).

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

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        l1_weight: float = 100.0,
        **kwargs: Any,
    ):
        if l1_weight < 0:
            raise ValueError(f"`l1_weight` must be >= 0. Received: l1_weight={l1_weight}")
        kwargs.pop("latent_dim", None)
        self.l1_weight = float(l1_weight)
        super().__init__(generator, discriminator, latent_dim=_source_shape(generator), **kwargs)
        self.l1_tracker = keras.metrics.Mean(name="l1_loss")
        self.generator_term_trackers = [self.l1_tracker]

    @property
    def source_shape(self) -> tuple:
        """Shape of one source image."""
        return self.latent_shape

    def _discriminator_inputs_spec(self, image_spec: Any) -> Any:
        return [keras.KerasTensor((None,) + self.source_shape), image_spec]

    def unpack_data(self, data: Any) -> tuple[Any, Any]:
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None and isinstance(x, (list, tuple)) and len(x) == 2:
            x, y = x
        if y is None:
            raise ValueError(
                "Pix2Pix.fit needs (source, target) pairs: call fit(sources, targets) or "
                "pass a dataset yielding (source, target)."
            )
        # `condition` carries the source; the "real images" are the targets.
        return y, ops.convert_to_tensor(x)

    def run_generator(self, latents: Any, condition: Any, training: bool) -> Any:
        return self.generator(condition, training=training)

    def run_discriminator(self, images: Any, condition: Any) -> Any:
        source = condition
        if self.augmentation is not None:
            images = self.augmentation(images, training=True)
        return self.discriminator([source, images], training=True)

    def generator_objective(self, real_images: Any, condition: Any) -> tuple[Any, dict]:
        fake_images = self.run_generator(None, condition, training=True)
        fake_logits = self.run_discriminator(fake_images, condition)
        real_logits = None
        if getattr(self.adversarial_loss, "requires_real_logits_for_generator", False):
            real_logits = ops.stop_gradient(self.run_discriminator(real_images, condition))
        adversarial = self.adversarial_loss.generator_loss(fake_logits, real_logits)
        l1 = ops.mean(ops.abs(ops.cast(real_images, "float32") - ops.cast(fake_images, "float32")))
        return adversarial + self.l1_weight * l1, {"l1_loss": l1}

    def sample_latents(self, batch_size: Any) -> Any:  # No latents in pix2pix.
        return None

    def check_training_data(self, x: Any, y: Any) -> None:
        if y is None and isinstance(x, (list, tuple)) and len(x) == 2:
            x, y = x
        for what, data in (("source images", x), ("target images", y)):
            sample = input_checks.peek_batch(data)
            if sample is not None:
                input_checks.check_image_range(sample, what=what)
        target = input_checks.peek_batch(y)
        if target is not None and target.ndim >= 1:
            self._check_images(target)

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Translates source images."""
        generator = self.generator if training else self._select_generator()
        return generator(inputs, training=training)

    def translate(self, source: Any, batch_size: int = 32, use_ema: bool = True) -> np.ndarray:
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
        generator = self._select_generator(use_ema)
        outputs = [
            ops.convert_to_numpy(generator(source[i : i + batch_size], training=False))
            for i in range(0, len(source), batch_size)
        ]
        return np.concatenate(outputs, axis=0).astype("float32")

    def generate(
        self,
        num_samples: int | None = None,
        latents: Any = None,
        seed: int | None = None,
        batch_size: int = 32,
        use_ema: bool = True,
    ) -> np.ndarray:
        """`translate(latents)`: pix2pix has no latent space; pass source images."""
        if latents is None:
            raise ValueError("Pix2Pix.generate needs source images: use translate(source).")
        return self.translate(latents, batch_size=batch_size, use_ema=use_ema)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("latent_dim", None)
        config["l1_weight"] = self.l1_weight
        return config
