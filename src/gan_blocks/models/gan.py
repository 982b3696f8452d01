"""`GAN`: an unconditional GAN trained by plain `model.fit` on every backend."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import random
from gan_blocks.latents.truncation import truncated_normal
from gan_blocks.losses.regularizer import RegularizerContext
from gan_blocks.models import input_checks
from gan_blocks.models.adversarial_model import (
    DEFAULT_BATCH_SIZE,
    AdversarialModel,
    check_player,
    default_optimizer,
    symbolic_call,
)
from gan_blocks.models.batch_helpers import check_output_fits_in_memory
from gan_blocks.validation import check_int

__all__ = ["GAN", "default_optimizer"]


def _latent_shape(latent_dim: Any) -> tuple[int, ...]:
    shape = (latent_dim,) if isinstance(latent_dim, (int, np.integer)) else latent_dim
    try:
        # Only ints: a string ("16") would otherwise be read digit by digit.
        if isinstance(shape, (str, bytes)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) for d in shape
        ):
            raise TypeError
        shape = tuple(int(d) for d in shape)
    except TypeError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise ValueError(
            "`latent_dim` must be a positive int (or a tuple of positive ints). "
            f"Received: latent_dim={latent_dim!r}"
        )
    return shape


@gan_blocks_export()
class GAN(AdversarialModel):
    """A generator and a discriminator trained adversarially with `model.fit`.

    One `train_step` runs on TensorFlow, JAX and PyTorch: latents are drawn
    from a standard normal distribution with the model's `SeedGenerator`, the
    discriminator takes `discriminator_steps` updates, then the generator one.
    Only the gradient plumbing differs per backend (`gan_blocks.trainers`).
    `fit` logs `d_loss` and `g_loss` (epoch means) and the penalty when used.

    Args:
        generator: `keras.Model` mapping latents of shape `(batch, *latent_dim)`
            to images, typically ending in `tanh` (images in [-1, 1]). `fit`
            checks the data against its final activation: values in [-1, 1]
            for tanh, [0, 1] for sigmoid, anything for a linear output.
        discriminator: `keras.Model` mapping images to logits (no sigmoid).
        latent_dim: Size (int) or shape (tuple) of one latent vector.
        discriminator_steps: Discriminator updates per generator update (on the
            same real batch), e.g. 5 for WGAN-GP.
        generator_ema: Decay of an exponential moving average of the generator
            weights (e.g. 0.999), kept in `ema_generator` and used by `generate`
            and `call`; `None` disables it. The decay warms up as
            `min(generator_ema, (1 + t) / (10 + t))` over the first generator
            updates `t`, so short runs average recent weights only.
        augmentation: Optional differentiable Keras layer (or model) applied to
            real and generated images before the discriminator (DiffAugment).
        seed: Seed of the model's `SeedGenerator`: latents, label noise and
            the interpolation of penalties draw from it, so the same seed,
            data and initial weights give the same training run. It does not
            seed the networks' initial weights (they are built before the
            GAN): call `keras.utils.set_random_seed(seed)` before building
            them for identical initial weights.
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> generator = keras.Sequential([keras.Input((8,)),
    ...     keras.layers.Dense(2, activation="tanh")])
    >>> discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> gan = gb.models.GAN(generator, discriminator, latent_dim=8, seed=0)
    >>> gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    >>> data = np.random.uniform(-1, 1, (64, 2)).astype("float32")
    >>> history = gan.fit(data, batch_size=32, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['d_loss', 'g_loss']
    >>> gan.generate(num_samples=3, seed=0).shape
    (3, 2)

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014;
        Radford et al., "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", ICLR 2016.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | tuple[int, ...],
        discriminator_steps: int = 1,
        generator_ema: float | None = None,
        augmentation: keras.layers.Layer | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            discriminator_steps=discriminator_steps,
            generator_ema=generator_ema,
            augmentation=augmentation,
            seed=seed,
            **kwargs,
        )
        check_player("generator", generator)
        check_player("discriminator", discriminator)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.latent_shape = _latent_shape(latent_dim)
        self.image_shape = self._build_players()
        self.add_ema("generator", self._generator_inputs_spec())

    # ------------------------------------------------------------------ build
    def _generator_inputs_spec(self) -> Any:
        return keras.KerasTensor((None,) + self.latent_shape)

    def _discriminator_inputs_spec(self, image_spec: Any) -> Any:
        return image_spec

    def _build_players(self) -> tuple:
        """Builds both players symbolically and checks they fit together."""
        expected = getattr(self.generator, "inputs", None)
        if expected and len(self.generator.inputs) >= 1:
            shape = tuple(self.generator.inputs[0].shape[1:])
            if shape != self.latent_shape:
                raise ValueError(
                    f"latent_dim={self.latent_dim!r} gives latents of shape "
                    f"{self.latent_shape}, but the generator expects inputs of "
                    f"shape {shape}. Pass latent_dim={shape if len(shape) > 1 else shape[0]!r} "
                    "or rebuild the generator."
                )
        try:
            image_spec = symbolic_call(self.generator, self._generator_inputs_spec())
        except Exception as error:
            raise ValueError(
                "Could not call the generator on latents of shape "
                f"{(None,) + self.latent_shape} (latent_dim={self.latent_dim!r}): "
                f"{error}"
            ) from error
        image_shape = tuple(image_spec.shape[1:])
        d_inputs = getattr(self.discriminator, "inputs", None)
        if d_inputs:
            d_shape = tuple(d_inputs[0].shape[1:])
            compatible = len(d_shape) == len(image_shape) and all(
                a is None or b is None or a == b for a, b in zip(d_shape, image_shape)
            )
            if not compatible:
                raise ValueError(
                    f"The generator produces images of shape {image_shape} but the "
                    f"discriminator expects inputs of shape {d_shape}. Make the "
                    "discriminator's input match the generator's output."
                )
        try:
            symbolic_call(self.discriminator, self._discriminator_inputs_spec(image_spec))
        except Exception as error:
            raise ValueError(
                f"Could not call the discriminator on generated images of shape "
                f"{(None,) + image_shape}: {error}"
            ) from error
        if self.augmentation is not None:
            symbolic_call(self.augmentation, image_spec)
        return image_shape

    def loss_names(self) -> list[str]:
        """`d_loss`, `g_loss`, the penalty's name when compiled with one."""
        return super().loss_names() + list(self.generator_term_names)

    # The names of extra terms the generator objective returns (none for GAN).
    generator_term_names: tuple[str, ...] = ()

    def sample_latents(self, batch_size: Any) -> Any:
        """Draws standard-normal latents with the model's seed generator.

        Args:
            batch_size: Number of latent vectors.

        Returns:
            Tensor of shape `(batch_size, *latent_shape)`.
        """
        # Under tf.distribute each replica draws its own share of the global
        # batch's latents (`gb.backend.random`: replicas share the seed state).
        return random.normal((batch_size,) + self.latent_shape, self.seed_generator)

    def unpack_data(self, data: Any) -> tuple[Any, Any]:
        """Splits a batch from `fit` into `(images, condition)`, checked and float."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(x, (list, tuple)):
            x = x[0]
        return self._real_images(x), None

    def _real_images(self, images: Any) -> Any:
        return self.as_float(self._check_images(images))

    def _check_images(self, images: Any) -> Any:
        return self.check_image_shape(
            images, self.image_shape, "real images", "the generator's output"
        )

    def run_generator(self, latents: Any, condition: Any, training: bool) -> Any:
        """Calls the generator (overridden by conditional models)."""
        return self.generator(latents, training=training)

    def run_discriminator(self, images: Any, condition: Any) -> Any:
        """Calls the discriminator in training mode, after augmentation."""
        return self.discriminator(self.augment(images), training=True)

    def discriminator_objective(self, real_images: Any, condition: Any) -> tuple[Any, dict]:
        """The discriminator's loss on one batch, plus terms to log."""
        batch_size = ops.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        fake_images = ops.stop_gradient(self.run_generator(latents, condition, training=True))
        return self.discriminator_terms(
            lambda images: self.run_discriminator(images, condition), real_images, fake_images
        )

    def generator_objective(self, real_images: Any, condition: Any) -> tuple[Any, dict]:
        """The generator's loss on one batch, plus terms to log."""
        batch_size = ops.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        fake_images = self.run_generator(latents, condition, training=True)

        def judge(images: Any) -> Any:
            return self.run_discriminator(images, condition)

        loss = self.generator_terms(judge, fake_images, real_images)
        terms, logs = self.regularize(
            RegularizerContext(
                "generator",
                network=lambda z: self.run_generator(z, condition, training=True),
                real_images=real_images,
                fake_images=fake_images,
                latents=latents,
                labels=condition,
                judge=judge,
            )
        )
        return loss + terms, logs

    # ------------------------------------------------------------ public API
    def check_training_data(self, x: Any, y: Any) -> None:
        """Raises early, with advice, on images the generator cannot produce.

        Refuses images of the wrong shape, NaN or infinite values, and values
        outside the range of the generator's final activation
        (`input_checks.check_image_range`); a numpy array is checked in full.
        """
        sample = input_checks.peek_batch(x)
        if sample is not None:
            if sample.ndim >= 1:
                self._check_images(sample)
            activation = input_checks.final_activation(self.generator)
            input_checks.check_image_range(sample, activation)

    def _select_generator(self, use_ema: bool = True) -> keras.Model:
        return self.select_network("generator", use_ema)

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Generates images from latents (with the EMA generator if enabled)."""
        generator = self.generator if training else self._select_generator()
        return generator(inputs, training=training)

    def _latents(
        self,
        num_samples: int | None,
        latents: Any,
        seed: int | None,
        truncation: float | None = None,
    ) -> Any:
        if truncation is not None and latents is not None:
            raise ValueError(
                "`truncation` resamples the latents that `generate` draws; it cannot "
                "be combined with explicit `latents` (use gb.latents.truncated_normal to "
                "draw truncated ones yourself)."
            )
        if latents is not None:
            latents = ops.convert_to_tensor(latents, dtype="float32")
            if tuple(latents.shape[1:]) != self.latent_shape:
                raise ValueError(
                    f"Expected latents of shape (n, {', '.join(map(str, self.latent_shape))}) "
                    f"for latent_dim={self.latent_dim!r}; received shape {tuple(latents.shape)}."
                )
            if latents.shape[0] == 0:
                raise ValueError(
                    "`latents` holds no rows (received shape "
                    f"{tuple(latents.shape)}): pass at least one latent vector."
                )
            return latents
        num_samples = 16 if num_samples is None else check_int("num_samples", num_samples, 1)
        check_output_fits_in_memory(num_samples, self.image_shape, self.latent_shape)
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        seed = check_int("seed", seed, minimum=0)
        if seed >= 2**31:
            raise ValueError(f"`seed` must be an int in [0, 2**31). Received: seed={seed!r}")
        shape = (num_samples,) + self.latent_shape
        if truncation is not None:
            return ops.convert_to_tensor(truncated_normal(shape, truncation, seed))
        return random.normal(shape, int(seed))

    def generate(
        self,
        num_samples: int | None = None,
        latents: Any = None,
        seed: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_ema: bool = True,
        truncation: float | None = None,
    ) -> np.ndarray:
        """Generates images as a numpy array.

        Args:
            num_samples: Number of images (default 16) when `latents` is None.
            latents: Explicit latents of shape `(n, *latent_shape)`.
            seed: Seed for the latents; the same seed gives the same images.
                Does not touch the training seed state.
            batch_size: Generator batch size.
            use_ema: Use the EMA generator when the model has one.
            truncation: BigGAN's truncation trick: latent entries beyond
                `truncation` standard deviations are redrawn, so the latents
                stay near the mode. Smaller values trade variety for fidelity
                (1.0 keeps 68% of a normal's mass; each entry's variance
                becomes `gb.latents.truncated_normal_variance(truncation)`).
                `None` draws plain normal latents.

        Returns:
            Numpy array of images, shape `(n, *image_shape)`.

        Example:
        >>> import keras, gan_blocks as gb
        >>> generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])
        >>> discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> gan = gb.models.GAN(generator, discriminator, latent_dim=8)
        >>> gan.generate(4, seed=0, truncation=0.5).shape
        (4, 2)
        """
        latents = self._latents(num_samples, latents, seed, truncation)
        generator = self._select_generator(use_ema)
        return self.predict_in_batches(
            lambda batch: generator(batch, training=False), latents, batch_size
        )

    def preview_samples(
        self, num_samples: int = 16, seed: int = 0, inputs: Any = None
    ) -> tuple[np.ndarray, int | None]:
        """Samples from fixed latents (drawn from `seed`), in a square grid."""
        return self.generate(latents=self.preview_latents(num_samples, seed)), None

    def preview_latents(self, num_samples: int, seed: int) -> np.ndarray:
        """The fixed latents of `preview_samples`: the same for the same seed."""
        shape = (int(num_samples),) + tuple(self.latent_shape)
        return np.random.default_rng(seed).normal(size=shape).astype("float32")

    # ---------------------------------------------------------------- saving
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim,
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> GAN:
        config = dict(config)
        if isinstance(config.get("latent_dim"), list):
            config["latent_dim"] = tuple(config["latent_dim"])
        return super().from_config(config, custom_objects=custom_objects)
