"""`AdversarialCompile`: `compile` for a model with one optimizer per player group."""

from __future__ import annotations

import types
import weakref
from typing import Any

import keras

from gan_blocks import losses as losses_module
from gan_blocks.losses.regularizer import regularizer_name
from gan_blocks.models import input_checks
from gan_blocks.models.adversarial_optimizer import AdversarialOptimizer, serialize_optimizer
from gan_blocks.validation import check_jit_compile


def default_optimizer() -> keras.optimizers.Optimizer:
    """DCGAN's optimizer: Adam with learning rate 2e-4 and beta_1 = 0.5."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


class AdversarialCompile:
    """Mixin of `AdversarialModel`: optimizer groups, loss, regularizers and their config.

    `compile` resolves one optimizer per group of `optimizer_groups()` (an
    `AdversarialOptimizer` carries them, so each updates under JAX and is
    saved), the adversarial loss and each player's regularizers;
    `get_compile_config` / `compile_from_config` make a `.keras` file
    restore all of them.
    """

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
                strategy; on torch, `torch.compile` for a `fit` whose planned
                steps pay back the compilation (each `fit` decides; eager for
                short runs).
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
        jit_compile = check_jit_compile(jit_compile)
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
        self.regularizer_state.reset([r for rs in self.regularizers.values() for r in rs])
        self._warn_sigmoid_discriminators()
        # A read-only mapping: Keras would track a dict of variables as the
        # model's own, and saving would then store them twice.
        self._group_variables = types.MappingProxyType(variable_groups)
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in self.loss_names()]
        optimizer = self._make_optimizer(resolved)
        optimizer.set_variable_groups(**variable_groups)
        optimizer.build([])
        jit_compile = self.resolve_jit_compile(jit_compile, kwargs.get("run_eagerly", False))
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
            f"{group}_optimizer": serialize_optimizer(optimizer)
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


def _claim(optimizer: keras.optimizers.Optimizer, model: Any, group: str) -> None:
    """Refuses an optimizer that another model uses or used (shared or stale state)."""
    owner = getattr(optimizer, "_gan_blocks_owner", None)
    previous = owner() if owner is not None else None
    if previous is not None and previous is not model:
        raise ValueError(
            f"The {group} optimizer {optimizer.name!r} already belongs to another "
            f"model ({previous.name!r}): two models would share its moments and step "
            "count. Create a new optimizer object for each model."
        )
    if optimizer.built and previous is not model:
        # Also when its previous model was deleted: its step count and moments
        # belong to that model's variables (JAX would silently continue them).
        raise ValueError(
            f"The {group} optimizer {optimizer.name!r} was already built for other "
            "variables (by another model's compile or fit, or a model that no longer "
            "exists). Create a new optimizer object for this model."
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
        penalties = [r for r in resolved[group] if isinstance(r, losses_module.Penalty)]
        if group == "generator" and penalties:
            # A Penalty differentiates its network at real and fake images: the
            # generator's network takes latents, so it would fail inside fit.
            raise ValueError(
                f"{type(penalties[0]).__name__} penalizes the discriminator's gradient with "
                "respect to its input images (a gb.losses.Penalty); it cannot regularize the "
                'generator. Put it under regularizers={"discriminator": [...]} (or pass '
                "penalty=...); generator regularizers such as gb.losses.PathLengthPenalty "
                'go under "generator".'
            )
    return resolved


def check_unique_names(regularizers: dict[str, list]) -> None:
    """Refuses two regularizers logged under one name (one would hide the other)."""
    names = [regularizer_name(r) for items in regularizers.values() for r in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"Two regularizers log under the same name {duplicates}: give each a distinct `name=`."
        )
