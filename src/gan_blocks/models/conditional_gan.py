"""`ConditionalGAN`: a class-conditional GAN trained on `(images, labels)`."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.models import input_checks
from gan_blocks.models.adversarial_model import DEFAULT_BATCH_SIZE
from gan_blocks.models.batch_helpers import check_output_fits_in_memory
from gan_blocks.models.gan import GAN
from gan_blocks.models.non_finite_loss_guard import current_values, state_variables
from gan_blocks.trainers import get_trainer
from gan_blocks.validation import check_int


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
    `(batch, 1)`, following the models' label inputs; a player whose label
    input has shape `(num_classes,)` gets one-hot rows). Generated images in a
    discriminator step use the real batch's labels. Everything else (losses,
    penalties, EMA, saving, backends) is as in `GAN`.

    `fit` takes class ids (integers, or floats holding integers) in
    `[0, num_classes)` or one-hot rows of width `num_classes`, and refuses
    anything else with one `ValueError`: every label of a numpy array is
    checked before training, and a bad label in a later batch of a dataset
    is caught inside the step (recorded in a non-trainable variable, then
    clamped so nothing crashes) and raised after that batch, on every backend.

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
        # `[found, label]`: the first bad label the step met. Kept out of
        # Keras' tracking, so files stay as before; `variables` lists it, so
        # JAX's stateless step threads it.
        label_check = keras.Variable(
            np.zeros(2, "float32"),
            trainable=False,
            dtype="float32",
            autocast=False,
            aggregation="only_first_replica",
            name="label_check",
        )
        object.__setattr__(self, "label_check", label_check)
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self._label_rank = None  # Of the last fit's labels.

    @property
    def variables(self) -> list:
        """The model's variables, with the step's bad-label record."""
        return super().variables + [self.label_check]

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
        x, y = self.unpack_pair(
            data,
            "ConditionalGAN.fit needs class labels: call fit(images, labels) or "
            "pass a dataset yielding (images, labels).",
        )
        return self._real_images(x), self._class_ids(y)

    def _class_ids(self, labels: Any) -> Any:
        """Labels of a batch as int32 class ids; records and clamps bad ones."""
        labels = ops.convert_to_tensor(labels)
        try:
            shape = tuple(labels.shape)
        except ValueError:  # Unknown rank: read as class ids.
            shape = (None,)
        if len(shape) >= 2 and shape[-1] is not None and shape[-1] > 1:
            if shape[-1] != self.num_classes:
                raise input_checks.label_error(
                    self.num_classes,
                    f"one-hot labels of width {shape[-1]} (a batch of shape {shape})",
                )
            return ops.cast(ops.reshape(ops.argmax(labels, axis=-1), (-1,)), "int32")
        flat = ops.reshape(labels, (-1,))
        valid = ops.logical_and(flat >= 0, flat < self.num_classes)
        if keras.backend.is_float_dtype(flat.dtype):
            whole = ops.logical_and(ops.isfinite(flat), ops.equal(flat, ops.floor(flat)))
            valid = ops.logical_and(valid, whole)
        self._record_bad_label(flat, valid)
        return ops.cast(ops.where(valid, flat, ops.zeros_like(flat)), "int32")

    def _record_bad_label(self, flat: Any, valid: Any) -> None:
        # A padding entry keeps argmin defined for an empty batch.
        values = ops.concatenate([ops.cast(flat, "float32"), ops.zeros((1,), "float32")])
        marks = ops.concatenate([ops.cast(valid, "int32"), ops.zeros((1,), "int32")])
        first_bad = ops.take(values, ops.argmin(marks))
        found = ops.logical_not(ops.all(valid))
        record = self.label_check.value
        new = ops.stack([ops.ones((), "float32"), first_bad])
        self.label_check.assign(ops.where(ops.logical_and(found, record[0] == 0), new, record))

    def _shaped(self, labels: Any, shape: tuple) -> Any:
        if shape == (self.num_classes,):  # A player taking one-hot rows.
            return ops.cast(ops.one_hot(labels, self.num_classes), "int32")
        return ops.reshape(labels, (-1,) + shape)

    def run_generator(self, latents: Any, condition: Any, training: bool) -> Any:
        labels = self._shaped(condition, self._generator_label_shape)
        return self.generator([latents, labels], training=training)

    def run_discriminator(self, images: Any, condition: Any) -> Any:
        images = self.augment(images)
        labels = self._shaped(condition, self._discriminator_label_shape)
        return self.discriminator([images, labels], training=True)

    def check_training_data(self, x: Any, y: Any) -> None:
        """Checks the images as `GAN` does, and every label of a numpy array."""
        super().check_training_data(x, y)
        labels = input_checks.peek_labels(x, y)
        input_checks.check_labels(labels, self.num_classes)
        if labels is not None:
            # TensorFlow would retrace the step for labels of another rank
            # (ids after one-hot rows) with a shape of unknown rank: trace anew.
            if self._label_rank not in (None, labels.ndim):
                self.train_function = None
            self._label_rank = labels.ndim

    def fit_callbacks(self) -> list:
        """The bad-label check of the step, then `GAN`'s NaN guard."""
        return [_LabelCheck(self.num_classes)] + super().fit_callbacks()

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
        truncation: float | None = None,
    ) -> np.ndarray:
        """Generates images of the requested classes as a numpy array.

        Args:
            num_samples: Number of images when neither `labels` nor `latents`
                fix it; classes then cycle 0, 1, ..., num_classes - 1.
            labels: Class of each image: ids of shape `(n,)` or `(n, 1)`, or
                one-hot rows of shape `(n, num_classes)`, as `fit` takes them.
            latents: Explicit latents of shape `(n, *latent_shape)`.
            seed: Seed of the latents.
            batch_size: Generator batch size.
            use_ema: Use the EMA generator when the model has one.
            truncation: Redraw latent entries beyond this many standard
                deviations (BigGAN's truncation trick; see `GAN.generate`).

        Returns:
            Numpy array of images.
        """
        latents, labels = self.generation_inputs(num_samples, labels, latents, seed, truncation)
        generator = self._select_generator(use_ema)
        return self.predict_in_batches(
            lambda batch: generator(
                [batch[0], self._shaped(batch[1], self._generator_label_shape)], training=False
            ),
            [latents, labels],
            batch_size,
        )

    def generation_inputs(
        self,
        num_samples: int | None,
        labels: Any,
        latents: Any,
        seed: int | None,
        truncation: float | None = None,
    ) -> tuple[Any, Any]:
        """The latents and int32 labels `generate` feeds the generator, checked.

        Without `labels`, classes cycle 0, 1, ... over `num_samples` (or the
        latents' count); labels and latents must agree in number.
        """
        if labels is None:
            count = (
                int(np.shape(latents)[0])
                if latents is not None
                else (16 if num_samples is None else check_int("num_samples", num_samples, 1))
            )
            check_output_fits_in_memory(count, self.image_shape, self.latent_shape)
            labels = np.arange(count) % self.num_classes
        labels = np.asarray(labels)
        if labels.size == 0:
            raise ValueError(
                "`labels` holds no entries: pass one class label per image to generate "
                f"(e.g. labels=[0, 1, 2]; classes 0..{self.num_classes - 1})."
            )
        # The label layouts `fit` takes: ids of shape (n,) or (n, 1), or one-hot rows.
        input_checks.check_labels(labels, self.num_classes)
        if labels.ndim > 2:
            raise ValueError(
                "`labels` must be class ids of shape (n,) or (n, 1), or one-hot rows of "
                f"shape (n, {self.num_classes}). Received shape {labels.shape}."
            )
        if labels.ndim == 2 and labels.shape[1] > 1:  # One-hot rows (checked above).
            labels = np.argmax(labels, axis=1)
        labels = labels.reshape(-1)
        latents = self._latents(len(labels), latents, seed, truncation)
        if int(latents.shape[0]) != len(labels):
            raise ValueError(f"Got {int(latents.shape[0])} latents but {len(labels)} labels.")
        return latents, ops.convert_to_tensor(labels, "int32")

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


class _LabelCheck(keras.callbacks.Callback):
    """Raises the label error after a batch in which the step met a bad label."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.async_safe = get_trainer().runs_on_accelerator()
        self._epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.model.label_check.assign(np.zeros(2, "float32"))
        # Found once per `fit`: the variables do not change while it runs.
        self._state_variables = state_variables(self.model)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        (record,) = current_values(
            self.model, [self.model.label_check], every=self._state_variables
        )
        found, label = ops.convert_to_numpy(record)
        if found:
            self.model.stop_training = True
            raise input_checks.label_error(
                self.num_classes,
                f"the label {input_checks.format_label(label)} in a training batch "
                f"(epoch {self._epoch + 1}, batch {batch + 1})",
            )
