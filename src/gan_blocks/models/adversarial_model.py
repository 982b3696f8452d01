"""`AdversarialModel`: what every adversarial model trained by `fit` shares."""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.regularizer import Regularizer, RegularizerContext, regularizer_name
from gan_blocks.models.adversarial_compile import AdversarialCompile, default_optimizer
from gan_blocks.models.augmentation_point import AugmentationPoint
from gan_blocks.models.batch_helpers import DEFAULT_BATCH_SIZE, BatchHelpers
from gan_blocks.models.ema import ExponentialMovingAverages, symbolic_call
from gan_blocks.models.input_checks import check_player
from gan_blocks.models.regularizer_state import RegularizerState
from gan_blocks.models.trained_model import TrainedModel
from gan_blocks.models.training_statistics import TrainingStatistics, mean_pairwise_distance

# The log name of each group's objective; other groups log `<group>_loss`.
_GROUP_LOSS_NAMES = {"discriminator": "d_loss", "generator": "g_loss"}


@gan_blocks_export()
class AdversarialModel(
    AdversarialCompile,
    ExponentialMovingAverages,
    AugmentationPoint,
    BatchHelpers,
    TrainingStatistics,
    TrainedModel,
):
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
        self.regularizer_state = RegularizerState(name="regularizer_state")
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

    def check_preview_inputs(self, inputs: Any) -> None:
        """Raises a clear error when `preview_samples` could not use `inputs`.

        `gb.callbacks.SampleGrid` calls it when training begins, so that a
        missing or malformed `inputs=` is reported before the first epoch,
        not after it. Models whose previews need fixed inputs (`Pix2Pix`,
        `CycleGAN`) override it; the default accepts anything.

        Args:
            inputs: The `inputs` given to `SampleGrid` (or `None`).
        """
        del inputs

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
                state = self.regularizer_state.of(regularizer)
                value = regularizer(dataclasses.replace(context, state=state))
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

    monitor_signals: tuple[str, ...] = ("discriminator_wins", "collapse", "divergence")  # Watched.

    # Attributes holding the discriminators (checked for a final sigmoid by
    # `compile`); `CycleGAN` has two.
    discriminator_names: tuple[str, ...] = ("discriminator",)

    # ---------------------------------------------------------------- step
    @property
    def metrics(self) -> list:
        return list(self.loss_trackers) + list(self.monitor_trackers)

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

    validation_refusal = (
        "Adversarial models have no validation loss; evaluate samples with gb.metrics "
        "(FID/KID) or gb.callbacks (GenerativeMetrics) instead of `evaluate`, "
        "`validation_data` or `validation_split`."
    )

    def test_step(self, *args: Any) -> Any:
        raise NotImplementedError(self.validation_refusal)

    def trained_steps(self) -> int:
        """Steps taken so far: the iterations of the last group to update."""
        optimizer = self.group_optimizer(self.update_schedule()[-1]) or self.optimizer
        return int(keras.ops.convert_to_numpy(optimizer.iterations))

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


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "AdversarialModel",
    "check_player",
    "default_optimizer",
    "mean_pairwise_distance",
    "regularizer_name",
    "symbolic_call",
]
