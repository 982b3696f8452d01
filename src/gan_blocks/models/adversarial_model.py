"""`AdversarialModel`: what every adversarial model trained by `fit` shares."""

from __future__ import annotations

import dataclasses
import types
import weakref
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks import losses as losses_module
from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.regularizer import Regularizer, RegularizerContext
from gan_blocks.models import input_checks
from gan_blocks.models.adversarial_optimizer import AdversarialOptimizer
from gan_blocks.models.atomic_saving import AtomicSavingMixin
from gan_blocks.models.non_finite_loss_guard import NonFiniteLossGuard
from gan_blocks.trainers import get_trainer, resolve_auto_jit_compile

# One default for every batched inference helper (as `keras.Model.predict`).
DEFAULT_BATCH_SIZE = 32

# The log name of each group's objective; other groups log `<group>_loss`.
_GROUP_LOSS_NAMES = {"discriminator": "d_loss", "generator": "g_loss"}


def default_optimizer() -> keras.optimizers.Optimizer:
    """DCGAN's optimizer: Adam with learning rate 2e-4 and beta_1 = 0.5."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


def symbolic_call(network: Any, inputs: Any) -> Any:
    """The output spec of `network(inputs)` for `keras.KerasTensor` inputs, building it.

    A built model answers from its graph (`compute_output_spec`, no new
    nodes); an unbuilt one (a subclassed model) is called symbolically, which
    builds it.
    """
    if network.built:
        return network.compute_output_spec(inputs)
    return network(inputs)


def regularizer_name(regularizer: Any) -> str:
    """The log key of a regularizer (a plain callable logs under its type's name)."""
    return getattr(regularizer, "name", None) or type(regularizer).__name__


def check_player(name: str, player: Any) -> None:
    """Raises a clear `TypeError` unless `player` is a Keras layer or model."""
    if not isinstance(player, keras.layers.Layer):
        raise TypeError(
            f"`{name}` must be a keras.Model (or keras.layers.Layer). "
            f"Received: {name}={player!r} of type {type(player).__name__}"
        )


def mean_pairwise_distance(images: Any) -> Any:
    """Mean Euclidean distance between the distinct samples of a batch (float32 scalar)."""
    flat = ops.reshape(ops.cast(ops.stop_gradient(images), "float32"), (ops.shape(images)[0], -1))
    squares = ops.sum(ops.square(flat), axis=1)
    distances = squares[:, None] + squares[None, :] - 2.0 * ops.matmul(flat, ops.transpose(flat))
    distances = ops.sqrt(ops.maximum(distances, 0.0))
    count = ops.cast(ops.shape(flat)[0], "float32")
    return ops.sum(distances) / ops.maximum(count * (count - 1.0), 1.0)


@gan_blocks_export()
class AdversarialModel(AtomicSavingMixin, keras.Model):
    """The base of the adversarial models: players, optimizers, one training step.

    `GAN`, `ConditionalGAN`, `Pix2Pix` and `CycleGAN` are siblings on this base;
    each supplies only its inputs and objectives. The base owns:

    - **optimizer groups**: one distinct optimizer per group of players
      (`"generator"`, `"discriminator"`, or any others), carried by an
      `AdversarialOptimizer` so every one updates under JAX and is saved;
    - **the step**: `optimization_step` unpacks the batch, runs the groups in
      `update_schedule()` order (the discriminator `discriminator_steps` times,
      then the generator), each through the backend's `minimize`, then moves
      the EMA networks and the loss trackers;
    - **the augmentation point** `augment(images)`, applied to every image a
      discriminator sees;
    - **EMA** of generator networks (`add_ema("generator")` creates
      `ema_generator`), loss trackers by name, the NaN guard of `fit`, saving of
      every optimizer, seed and layer state (written to a temporary file, then
      renamed over the destination), `predict_in_batches`, and
      `preview_samples()` for `gb.callbacks.SampleGrid`.

    A subclass assigns its networks in `__init__`, then defines
    `optimizer_groups()`, `unpack_data(data)` (the batch as a tuple),
    `discriminator_objective(*batch)` and `generator_objective(*batch)` (each
    returning `(loss, logs)`), and optionally `loss_names()`,
    `preview_samples()` and `get_config()`. See the "Training step" page for a
    complete model in about 40 lines.

    Args:
        discriminator_steps: Discriminator updates per generator update (on the
            same real batch), e.g. 5 for WGAN-GP.
        generator_ema: Decay of an exponential moving average of the networks
            registered with `add_ema` (e.g. 0.999); `None` disables it. The
            decay warms up as `min(generator_ema, (1 + t) / (10 + t))` over
            the generator's first updates `t` (`ema_decay`).
        augmentation: Optional differentiable Keras layer (or model) applied to
            real and generated images before every discriminator (DiffAugment).
        seed: Seed of the model's `SeedGenerator`: the random draws of
            training (latents, label noise, image pools, interpolation
            weights of penalties). It does not touch the networks' initial
            weights, which exist before the model: for an identical run, also
            call `keras.utils.set_random_seed(seed)` before building them.
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:
    >>> import keras, gan_blocks as gb
    >>> issubclass(gb.models.GAN, gb.models.AdversarialModel)
    True
    >>> gb.models.AdversarialModel(discriminator_steps=2).discriminator_steps
    2
    """

    def __init__(
        self,
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
        if augmentation is not None and not callable(augmentation):
            raise TypeError(
                "`augmentation` must be a Keras layer or model applied to images. "
                f"Received: augmentation={augmentation!r}"
            )
        self.discriminator_steps = int(discriminator_steps)
        self.generator_ema = None if generator_ema is None else float(generator_ema)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed")
        self.augmentation = augmentation
        self._ema_names: list[tuple[str, str]] = []
        self.loss_trackers: list = []
        self.monitor_trackers: list = []
        self.adversarial_loss = None
        self.penalty = None
        self.regularizers: dict[str, list] = {}
        self.built = True

    # ------------------------------------------------------------ subclasses
    def optimizer_groups(self) -> dict[str, list]:
        """Variables of each optimizer group, in update order.

        Returns:
            Dict from group name to the variables its optimizer updates. The
            default has `"generator"` (the `generator` attribute) and
            `"discriminator"` (the `discriminator` attribute plus the
            augmentation's trainable variables).
        """
        return {
            "generator": list(self.generator.trainable_variables),
            "discriminator": list(self.discriminator.trainable_variables)
            + self.augmentation_trainable_variables(),
        }

    def augmentation_trainable_variables(self) -> list:
        """Trainable variables of the augmentation (updated with the discriminators)."""
        if self.augmentation is None:
            return []
        return list(getattr(self.augmentation, "trainable_variables", []))

    def update_schedule(self) -> list[str]:
        """Groups to update in one training step, in order.

        Returns:
            `["discriminator"] * discriminator_steps + ["generator"]` by default.
        """
        return ["discriminator"] * self.discriminator_steps + ["generator"]

    def objective(self, group: str, batch: tuple) -> tuple[Any, dict]:
        """The loss of one optimizer group on a batch, plus terms to log.

        Dispatches to `<group>_objective(*batch)` (`discriminator_objective`,
        `generator_objective`, ...).

        Args:
            group: An optimizer group name.
            batch: The tuple returned by `unpack_data`.

        Returns:
            `(loss, logs)`: a scalar tensor and a dict of scalar tensors.
        """
        method = getattr(self, f"{group}_objective", None)
        if method is None:
            raise NotImplementedError(
                f"{type(self).__name__} has an optimizer group {group!r} but no "
                f"`{group}_objective(*batch)` method returning (loss, logs)."
            )
        return method(*batch)

    def loss_names(self) -> list[str]:
        """Names logged in `History`, one loss tracker each.

        Returns:
            `d_loss`, `g_loss` (the objectives of the `"discriminator"` and
            `"generator"` groups; other groups log `<group>_loss`) and the
            name of every compiled regularizer (the penalty among them).
            Subclasses add the extra terms their objectives return in `logs`
            (e.g. `l1_loss`).
        """
        groups = dict.fromkeys(self.update_schedule())  # In update order, once each.
        names = [_GROUP_LOSS_NAMES.get(group, f"{group}_loss") for group in groups]
        for regularizers in self.regularizers.values():
            names.extend(regularizer_name(r) for r in regularizers)
        return names

    def unpack_data(self, data: Any) -> tuple:
        """Turns a batch from `fit` into the tuple the objectives take."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return (x,)

    def check_training_data(self, x: Any, y: Any) -> None:
        """Raises early, with advice, on data the model cannot train on.

        Called by `fit` before training. The default checks nothing.
        """

    # Pixel range of generated images (tanh generators), for `SampleGrid`.
    sample_value_range = (-1.0, 1.0)

    def preview_samples(
        self, num_samples: int = 16, seed: int = 0, inputs: Any = None
    ) -> tuple[np.ndarray, int | None]:
        """Images that show what the model does, for `gb.callbacks.SampleGrid`.

        Args:
            num_samples: Number of samples (or input rows) to show.
            seed: Seed of any random inputs: the same seed gives the same inputs,
                so successive grids show the same samples evolve.
            inputs: Model-specific fixed inputs (e.g. source images).

        Returns:
            `(images, columns)`: a numpy batch of images and the number of grid
            columns (`None` for a square grid).
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not define `preview_samples()`, which "
            "gb.callbacks.SampleGrid calls."
        )

    # -------------------------------------------------------------- players
    def add_ema(self, network_name: str, example_inputs: Any = None) -> None:
        """Keeps an EMA copy of the network attribute `network_name` as `ema_<name>`.

        Sets `ema_<name>` to `None` when the model has no `generator_ema`.
        `generate`-style methods use the copy; `optimization_step` moves it
        after every step.

        Args:
            network_name: Attribute name of a built network (e.g. `"generator"`).
            example_inputs: `keras.KerasTensor`(s) the network takes, used to
                build a copy that cloning leaves unbuilt (subclassed models).
        """
        ema_name = f"ema_{network_name}"
        if self.generator_ema is None:
            setattr(self, ema_name, None)
            return
        network = getattr(self, network_name)
        try:
            ema = keras.models.clone_model(network)
        except Exception:
            ema = network.__class__.from_config(network.get_config())
        if not ema.built and example_inputs is not None:
            symbolic_call(ema, example_inputs)
        ema.set_weights(network.get_weights())
        ema.trainable = False
        setattr(self, ema_name, ema)
        self._ema_names.append((ema_name, network_name))

    def select_network(self, network_name: str, use_ema: bool = True) -> keras.layers.Layer:
        """The EMA copy of a network when there is one and `use_ema`, else the network."""
        ema = getattr(self, f"ema_{network_name}", None)
        if use_ema and ema is not None:
            return ema
        return getattr(self, network_name)

    def ema_decay(self) -> Any:
        """The EMA decay of this step: `min(generator_ema, (1 + t) / (10 + t))`.

        `t` counts the generator's updates (`optimizer.iterations`, saved with
        the optimizer, so a resumed run continues the same schedule). The
        warm-up, as in `tf.train.ExponentialMovingAverage(num_updates=...)`,
        lets the average forget the random initial weights within the first
        few hundred steps: a constant 0.999 would still hold 0.999^2000 = 14%
        of them after 2,000 steps.

        Returns:
            A scalar float32 tensor.
        """
        steps = ops.cast(self.optimizer.iterations, "float32")
        return ops.minimum(self.generator_ema, (1.0 + steps) / (10.0 + steps))

    def update_ema(self) -> None:
        """Moves every EMA network's weights towards its network's (`ema_decay`)."""
        decay = self.ema_decay()
        for ema_name, network_name in self._ema_names:
            ema, network = getattr(self, ema_name), getattr(self, network_name)
            for ema_variable, variable in zip(ema.weights, network.weights):
                if variable.trainable and keras.backend.is_float_dtype(variable.dtype):
                    step_decay = ops.cast(decay, ema_variable.dtype)
                    ema_variable.assign(
                        step_decay * ema_variable
                        + (1.0 - step_decay) * ops.cast(variable, ema_variable.dtype)
                    )
                else:
                    ema_variable.assign(variable)

    def augment(self, images: Any) -> Any:
        """The one augmentation point: every image a discriminator sees passes here."""
        if self.augmentation is None:
            return images
        return self.augmentation(images, training=True)

    def adaptive_augmentations(self) -> list:
        """The layers of the augmentation that adapt to the discriminator.

        A layer adapts when it has an `update_probability(real_logits)` method
        (`gb.layers.AdaptiveAugment`); it may sit inside a `Sequential` or a
        functional model passed as `augmentation`.
        """
        found, pending = [], [self.augmentation] if self.augmentation is not None else []
        while pending:
            layer = pending.pop(0)
            if callable(getattr(layer, "update_probability", None)):
                found.append(layer)
            pending.extend(getattr(layer, "layers", []))
        return found

    def augmentation_logs(self) -> dict:
        """`augment_p` (the probability of each adaptive augmentation) for the logs.

        Returns:
            `{"augment_p": p}` for one adaptive layer, `augment_p_<layer name>`
            keys for several, `{}` without any.
        """
        layers = self.adaptive_augmentations()
        if len(layers) == 1:
            return {"augment_p": ops.convert_to_tensor(layers[0].probability)}
        return {
            f"augment_p_{layer.name}": ops.convert_to_tensor(layer.probability) for layer in layers
        }

    def discriminator_terms(self, judge: Any, real_images: Any, fake_images: Any) -> tuple:
        """The compiled adversarial loss of one discriminator, plus its penalty.

        Args:
            judge: Maps images to the discriminator's logits (augmenting them
                and adding any condition).
            real_images: Real images.
            fake_images: Generated images (without gradient to the generator).

        Returns:
            `(loss, logs)`; `logs` holds the penalty under its name when one is
            compiled (already added to `loss`).
        """
        real_logits = judge(real_images)
        # ADA's overfitting heuristic reads the logits on the (augmented) reals.
        for layer in self.adaptive_augmentations():
            layer.update_probability(real_logits)
        fake_logits = judge(fake_images)
        if self.monitoring:
            self._record_judgement(real_images, fake_images, real_logits, fake_logits)
        loss = self.adversarial_loss.discriminator_loss(
            real_logits, fake_logits, seed=self.seed_generator
        )
        context = RegularizerContext(
            "discriminator", network=judge, real_images=real_images, fake_images=fake_images
        )
        terms, logs = self.regularize(context)
        return loss + terms, logs

    def regularize(self, context: RegularizerContext) -> tuple[Any, dict]:
        """The compiled regularizers of `context.player`, summed, and each by name.

        Fills in the context's `step` (the player's optimizer's `iterations`)
        and `seed_generator`; each regularizer applies its own schedule.

        Args:
            context: A `gb.losses.RegularizerContext` of one player's step.

        Returns:
            `(total, logs)`: the sum (0.0 without regularizers) and a dict from
            each regularizer's name to its value.
        """
        regularizers = self.regularizers.get(context.player, [])
        if not regularizers:
            return 0.0, {}
        optimizer = self.group_optimizer(context.player) or self.optimizer
        context = dataclasses.replace(
            context, step=optimizer.iterations, seed_generator=self.seed_generator
        )
        total, logs = 0.0, {}
        for regularizer in regularizers:
            if isinstance(regularizer, Regularizer):
                value = regularizer(context)
            else:  # A plain callable penalty(discriminator_fn, real, fake, seed).
                value = regularizer(
                    context.network,
                    context.real_images,
                    context.fake_images,
                    seed=self.seed_generator,
                )
            total = total + value
            logs[regularizer_name(regularizer)] = value
        return total, logs

    def generator_terms(self, judge: Any, fake_images: Any, real_images: Any = None) -> Any:
        """The compiled adversarial loss of a generator whose fakes `judge` scores.

        Relativistic losses also score `real_images` (without gradient).
        """
        real_logits = None
        if getattr(self.adversarial_loss, "requires_real_logits_for_generator", False):
            real_logits = ops.stop_gradient(judge(real_images))
        return self.adversarial_loss.generator_loss(judge(fake_images), real_logits)

    @staticmethod
    def check_image_shape(images: Any, expected: tuple, what: str, source: str) -> None:
        """Raises unless `images` is a batch of `expected`-shaped images.

        Args:
            images: A batch (array or tensor).
            expected: Shape of one image (`None` entries match anything).
            what: What the images are, for the message (e.g. "real images").
            source: What fixes the shape, for the message.
        """
        shape = tuple(images.shape[1:])
        compatible = len(shape) == len(expected) and all(
            a is None or b is None or a == b for a, b in zip(shape, expected)
        )
        if not compatible:
            raise ValueError(
                f"Expected {what} of shape (batch, {', '.join(map(str, expected))}) to "
                f"match {source}, but received a batch of shape {tuple(images.shape)}."
            )

    @staticmethod
    def unpack_pair(data: Any, message: str) -> tuple[Any, Any]:
        """Splits `fit` data into its two inputs (`fit(x, y)` or `(x, y)` batches).

        Raises:
            ValueError: With `message` when the data has a single input.
        """
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None and isinstance(x, (list, tuple)) and len(x) == 2:
            x, y = x
        if y is None:
            raise ValueError(message)
        return x, y

    @staticmethod
    def as_float(images: Any) -> Any:
        """`images` as a tensor, cast to float32 unless it is floating already."""
        images = ops.convert_to_tensor(images)
        if not keras.backend.is_float_dtype(images.dtype):
            images = ops.cast(images, "float32")
        return images

    # Attributes holding the discriminators (checked for a final sigmoid by
    # `compile`); `CycleGAN` has two.
    discriminator_names: tuple[str, ...] = ("discriminator",)

    # -------------------------------------------------------------- compile
    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer | str | None = None,
        discriminator_optimizer: keras.optimizers.Optimizer | str | None = None,
        loss: Any = "non_saturating",
        penalty: Any = None,
        jit_compile: bool | str = "auto",
        regularizers: dict[str, list] | None = None,
        **kwargs: Any,
    ) -> None:
        """Configures the optimizers, the adversarial loss and regularizers.

        Each optimizer left out (`None`) defaults to DCGAN's
        `Adam(learning_rate=2e-4, beta_1=0.5)`, a new object per group. When
        some are given and others left out (e.g. only `generator_optimizer`),
        `compile` warns (Python `warnings`) naming the groups that got the
        default, since a learning rate chosen for one player is easily
        assumed to apply to both. `compile` also warns when a discriminator
        ends in a sigmoid: every gan-blocks loss takes logits.

        Args:
            generator_optimizer: Optimizer (or name) of the generator group.
                Default: DCGAN's `Adam(2e-4, beta_1=0.5)`.
            discriminator_optimizer: Optimizer (or name) of the discriminator
                group, a distinct object (one optimizer object cannot serve
                two groups or two models). Default: `Adam(2e-4, beta_1=0.5)`.
            loss: Adversarial loss name (see `gb.registry.names("loss")`) or
                `gb.losses.AdversarialLoss`.
            penalty: `None`, `"gradient_penalty"`, `"r1"` or a
                `gb.losses.Penalty` added to the discriminator loss (the
                shorthand for `regularizers={"discriminator": [penalty]}`).
            jit_compile: `"auto"` picks what is faster on the machine
                (`gan_blocks.trainers.resolve_auto_jit_compile`): XLA on JAX
                and on TensorFlow with a GPU/TPU when every layer supports it;
                on CPU-only TensorFlow, XLA when TensorFlow runs without oneDNN
                (1.8x the stock kernels for DCGAN) and no XLA with oneDNN
                (its kernels beat XLA:CPU); no XLA under a `tf.distribute`
                strategy; eager on torch.
            regularizers: Dict from a player group (`"discriminator"`,
                `"generator"`, ...) to a list of `gb.losses.Regularizer`s
                (or registered names such as `"r1"`) added to its loss, each
                logged under its name, each applying its own lazy schedule
                (`every`). E.g. `{"discriminator": [gb.losses.R1Penalty(
                gamma=10, every=16)]}`.
            **kwargs: Passed to `keras.Model.compile` (e.g.
                `steps_per_execution`, `run_eagerly`).
        """
        self.compile_groups(
            {"generator": generator_optimizer, "discriminator": discriminator_optimizer},
            loss=loss,
            penalty=penalty,
            jit_compile=jit_compile,
            regularizers=regularizers,
            **kwargs,
        )

    def compile_groups(
        self,
        optimizers: dict[str, Any],
        loss: Any = "non_saturating",
        penalty: Any = None,
        jit_compile: bool | str = "auto",
        regularizers: dict[str, list] | None = None,
        **kwargs: Any,
    ) -> None:
        """`compile` for any set of optimizer groups (what `compile` calls).

        Args:
            optimizers: Dict from each group of `optimizer_groups()` to an
                optimizer, an optimizer name or `None` (DCGAN's Adam).
            loss: Adversarial loss name or object.
            penalty: Penalty name or object, or `None`.
            jit_compile: As in `compile`.
            regularizers: As in `compile`.
            **kwargs: Passed to `keras.Model.compile`.
        """
        for key in ("optimizer", "metrics", "loss_weights"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"{type(self).__name__}.compile does not take `{key}`; pass one "
                    "optimizer per player group instead (e.g. generator_optimizer "
                    "and discriminator_optimizer)."
                )
            kwargs.pop(key, None)
        variable_groups = self.optimizer_groups()
        unknown = sorted(set(optimizers) - set(variable_groups))
        if unknown:
            raise ValueError(
                f"Optimizers given for unknown group(s) {unknown}; "
                f"{type(self).__name__} has the groups {list(variable_groups)}."
            )
        missing = [group for group in variable_groups if not optimizers.get(group)]
        if missing and len(missing) < len(variable_groups):
            input_checks.warn(
                f"{type(self).__name__}.compile got no optimizer for the group(s) "
                f"{missing}; they use DCGAN's default Adam(learning_rate=2e-4, "
                "beta_1=0.5). Pass one optimizer per group (e.g. both "
                "generator_optimizer and discriminator_optimizer) to choose them."
            )
        resolved = {
            group: keras.optimizers.get(optimizers.get(group) or default_optimizer())
            for group in variable_groups
        }
        for group, optimizer in resolved.items():
            _claim(optimizer, self, group)
        self._compile_arguments = {
            "optimizers": resolved,
            "loss": loss,
            "penalty": penalty,
            "jit_compile": jit_compile,
        }
        if self.dtype_policy.name == "mixed_float16":
            # Keras would wrap only `model.optimizer`; every player needs scaling.
            resolved = {group: _loss_scaled(opt) for group, opt in resolved.items()}
        self.adversarial_loss = losses_module.get(loss)
        self.penalty = losses_module.get_penalty(penalty)
        self._extra_regularizers = resolve_regularizers(regularizers, variable_groups)
        self.regularizers = {
            group: list(items) for group, items in self._extra_regularizers.items()
        }
        if self.penalty is not None:
            self.regularizers.setdefault("discriminator", []).insert(0, self.penalty)
        check_unique_names(self.regularizers)
        self._warn_sigmoid_discriminators()
        # A read-only mapping: Keras would track a dict of variables as the
        # model's own, and saving would then store them twice.
        self._group_variables = types.MappingProxyType(variable_groups)
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in self.loss_names()]
        optimizer = self._make_optimizer(resolved)
        optimizer.set_variable_groups(**variable_groups)
        optimizer.build([])
        if jit_compile == "auto":  # The saved config keeps "auto": machines differ.
            jit_compile = resolve_auto_jit_compile(self, kwargs.get("run_eagerly", False))
        super().compile(
            optimizer=optimizer,
            jit_compile=jit_compile,
            auto_scale_loss=False,
            **kwargs,
        )

    def _warn_sigmoid_discriminators(self) -> None:
        for name in self.discriminator_names:
            network = getattr(self, name, None)
            if network is None or input_checks.final_activation(network) != "sigmoid":
                continue
            input_checks.warn(
                f"The {name} ends in a sigmoid, but the {self.adversarial_loss.name} "
                "loss takes logits (unbounded scores, e.g. from a final Dense(1) with "
                "no activation): the sigmoid squashes them into (0, 1) and training "
                "stalls. Remove the final sigmoid."
            )

    def _make_optimizer(self, optimizers: dict) -> AdversarialOptimizer:
        if list(optimizers) == ["generator", "discriminator"]:
            from gan_blocks.models.gan_optimizer import GANOptimizer

            return GANOptimizer(optimizers["generator"], optimizers["discriminator"])
        return AdversarialOptimizer(optimizers)

    def group_optimizer(self, group: str) -> keras.optimizers.Optimizer | None:
        """The optimizer of a group after `compile` (`None` before)."""
        optimizers = getattr(self.optimizer, "optimizers", None)
        return None if optimizers is None else optimizers.get(group)

    @property
    def generator_optimizer(self) -> keras.optimizers.Optimizer | None:
        """The generator group's optimizer (after `compile`)."""
        return self.group_optimizer("generator")

    @property
    def discriminator_optimizer(self) -> keras.optimizers.Optimizer | None:
        """The discriminator group's optimizer (after `compile`)."""
        return self.group_optimizer("discriminator")

    def get_compile_config(self) -> dict[str, Any]:
        arguments = getattr(self, "_compile_arguments", None)
        if not self.compiled or arguments is None:
            return {}
        config = {
            f"{group}_optimizer": keras.saving.serialize_keras_object(optimizer)
            for group, optimizer in arguments["optimizers"].items()
        }
        config.update(
            loss=losses_module.serialize(self.adversarial_loss),
            penalty=losses_module.serialize(self.penalty),
            jit_compile=arguments["jit_compile"],
        )
        if self._extra_regularizers:
            config["regularizers"] = {
                group: [losses_module.serialize(r) for r in items]
                for group, items in self._extra_regularizers.items()
            }
        if self.steps_per_execution != 1:
            config["steps_per_execution"] = self.steps_per_execution
        return config

    def compile_from_config(self, config: dict[str, Any]) -> None:
        config = dict(config)
        for key, value in config.items():
            if (key.endswith("_optimizer") or key in ("loss", "penalty")) and isinstance(
                value, dict
            ):
                config[key] = keras.saving.deserialize_keras_object(value)
        if isinstance(config.get("regularizers"), dict):
            config["regularizers"] = {
                group: [losses_module.get_regularizer(item) for item in items]
                for group, items in config["regularizers"].items()
            }
        self.compile(**config)

    # ---------------------------------------------------------------- step
    @property
    def metrics(self) -> list:
        return list(self.loss_trackers) + list(self.monitor_trackers)

    def enable_monitoring(self) -> None:
        """Makes the train step log what `gb.callbacks.TrainingMonitor` reads.

        Adds epoch means of: `d_real_accuracy` and `d_fake_accuracy` (the
        share of real logits above 0 and of generated ones below 0),
        `d_real_logit` and `d_fake_logit`, `diversity` (mean pairwise distance
        of the generated images in a batch over that of the real ones; 1 is as
        diverse as the data, near 0 is collapse), and `<group>_grad_norm` for
        every optimizer group (the global norm of the gradients each update
        applies, taken from the same backward pass). Without it the step
        computes none of these.
        """
        if self.monitoring:
            return
        names = ["d_real_accuracy", "d_fake_accuracy", "d_real_logit", "d_fake_logit", "diversity"]
        names += [f"{group}_grad_norm" for group in self.optimizer_groups()]
        self.monitor_trackers = [keras.metrics.Mean(name=name) for name in names]
        self.train_function = None  # Rebuilt with the statistics on the next fit.

    @property
    def monitoring(self) -> bool:
        """Whether the step logs the monitor's statistics (`enable_monitoring`)."""
        return bool(self.monitor_trackers)

    def _monitor(self, name: str) -> Any:
        for tracker in self.monitor_trackers:
            if tracker.name == name:
                return tracker
        raise KeyError(name)

    def _record_judgement(self, real_images: Any, fake_images: Any, real: Any, fake: Any) -> None:
        real = ops.cast(ops.stop_gradient(real), "float32")
        fake = ops.cast(ops.stop_gradient(fake), "float32")
        self._monitor("d_real_accuracy").update_state(ops.mean(ops.cast(real > 0, "float32")))
        self._monitor("d_fake_accuracy").update_state(ops.mean(ops.cast(fake < 0, "float32")))
        self._monitor("d_real_logit").update_state(ops.mean(real))
        self._monitor("d_fake_logit").update_state(ops.mean(fake))
        spread = mean_pairwise_distance(fake_images) / ops.maximum(
            mean_pairwise_distance(real_images), 1e-12
        )
        self._monitor("diversity").update_state(spread)

    def loss_tracker(self, name: str) -> keras.metrics.Mean:
        """The `keras.metrics.Mean` logging `name` (e.g. `"d_loss"`), after `compile`."""
        for tracker in self.loss_trackers:
            if tracker.name == name:
                return tracker
        raise KeyError(
            f"No loss named {name!r}; this model logs {[t.name for t in self.loss_trackers]}."
        )

    def optimization_step(self, data: Any, minimize: Any) -> dict:
        """One training step, written once for all backends and models.

        Args:
            data: A batch as produced by `fit`.
            minimize: The backend's `minimize(loss_fn, variables, optimizer)`
                from `gan_blocks.trainers`.

        Returns:
            The logs dict (`d_loss`, `g_loss`, ...).
        """
        batch = self.unpack_data(data)
        optimizers = self.optimizer.optimizers
        values = {}
        for group in self.update_schedule():
            loss, logs = minimize(
                lambda group=group: self.objective(group, batch),
                self._group_variables[group],
                optimizers[group],
                **self._gradient_norm_hook(group),
            )
            values[_GROUP_LOSS_NAMES.get(group, f"{group}_loss")] = loss
            values.update(logs)
        if self._ema_names:
            self.update_ema()
        for tracker in self.loss_trackers:
            tracker.update_state(values[tracker.name])
        logs = {tracker.name: tracker.result() for tracker in self.metrics}
        logs.update(self.augmentation_logs())
        return logs

    def _gradient_norm_hook(self, group: str) -> dict:
        """`minimize`'s `on_gradients` that logs `<group>_grad_norm`, when monitoring."""
        if not self.monitoring:
            return {}
        tracker = self._monitor(f"{group}_grad_norm")

        def record(gradients: list, optimizer: Any) -> None:
            squares = [
                ops.sum(ops.square(ops.cast(g, "float32"))) for g in gradients if g is not None
            ]
            total = ops.sqrt(ops.sum(ops.stack(squares))) if squares else ops.zeros(())
            # Undo the loss scale of mixed_float16 (1 otherwise).
            scale = ops.cast(optimizer.scale_loss(ops.ones((), "float32")), "float32")
            tracker.update_state(total / scale)

        return {"on_gradients": record}

    def train_step(self, *args: Any) -> Any:
        return get_trainer().train_step(self, *args)

    def make_train_function(self, force: bool = False) -> Any:
        if self.jit_compile:
            get_trainer().prepare_compiled_step(self)
        return super().make_train_function(force)

    def test_step(self, *args: Any) -> Any:
        raise NotImplementedError(
            "Adversarial models have no validation loss; evaluate samples with "
            "gb.metrics (FID/KID) or gb.callbacks instead of `evaluate`."
        )

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        *args: Any,
        callbacks: Any = None,
        **kwargs: Any,
    ) -> Any:
        """`keras.Model.fit`, after checking the data and adding a NaN guard.

        Refuses empty data and runs `check_training_data` before training;
        the callbacks of `fit_callbacks()` (the `NonFiniteLossGuard`) then
        check every batch.

        Args:
            x: Training data (numpy arrays, `tf.data.Dataset`, `PyDataset`).
            y: Second input where the model takes one (labels, targets).
            *args: Passed to `keras.Model.fit`.
            callbacks: Keras callbacks.
            **kwargs: Passed to `keras.Model.fit`.

        Returns:
            A `History` with one entry per name of `loss_names()`.
        """
        if not self.compiled:
            raise RuntimeError(f"Call `compile(...)` on the {type(self).__name__} before `fit`.")
        input_checks.check_not_empty(x, y)
        self.check_training_data(x, y)
        callbacks = list(callbacks or []) + self.fit_callbacks()
        return super().fit(x, y, *args, callbacks=callbacks, **kwargs)

    def fit_callbacks(self) -> list:
        """Callbacks `fit` adds after the user's.

        Returns:
            `[NonFiniteLossGuard(...)]` on the logged losses; subclasses add
            checks that run after every batch (e.g. `ConditionalGAN`'s labels).
        """
        return [NonFiniteLossGuard(tuple(m.name for m in self.metrics))]

    # ------------------------------------------------------------ inference
    @staticmethod
    def predict_in_batches(
        function: Any, inputs: Any, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> np.ndarray:
        """Applies `function` to `inputs` batch by batch and returns numpy.

        Args:
            function: Callable on one batch (a network called with
                `training=False`, or a lambda).
            inputs: An array, or a list/tuple of arrays sliced together.
            batch_size: Batch size.

        Returns:
            The float32 outputs, concatenated along the first axis.

        Example:
        >>> import numpy as np, gan_blocks as gb
        >>> gb.models.AdversarialModel.predict_in_batches(
        ...     lambda x: x * 2, np.ones((5, 2)), batch_size=2
        ... ).shape
        (5, 2)
        """
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={batch_size}")
        several = isinstance(inputs, (list, tuple))
        total = int(np.shape(inputs[0] if several else inputs)[0])
        outputs = []
        for start in range(0, total, batch_size):
            if several:
                batch = [item[start : start + batch_size] for item in inputs]
            else:
                batch = inputs[start : start + batch_size]
            outputs.append(ops.convert_to_numpy(function(batch)))
        return np.concatenate(outputs, axis=0).astype("float32")

    # --------------------------------------------------------------- saving
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            discriminator_steps=self.discriminator_steps,
            generator_ema=self.generator_ema,
            augmentation=keras.saving.serialize_keras_object(self.augmentation)
            if self.augmentation is not None
            else None,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        config = dict(config)
        for key, value in config.items():
            if isinstance(value, dict) and "class_name" in value and "config" in value:
                config[key] = keras.saving.deserialize_keras_object(
                    value, custom_objects=custom_objects
                )
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


def _claim(optimizer: keras.optimizers.Optimizer, model: Any, group: str) -> None:
    """Refuses an optimizer that another model already uses (shared state)."""
    owner = getattr(optimizer, "_gan_blocks_owner", None)
    if owner is not None and owner() is not None and owner() is not model:
        raise ValueError(
            f"The {group} optimizer {optimizer.name!r} already belongs to another "
            f"model ({owner().name!r}): two models would share its moments and step "
            "count. Create a new optimizer object for each model."
        )
    if optimizer.built and owner is None:
        raise ValueError(
            f"The {group} optimizer {optimizer.name!r} was already built for other "
            "variables (e.g. by another model's compile or fit). Create a new "
            "optimizer object for this model."
        )
    optimizer._gan_blocks_owner = weakref.ref(model)


def _loss_scaled(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def resolve_regularizers(regularizers: Any, variable_groups: dict) -> dict[str, list]:
    """`compile`'s `regularizers` as `{group: [Regularizer, ...]}`, checked."""
    if regularizers is None:
        return {}
    if not isinstance(regularizers, dict):
        raise TypeError(
            "`regularizers` must be a dict from a player group to a list of "
            'gb.losses.Regularizer, e.g. {"generator": [...], "discriminator": [...]}. '
            f"Received: regularizers={regularizers!r}"
        )
    unknown = sorted(set(regularizers) - set(variable_groups))
    if unknown:
        raise ValueError(
            f"`regularizers` names unknown group(s) {unknown}; this model's groups "
            f"are {list(variable_groups)}."
        )
    resolved = {}
    for group, items in regularizers.items():
        if items is None:
            continue
        if not isinstance(items, (list, tuple)):
            items = [items]
        resolved[group] = [losses_module.get_regularizer(item) for item in items]
    return resolved


def check_unique_names(regularizers: dict[str, list]) -> None:
    """Refuses two regularizers logged under one name (one would hide the other)."""
    names = [regularizer_name(r) for items in regularizers.values() for r in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"Two regularizers log under the same name {duplicates}: give each a distinct `name=`."
        )
