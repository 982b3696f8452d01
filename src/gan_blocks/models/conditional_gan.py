"""`ConditionalGAN`: a class-conditional GAN trained on `(images, labels)`."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.models import input_checks
from gan_blocks.models.adversarial_model import DEFAULT_BATCH_SIZE
from gan_blocks.models.gan import GAN


def _label_shape(model: keras.layers.Layer) -> tuple:
    inputs = getattr(model, "inputs", None)
    if inputs and len(inputs) >= 2:
        return tuple(inputs[1].shape[1:])
    return ()


@gan_blocks_export()
class ConditionalGAN(GAN):
    """A class-conditional GAN (Mirza & Osindero 2014) trained with `fit`.

    The generator is called on `[latents, labels]` and the discriminator on
    `[images, labels]`, with integer class labels (shape `(batch,)` or
    `(batch, 1)`, following the models' label inputs). Generated images in a
    discriminator step use the real batch's labels. Everything else (losses,
    penalties, EMA, saving, backends) is as in `GAN`.

    Args:
        generator: Model taking `[latents, labels]`, returning images.
        discriminator: Model taking `[images, labels]`, returning logits.
        latent_dim: Size (int) or shape (tuple) of one latent vector.
        num_classes: Number of classes; labels must lie in `[0, num_classes)`.
        **kwargs: `GAN` arguments (`discriminator_steps`, `generator_ema`,
            `augmentation`, `seed`, `name`).

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> z, y = keras.Input((4,)), keras.Input((), dtype="int32")
    >>> h = keras.layers.Concatenate()([z, keras.layers.Embedding(3, 4)(y)])
    >>> generator = keras.Model([z, y], keras.layers.Dense(2, activation="tanh")(h))
    >>> x, c = keras.Input((2,)), keras.Input((), dtype="int32")
    >>> h = keras.layers.Concatenate()([x, keras.layers.Embedding(3, 4)(c)])
    >>> discriminator = keras.Model([x, c], keras.layers.Dense(1)(h))
    >>> cgan = gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3)
    >>> cgan.compile()
    >>> images = np.random.uniform(-1, 1, (32, 2)).astype("float32")
    >>> labels = np.random.randint(0, 3, 32)
    >>> cgan.fit(images, labels, batch_size=16, verbose=0).history.keys()
    dict_keys(['d_loss', 'g_loss'])
    >>> cgan.generate(labels=[0, 1, 2], seed=0).shape
    (3, 2)

    Reference:
        Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | tuple[int, ...],
        num_classes: int,
        **kwargs: Any,
    ):
        if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
            raise ValueError(
                f"`num_classes` must be an int >= 2. Received: num_classes={num_classes!r}"
            )
        self.num_classes = int(num_classes)
        self._generator_label_shape = _label_shape(generator)
        self._discriminator_label_shape = _label_shape(discriminator)
        super().__init__(generator, discriminator, latent_dim, **kwargs)

    def _generator_inputs_spec(self) -> Any:
        return [
            keras.KerasTensor((None,) + self.latent_shape),
            keras.KerasTensor((None,) + self._generator_label_shape, dtype="int32"),
        ]

    def _discriminator_inputs_spec(self, image_spec: Any) -> Any:
        return [
            image_spec,
            keras.KerasTensor((None,) + self._discriminator_label_shape, dtype="int32"),
        ]

    def unpack_data(self, data: Any) -> tuple[Any, Any]:
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None and isinstance(x, (list, tuple)) and len(x) == 2:
            x, y = x
        if y is None:
            raise ValueError(
                "ConditionalGAN.fit needs class labels: call fit(images, labels) or "
                "pass a dataset yielding (images, labels)."
            )
        return self._real_images(x), ops.cast(ops.reshape(y, (-1,)), "int32")

    @staticmethod
    def _shaped(labels: Any, shape: tuple) -> Any:
        return ops.reshape(labels, (-1,) + shape)

    def run_generator(self, latents: Any, condition: Any, training: bool) -> Any:
        labels = self._shaped(condition, self._generator_label_shape)
        return self.generator([latents, labels], training=training)

    def run_discriminator(self, images: Any, condition: Any) -> Any:
        images = self.augment(images)
        labels = self._shaped(condition, self._discriminator_label_shape)
        return self.discriminator([images, labels], training=True)

    def check_training_data(self, x: Any, y: Any) -> None:
        super().check_training_data(x, y)
        input_checks.check_labels(input_checks.peek_labels(x, y), self.num_classes)

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Generates images from `[latents, labels]`."""
        latents, labels = inputs
        generator = self.generator if training else self._select_generator()
        labels = self._shaped(ops.cast(labels, "int32"), self._generator_label_shape)
        return generator([latents, labels], training=training)

    def generate(
        self,
        num_samples: int | None = None,
        labels: Any = None,
        latents: Any = None,
        seed: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_ema: bool = True,
    ) -> np.ndarray:
        """Generates images of the requested classes as a numpy array.

        Args:
            num_samples: Number of images when neither `labels` nor `latents`
                fix it; classes then cycle 0, 1, ..., num_classes - 1.
            labels: Integer class of each image.
            latents: Explicit latents of shape `(n, *latent_shape)`.
            seed: Seed of the latents.
            batch_size: Generator batch size.
            use_ema: Use the EMA generator when the model has one.

        Returns:
            Numpy array of images.
        """
        if labels is None:
            count = (
                int(np.shape(latents)[0])
                if latents is not None
                else (16 if num_samples is None else int(num_samples))
            )
            labels = np.arange(count) % self.num_classes
        labels = np.asarray(labels).reshape(-1)
        input_checks.check_labels(labels, self.num_classes)
        latents = self._latents(len(labels), latents, seed)
        if int(latents.shape[0]) != len(labels):
            raise ValueError(f"Got {int(latents.shape[0])} latents but {len(labels)} labels.")
        generator = self._select_generator(use_ema)
        labels = ops.convert_to_tensor(labels, "int32")
        return self.predict_in_batches(
            lambda batch: generator(
                [batch[0], self._shaped(batch[1], self._generator_label_shape)], training=False
            ),
            [latents, labels],
            batch_size,
        )

    def preview_samples(
        self, num_samples: int = 16, seed: int = 0, inputs: Any = None
    ) -> tuple[np.ndarray, int | None]:
        """Samples from fixed latents, classes cycling along each row."""
        labels = np.arange(num_samples) % self.num_classes
        latents = self.preview_latents(num_samples, seed)
        return self.generate(latents=latents, labels=labels), self.num_classes

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config
