"""`GAN`: an unconditional GAN trained by plain `model.fit` on every backend."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops
from keras.src.backend import compute_output_spec

from gan_blocks import losses as losses_module
from gan_blocks.api_export import gan_blocks_export
from gan_blocks.models import input_checks
from gan_blocks.models.gan_optimizer import GANOptimizer
from gan_blocks.models.non_finite_loss_guard import NonFiniteLossGuard
from gan_blocks.trainers import get_trainer


def default_optimizer() -> keras.optimizers.Optimizer:
    """DCGAN's optimizer: Adam with learning rate 2e-4 and beta_1 = 0.5."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


def _latent_shape(latent_dim: Any) -> tuple[int, ...]:
    shape = (latent_dim,) if isinstance(latent_dim, (int, np.integer)) else latent_dim
    try:
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
class GAN(keras.Model):
    """A generator and a discriminator trained adversarially with `model.fit`.

    One `train_step` runs on TensorFlow, JAX and PyTorch: latents are drawn
    from a standard normal distribution with the model's `SeedGenerator`, the
    discriminator takes `discriminator_steps` updates, then the generator one.
    Only the gradient plumbing differs per backend (`gan_blocks.trainers`).
    `fit` logs `d_loss` and `g_loss` (epoch means) and the penalty when used.

    Args:
        generator: `keras.Model` mapping latents of shape `(batch, *latent_dim)`
            to images, ideally ending in `tanh` (images in [-1, 1]).
        discriminator: `keras.Model` mapping images to logits (no sigmoid).
        latent_dim: Size (int) or shape (tuple) of one latent vector.
        discriminator_steps: Discriminator updates per generator update (on the
            same real batch), e.g. 5 for WGAN-GP.
        generator_ema: Decay of an exponential moving average of the generator
            weights (e.g. 0.999), kept in `ema_generator` and used by `generate`
            and `call`; `None` disables it.
        augmentation: Optional differentiable Keras layer (or model) applied to
            real and generated images before the discriminator (DiffAugment).
        seed: Seed of the model's `SeedGenerator` (latents, label noise,
            interpolation); same seed and data give the same training run.
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
        super().__init__(**kwargs)
        if not isinstance(discriminator_steps, (int, np.integer)) or discriminator_steps < 1:
            raise ValueError(
                "`discriminator_steps` must be an int >= 1. "
                f"Received: discriminator_steps={discriminator_steps!r}"
            )
        if generator_ema is not None and not 0.0 <= float(generator_ema) < 1.0:
            raise ValueError(
                "`generator_ema` must be a decay in [0, 1) (e.g. 0.999) or None. "
                f"Received: generator_ema={generator_ema!r}"
            )
        for name, player in (
            ("generator", generator),
            ("discriminator", discriminator),
        ):
            if not isinstance(player, keras.layers.Layer):
                raise TypeError(
                    f"`{name}` must be a keras.Model (or keras.layers.Layer). "
                    f"Received: {name}={player!r} of type {type(player).__name__}"
                )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.latent_shape = _latent_shape(latent_dim)
        self.discriminator_steps = int(discriminator_steps)
        self.generator_ema = None if generator_ema is None else float(generator_ema)
        self.augmentation = augmentation
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed")
        self.image_shape = self._build_players()
        self.ema_generator = self._make_ema_generator() if generator_ema is not None else None
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.penalty_tracker = None
        # Extra generator terms to log (e.g. Pix2Pix's "l1_loss"), by name.
        self.generator_term_trackers = []
        self.adversarial_loss = None
        self.penalty = None
        self.built = True

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
            image_spec = compute_output_spec(self.generator, self._generator_inputs_spec())
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
            compute_output_spec(self.discriminator, self._discriminator_inputs_spec(image_spec))
        except Exception as error:
            raise ValueError(
                f"Could not call the discriminator on generated images of shape "
                f"{(None,) + image_shape}: {error}"
            ) from error
        if self.augmentation is not None:
            compute_output_spec(self.augmentation, image_spec)
        return image_shape

    def _make_ema_generator(self) -> keras.Model:
        try:
            ema = keras.models.clone_model(self.generator)
        except Exception:
            ema = self.generator.__class__.from_config(self.generator.get_config())

        compute_output_spec(ema, self._generator_inputs_spec())
        ema.set_weights(self.generator.get_weights())
        ema.trainable = False
        return ema

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer | str | None = None,
        discriminator_optimizer: keras.optimizers.Optimizer | str | None = None,
        loss: Any = "non_saturating",
        penalty: Any = None,
        jit_compile: bool | str = "auto",
        **kwargs: Any,
    ) -> None:
        """Configures both optimizers, the adversarial loss and a penalty.

        Args:
            generator_optimizer: Optimizer (or name) of the generator. Default:
                DCGAN's `Adam(2e-4, beta_1=0.5)`.
            discriminator_optimizer: Optimizer (or name) of the discriminator,
                a distinct object. Default: `Adam(2e-4, beta_1=0.5)`.
            loss: Adversarial loss name (see `gb.registry.names("loss")`) or
                `gb.losses.AdversarialLoss`.
            penalty: `None`, `"gradient_penalty"`, `"r1"` or a
                `gb.losses.Penalty` added to the discriminator loss.
            jit_compile: `"auto"` resolves as in `keras.Model.compile`: XLA on
                JAX and on TensorFlow with a GPU/TPU when every layer supports
                it; no XLA on CPU-only TensorFlow (oneDNN measured faster in
                `benchmarks/throughput.py`) or under a `tf.distribute`
                strategy; eager on torch.
            **kwargs: Passed to `keras.Model.compile` (e.g.
                `steps_per_execution`, `run_eagerly`).
        """
        for key in ("optimizer", "metrics", "loss_weights"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"GAN.compile does not take `{key}`; pass generator_optimizer "
                    "and discriminator_optimizer instead."
                )
            kwargs.pop(key, None)
        generator_optimizer = keras.optimizers.get(generator_optimizer or default_optimizer())
        discriminator_optimizer = keras.optimizers.get(
            discriminator_optimizer or default_optimizer()
        )
        if generator_optimizer is discriminator_optimizer:
            raise ValueError(
                "generator_optimizer and discriminator_optimizer must be two distinct "
                "optimizer objects (each keeps its own state). Received the same "
                "object twice."
            )
        self._compile_arguments = {
            "generator_optimizer": generator_optimizer,
            "discriminator_optimizer": discriminator_optimizer,
            "loss": loss,
            "penalty": penalty,
            "jit_compile": jit_compile,
        }
        if self.dtype_policy.name == "mixed_float16":
            # Keras would wrap only `model.optimizer`; both players need scaling.
            generator_optimizer = _loss_scaled(generator_optimizer)
            discriminator_optimizer = _loss_scaled(discriminator_optimizer)
        self.adversarial_loss = losses_module.get(loss)
        self.penalty = losses_module.get_penalty(penalty)
        if self.penalty is not None:
            self.penalty_tracker = keras.metrics.Mean(name=self.penalty.name)
        else:
            self.penalty_tracker = None
        optimizer = GANOptimizer(generator_optimizer, discriminator_optimizer)
        optimizer.set_variable_groups(
            self.generator_trainable_variables(),
            self.discriminator_trainable_variables(),
        )
        optimizer.build([])
        super().compile(
            optimizer=optimizer,
            jit_compile=jit_compile,
            auto_scale_loss=False,
            **kwargs,
        )

    def generator_trainable_variables(self) -> list:
        """Variables the generator's optimizer updates."""
        return list(self.generator.trainable_variables)

    def discriminator_trainable_variables(self) -> list:
        """Variables the discriminator's optimizer updates."""
        variables = list(self.discriminator.trainable_variables)
        if self.augmentation is not None:
            variables += list(self.augmentation.trainable_variables)
        return variables

    @property
    def generator_optimizer(self) -> keras.optimizers.Optimizer | None:
        """The generator's optimizer (after `compile`)."""
        return getattr(self.optimizer, "generator_optimizer", None)

    @property
    def discriminator_optimizer(self) -> keras.optimizers.Optimizer | None:
        """The discriminator's optimizer (after `compile`)."""
        return getattr(self.optimizer, "discriminator_optimizer", None)

    def get_compile_config(self) -> dict[str, Any]:
        arguments = getattr(self, "_compile_arguments", None)
        if not self.compiled or arguments is None:
            return {}
        config = {
            "generator_optimizer": keras.saving.serialize_keras_object(
                arguments["generator_optimizer"]
            ),
            "discriminator_optimizer": keras.saving.serialize_keras_object(
                arguments["discriminator_optimizer"]
            ),
            "loss": losses_module.serialize(self.adversarial_loss),
            "penalty": losses_module.serialize(self.penalty),
            "jit_compile": arguments["jit_compile"],
        }
        if self.steps_per_execution != 1:
            config["steps_per_execution"] = self.steps_per_execution
        return config

    def compile_from_config(self, config: dict[str, Any]) -> None:
        config = dict(config)
        for key in (
            "generator_optimizer",
            "discriminator_optimizer",
            "loss",
            "penalty",
        ):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    # ------------------------------------------------------------- the math
    @property
    def metrics(self) -> list:
        trackers = [self.d_loss_tracker, self.g_loss_tracker]
        if self.penalty_tracker is not None:
            trackers.append(self.penalty_tracker)
        return trackers + list(self.generator_term_trackers)

    def sample_latents(self, batch_size: Any) -> Any:
        """Draws standard-normal latents with the model's seed generator.

        Args:
            batch_size: Number of latent vectors.

        Returns:
            Tensor of shape `(batch_size, *latent_shape)`.
        """

        def draw(size: Any) -> Any:
            return keras.random.normal((size,) + self.latent_shape, seed=self.seed_generator)

        # Under tf.distribute each replica must draw its own share of the
        # global batch's latents (replicas share the seed state).
        replica_share = getattr(get_trainer(), "replica_share", None)
        if replica_share is None:
            return draw(batch_size)
        return replica_share(draw, batch_size)

    def unpack_data(self, data: Any) -> tuple[Any, Any]:
        """Splits a batch from `fit` into `(images, condition)`."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(x, (list, tuple)):
            x = x[0]
        return x, None

    def _check_images(self, images: Any) -> None:
        shape = tuple(images.shape[1:])
        compatible = len(shape) == len(self.image_shape) and all(
            a is None or b is None or a == b for a, b in zip(shape, self.image_shape)
        )
        if not compatible:
            raise ValueError(
                f"Expected real images of shape (batch, {', '.join(map(str, self.image_shape))}) "
                f"to match the generator's output, but received a batch of shape "
                f"{tuple(images.shape)}."
            )

    def run_generator(self, latents: Any, condition: Any, training: bool) -> Any:
        """Calls the generator (overridden by conditional models)."""
        return self.generator(latents, training=training)

    def run_discriminator(self, images: Any, condition: Any) -> Any:
        """Calls the discriminator in training mode, after augmentation."""
        if self.augmentation is not None:
            images = self.augmentation(images, training=True)
        return self.discriminator(images, training=True)

    def discriminator_objective(self, real_images: Any, condition: Any) -> tuple[Any, dict]:
        """The discriminator's loss on one batch, plus terms to log."""
        batch_size = ops.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        fake_images = ops.stop_gradient(self.run_generator(latents, condition, training=True))
        real_logits = self.run_discriminator(real_images, condition)
        fake_logits = self.run_discriminator(fake_images, condition)
        loss = self.adversarial_loss.discriminator_loss(
            real_logits, fake_logits, seed=self.seed_generator
        )
        aux = {}
        if self.penalty is not None:
            value = self.penalty(
                lambda images: self.run_discriminator(images, condition),
                real_images,
                fake_images,
                seed=self.seed_generator,
            )
            loss = loss + value
            aux["penalty"] = value
        return loss, aux

    def generator_objective(self, real_images: Any, condition: Any) -> tuple[Any, dict]:
        """The generator's loss on one batch, plus terms to log."""
        batch_size = ops.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        fake_images = self.run_generator(latents, condition, training=True)
        fake_logits = self.run_discriminator(fake_images, condition)
        real_logits = None
        if getattr(self.adversarial_loss, "requires_real_logits_for_generator", False):
            real_logits = ops.stop_gradient(self.run_discriminator(real_images, condition))
        return self.adversarial_loss.generator_loss(fake_logits, real_logits), {}

    def optimization_step(self, data: Any, minimize: Any) -> dict:
        """One training step, written once for all backends.

        Args:
            data: A batch as produced by `fit`.
            minimize: The backend's `minimize(loss_fn, variables, optimizer)`
                from `gan_blocks.trainers`.

        Returns:
            The logs dict (`d_loss`, `g_loss`, ...).
        """
        real_images, condition = self.unpack_data(data)
        self._check_images(real_images)
        real_images = ops.convert_to_tensor(real_images)
        if not keras.backend.is_float_dtype(real_images.dtype):
            real_images = ops.cast(real_images, "float32")
        for _ in range(self.discriminator_steps):
            d_loss, d_aux = minimize(
                lambda: self.discriminator_objective(real_images, condition),
                self.discriminator_trainable_variables(),
                self.optimizer.discriminator_optimizer,
            )
        g_loss, g_aux = minimize(
            lambda: self.generator_objective(real_images, condition),
            self.generator_trainable_variables(),
            self.optimizer.generator_optimizer,
        )
        if self.ema_generator is not None:
            self.update_ema_generator()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        if self.penalty_tracker is not None:
            self.penalty_tracker.update_state(d_aux["penalty"])
        for tracker in self.generator_term_trackers:
            tracker.update_state(g_aux[tracker.name])
        return {metric.name: metric.result() for metric in self.metrics}

    def update_ema_generator(self) -> None:
        """Moves the EMA generator's weights towards the generator's."""
        decay = self.generator_ema
        for ema_variable, variable in zip(self.ema_generator.weights, self.generator.weights):
            if variable.trainable and keras.backend.is_float_dtype(variable.dtype):
                ema_variable.assign(
                    decay * ema_variable + (1.0 - decay) * ops.cast(variable, ema_variable.dtype)
                )
            else:
                ema_variable.assign(variable)

    def train_step(self, *args: Any) -> Any:
        return get_trainer().train_step(self, *args)

    def test_step(self, *args: Any) -> Any:
        raise NotImplementedError(
            "GAN models have no validation loss; evaluate samples with "
            "gb.metrics (FID/KID) or gb.callbacks instead of `evaluate`."
        )

    # ------------------------------------------------------------ public API
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        *args: Any,
        callbacks: Any = None,
        **kwargs: Any,
    ) -> Any:
        """`keras.Model.fit`, after checking the data and adding a NaN guard.

        Args:
            x: Real images (numpy array, `tf.data.Dataset`, `PyDataset`), scaled
                to [-1, 1].
            y: Unused for `GAN` (labels for `ConditionalGAN`).
            *args: Passed to `keras.Model.fit`.
            callbacks: Keras callbacks.
            **kwargs: Passed to `keras.Model.fit`.

        Returns:
            A `History` whose `history` has `d_loss` and `g_loss`.
        """
        if not self.compiled:
            raise RuntimeError(
                "Call `compile(generator_optimizer, discriminator_optimizer)` before `fit`."
            )
        self.check_training_data(x, y)
        callbacks = list(callbacks or [])
        callbacks.append(NonFiniteLossGuard(tuple(m.name for m in self.metrics)))
        return super().fit(x, y, *args, callbacks=callbacks, **kwargs)

    def check_training_data(self, x: Any, y: Any) -> None:
        """Raises early, with advice, on images outside [-1, 1] or of the wrong shape."""
        sample = input_checks.peek_batch(x)
        if sample is not None:
            if sample.ndim >= 1:
                self._check_images(sample)
            input_checks.check_image_range(sample)

    def _select_generator(self, use_ema: bool = True) -> keras.Model:
        if use_ema and self.ema_generator is not None:
            return self.ema_generator
        return self.generator

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Generates images from latents (with the EMA generator if enabled)."""
        generator = self.generator if training else self._select_generator()
        return generator(inputs, training=training)

    def _latents(self, num_samples: int | None, latents: Any, seed: int | None) -> Any:
        if latents is not None:
            latents = ops.convert_to_tensor(latents, dtype="float32")
            if tuple(latents.shape[1:]) != self.latent_shape:
                raise ValueError(
                    f"Expected latents of shape (n, {', '.join(map(str, self.latent_shape))}) "
                    f"for latent_dim={self.latent_dim!r}; received shape {tuple(latents.shape)}."
                )
            return latents
        num_samples = 16 if num_samples is None else int(num_samples)
        if num_samples < 1:
            raise ValueError(f"`num_samples` must be >= 1. Received: num_samples={num_samples}")
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        return keras.random.normal((num_samples,) + self.latent_shape, seed=int(seed))

    def generate(
        self,
        num_samples: int | None = None,
        latents: Any = None,
        seed: int | None = None,
        batch_size: int = 256,
        use_ema: bool = True,
    ) -> np.ndarray:
        """Generates images as a numpy array.

        Args:
            num_samples: Number of images (default 16) when `latents` is None.
            latents: Explicit latents of shape `(n, *latent_shape)`.
            seed: Seed for the latents; the same seed gives the same images.
                Does not touch the training seed state.
            batch_size: Generator batch size.
            use_ema: Use the EMA generator when the model has one.

        Returns:
            Numpy array of images, shape `(n, *image_shape)`.
        """
        latents = self._latents(num_samples, latents, seed)
        generator = self._select_generator(use_ema)
        outputs = []
        total = int(latents.shape[0])
        for start in range(0, total, batch_size):
            batch = latents[start : start + batch_size]
            outputs.append(ops.convert_to_numpy(generator(batch, training=False)))
        return np.concatenate(outputs, axis=0).astype("float32")

    # ---------------------------------------------------------------- saving
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim,
            discriminator_steps=self.discriminator_steps,
            generator_ema=self.generator_ema,
            augmentation=keras.saving.serialize_keras_object(self.augmentation)
            if self.augmentation is not None
            else None,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> GAN:
        config = dict(config)
        for key in ("generator", "discriminator", "augmentation"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(
                    config[key], custom_objects=custom_objects
                )
        if isinstance(config.get("latent_dim"), list):
            config["latent_dim"] = tuple(config["latent_dim"])
        return cls(**config)

    def _seed_states(self) -> list:
        states, seen = [], set()
        for layer in self._flatten_layers(include_self=True):
            for generator in getattr(layer, "_seed_generators", []):
                if id(generator.state) not in seen:
                    seen.add(id(generator.state))
                    states.append(generator.state)
        return states

    def save_own_variables(self, store: Any) -> None:
        super().save_own_variables(store)
        # Keras does not save SeedGenerator states; an exact resume needs them.
        for index, state in enumerate(self._seed_states()):
            store[f"seed_state_{index}"] = state

    def load_own_variables(self, store: Any) -> None:
        own = {k: store[k] for k in store.keys() if not str(k).startswith("seed_state_")}
        super().load_own_variables(own)
        for index, state in enumerate(self._seed_states()):
            key = f"seed_state_{index}"
            if key in store.keys():
                state.assign(store[key])


def _loss_scaled(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)
