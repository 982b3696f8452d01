"""A composite optimizer that carries every player's optimizer as one."""

from __future__ import annotations

import types
from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export


@gan_blocks_export()
class AdversarialOptimizer(keras.optimizers.Optimizer):
    """Holds one optimizer per group of players (generator, discriminator, ...) as one.

    Keras trainers know a single `model.optimizer`: JAX threads only
    `model.optimizer.variables` through its compiled state, and saving stores
    only `model.optimizer`. Exposing every group's optimizer through this
    composite makes all of them update under JAX and save and restore. The
    adversarial models apply gradients with the inner optimizers directly; this
    object never applies any.

    Args:
        optimizers: Dict from group name (e.g. `"generator"`) to a distinct
            optimizer (or optimizer name), in update order.
        name: Optional name.

    Example:
    >>> import keras, gan_blocks as gb
    >>> opt = gb.models.AdversarialOptimizer(
    ...     {"generator": keras.optimizers.Adam(2e-4), "discriminator": keras.optimizers.Adam(1e-4)}
    ... )
    >>> round(float(opt.optimizers["discriminator"].learning_rate), 6)
    0.0001
    """

    def __init__(
        self,
        optimizers: dict[str, keras.optimizers.Optimizer | str],
        name: str = "adversarial_optimizer",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        if not isinstance(optimizers, dict) or not optimizers:
            raise ValueError(
                "`optimizers` must be a non-empty dict from group name to optimizer. "
                f"Received: optimizers={optimizers!r}"
            )
        resolved = {str(group): keras.optimizers.get(opt) for group, opt in optimizers.items()}
        seen: dict[int, str] = {}
        for group, optimizer in resolved.items():
            if id(optimizer) in seen:
                raise ValueError(
                    f"The {seen[id(optimizer)]} and the {group} need two distinct "
                    "optimizer objects (each keeps its own moments). Received the same "
                    "object twice; create one per group, e.g. "
                    "keras.optimizers.Adam(2e-4, beta_1=0.5) for each."
                )
            seen[id(optimizer)] = group
        self._set_optimizers(resolved)
        self._variable_groups = None

    def _set_optimizers(self, optimizers: dict) -> None:
        # Read-only mappings: Keras would track a dict's optimizers and
        # variables as this optimizer's own, and save them twice.
        self._optimizers = types.MappingProxyType(dict(optimizers))

    @property
    def optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """The inner optimizers by group name, in update order."""
        return dict(self._optimizers)

    def set_variable_groups(self, *groups: list, **named_groups: list) -> None:
        """Tells the optimizer which variables each inner optimizer owns.

        Args:
            *groups: Variable lists, one per group in the order of `optimizers`.
            **named_groups: Or variable lists by group name.
        """
        if groups:
            named_groups = dict(zip(self._optimizers, groups))
        missing = sorted(set(self._optimizers) - set(named_groups))
        if missing:
            raise ValueError(f"No variables given for the optimizer group(s) {missing}.")
        self._variable_groups = types.MappingProxyType(
            {group: list(named_groups[group]) for group in self._optimizers}
        )

    def build(self, var_list: list) -> None:
        if self._variable_groups is None:
            raise ValueError(
                f"{type(self).__name__}.build needs the variable groups; call "
                "`set_variable_groups(...)` first (the adversarial models do this "
                "in `compile`)."
            )
        for group, optimizer in self._optimizers.items():
            if not optimizer.built:
                optimizer.build(self._variable_groups[group])
        super().build([])

    @property
    def variables(self) -> list:
        variables = list(self._variables)
        for optimizer in self._optimizers.values():
            variables += optimizer.variables
        return variables

    @property
    def iterations(self) -> Any:
        # The generator steps once per training step: its count is the step count.
        optimizers = self._optimizers
        return optimizers.get("generator", next(iter(optimizers.values()))).iterations

    @property
    def learning_rate(self) -> Any:
        optimizers = self._optimizers
        return optimizers.get("generator", next(iter(optimizers.values()))).learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        # Learning-rate callbacks scale every player together.
        for optimizer in self._optimizers.values():
            optimizer.learning_rate = learning_rate

    def apply(self, grads: Any, trainable_variables: Any = None) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} does not apply gradients itself; use its inner "
            "optimizers (`optimizers[group]`)."
        )

    def stateless_apply(
        self, optimizer_variables: Any, grads: Any, trainable_variables: Any
    ) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} does not apply gradients itself; use its inner optimizers."
        )

    def scale_loss(self, loss: Any) -> Any:
        return loss

    def finalize_variable_values(self, var_list: list) -> None:
        groups = self._variable_groups or {}
        for group, optimizer in self._optimizers.items():
            optimizer.finalize_variable_values(groups.get(group, []))

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "optimizers": {
                group: serialize_optimizer(optimizer)
                for group, optimizer in self._optimizers.items()
            },
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        config = dict(config)
        config["optimizers"] = {
            group: keras.saving.deserialize_keras_object(value, custom_objects=custom_objects)
            for group, value in config["optimizers"].items()
        }
        return cls(**config)


def serialize_optimizer(optimizer: keras.optimizers.Optimizer) -> dict:
    """`serialize_keras_object(optimizer)`, naming the public `keras.optimizers` class.

    On torch (and JAX, TensorFlow) Keras' optimizers are backend subclasses
    whose module (`keras.src.backend.torch.optimizers.torch_adam`) exists only
    under that backend: a file saved on torch would not compile on
    TensorFlow. The public class has the same name and config.

    Example:
    >>> import keras
    >>> from gan_blocks.models.adversarial_optimizer import serialize_optimizer
    >>> serialize_optimizer(keras.optimizers.Adam())["module"]
    'keras.optimizers'
    """
    config = keras.saving.serialize_keras_object(optimizer)
    module = config.get("module") or ""
    public = getattr(keras.optimizers, config.get("class_name", ""), None)
    if module.startswith("keras.src.backend.") and isinstance(public, type):
        config = dict(config, module="keras.optimizers")
    return config
