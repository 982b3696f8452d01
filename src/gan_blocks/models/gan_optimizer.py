"""`GANOptimizer`: the two-player `AdversarialOptimizer` of `GAN`-style models."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.models.adversarial_optimizer import AdversarialOptimizer, serialize_optimizer


@gan_blocks_export()
class GANOptimizer(AdversarialOptimizer):
    """Holds the generator's and the discriminator's optimizers as one optimizer.

    An `AdversarialOptimizer` with the groups `"generator"` and
    `"discriminator"`, built from two positional optimizers.

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
        generator_optimizer: keras.optimizers.Optimizer | str,
        discriminator_optimizer: keras.optimizers.Optimizer | str,
        name: str = "gan_optimizer",
        **kwargs: Any,
    ):
        super().__init__(
            {"generator": generator_optimizer, "discriminator": discriminator_optimizer},
            name=name,
            **kwargs,
        )

    @property
    def generator_optimizer(self) -> keras.optimizers.Optimizer:
        """The generator's optimizer."""
        return self._optimizers["generator"]

    @property
    def discriminator_optimizer(self) -> keras.optimizers.Optimizer:
        """The discriminator's optimizer."""
        return self._optimizers["discriminator"]

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "generator_optimizer": serialize_optimizer(self.generator_optimizer),
            "discriminator_optimizer": serialize_optimizer(self.discriminator_optimizer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> GANOptimizer:
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)
