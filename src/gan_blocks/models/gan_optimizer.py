"""A composite optimizer that carries both players' optimizers as one."""

from __future__ import annotations

from typing import Any

import keras
from keras.src.utils import tracking

from gan_blocks.api_export import gan_blocks_export


@gan_blocks_export()
class GANOptimizer(keras.optimizers.Optimizer):
    """Holds the generator's and the discriminator's optimizers as one optimizer.

    Keras trainers know a single `model.optimizer`: JAX threads only
    `model.optimizer.variables` through its compiled state, and saving stores
    only `model.optimizer`. Exposing both optimizers through this composite makes
    both of them update under JAX and both of them save and restore. Gradients are
    applied by the two inner optimizers directly; this object never applies any.

    Args:
        generator_optimizer: Optimizer of the generator's variables.
        discriminator_optimizer: Optimizer of the discriminator's variables.
        name: Optional name.

    Example:
    >>> import keras, gan_blocks as gb
    >>> opt = gb.models.GANOptimizer(keras.optimizers.Adam(2e-4),
    ...                              keras.optimizers.Adam(1e-4))
    >>> round(float(opt.discriminator_optimizer.learning_rate), 6)
    0.0001
    """

    def __init__(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        name: str = "gan_optimizer",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.generator_optimizer = keras.optimizers.get(generator_optimizer)
        self.discriminator_optimizer = keras.optimizers.get(discriminator_optimizer)
        if self.generator_optimizer is self.discriminator_optimizer:
            raise ValueError(
                "The generator and the discriminator need two distinct optimizer "
                "objects (each keeps its own moments). Received the same object "
                "twice; create two, e.g. keras.optimizers.Adam(2e-4, beta_1=0.5) "
                "for each."
            )
        self._variable_groups = None

    @tracking.no_automatic_dependency_tracking
    def set_variable_groups(self, generator_variables: list, discriminator_variables: list) -> None:
        """Tells the optimizer which variables each inner optimizer owns."""
        self._variable_groups = (
            list(generator_variables),
            list(discriminator_variables),
        )

    @tracking.no_automatic_dependency_tracking
    def build(self, var_list: list) -> None:
        if self._variable_groups is None:
            raise ValueError(
                "GANOptimizer.build needs the variable groups; call "
                "`set_variable_groups(generator_variables, discriminator_variables)` "
                "first (the GAN models do this in `compile`)."
            )
        generator_variables, discriminator_variables = self._variable_groups
        if not self.generator_optimizer.built:
            self.generator_optimizer.build(generator_variables)
        if not self.discriminator_optimizer.built:
            self.discriminator_optimizer.build(discriminator_variables)
        super().build([])

    @property
    def variables(self) -> list:
        return (
            self._variables
            + self.generator_optimizer.variables
            + self.discriminator_optimizer.variables
        )

    @property
    def iterations(self) -> Any:
        return self.generator_optimizer.iterations

    @property
    def learning_rate(self) -> Any:
        return self.generator_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        # Learning-rate callbacks scale both players together.
        self.generator_optimizer.learning_rate = learning_rate
        self.discriminator_optimizer.learning_rate = learning_rate

    def apply(self, grads: Any, trainable_variables: Any = None) -> None:
        raise NotImplementedError(
            "GANOptimizer does not apply gradients itself; use its "
            "`generator_optimizer` or `discriminator_optimizer`."
        )

    def stateless_apply(
        self, optimizer_variables: Any, grads: Any, trainable_variables: Any
    ) -> Any:
        raise NotImplementedError(
            "GANOptimizer does not apply gradients itself; use its inner optimizers."
        )

    def scale_loss(self, loss: Any) -> Any:
        return loss

    def finalize_variable_values(self, var_list: list) -> None:
        generator_variables, discriminator_variables = self._variable_groups or ([], [])
        self.generator_optimizer.finalize_variable_values(generator_variables)
        self.discriminator_optimizer.finalize_variable_values(discriminator_variables)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(
                self.discriminator_optimizer
            ),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> GANOptimizer:
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)
