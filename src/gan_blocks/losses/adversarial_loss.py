"""Base class shared by every adversarial loss."""

from __future__ import annotations

import re
from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export


def binary_crossentropy_from_logits(logits: Any, target: Any) -> Any:
    """Numerically stable mean binary cross-entropy of logits against targets.

    Uses `target * softplus(-x) + (1 - target) * softplus(x)`, which stays
    finite for logits of any magnitude (no `log(sigmoid(x))`).

    Args:
        logits: Tensor of logits, any shape.
        target: Target probability, a scalar or a tensor broadcastable to
            `logits`.

    Returns:
        Scalar mean cross-entropy.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.adversarial_loss import (
    ...     binary_crossentropy_from_logits)
    >>> float(binary_crossentropy_from_logits(np.zeros(4, "float32"), 1.0))
    0.6931...
    """
    logits = ops.convert_to_tensor(logits)
    logits = ops.cast(logits, "float32")
    target = ops.cast(target, "float32")
    per_element = target * ops.softplus(-logits) + (1.0 - target) * ops.softplus(logits)
    return ops.mean(per_element)


@gan_blocks_export()
class AdversarialLoss:
    """Base class of adversarial losses: one object, two roles.

    Subclasses implement `discriminator_loss(real_logits, fake_logits)` and
    `generator_loss(fake_logits, real_logits=None)`. Logits may have any shape
    (a scalar per image or a PatchGAN map); losses are means over every element,
    computed in float32 so mixed precision training stays stable.

    Args:
        name: Optional name of the loss.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> loss = gb.losses.HingeLoss()
    >>> real, fake = np.ones((4, 1), "float32"), -np.ones((4, 1), "float32")
    >>> float(loss.discriminator_loss(real, fake))
    0.0
    """

    #: Whether `generator_loss` needs the logits of real images.
    requires_real_logits_for_generator: bool = False

    def __init__(self, name: str | None = None):
        self.name = name or re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()

    def discriminator_loss(self, real_logits: Any, fake_logits: Any, seed: Any = None) -> Any:
        """Loss the discriminator minimizes.

        Args:
            real_logits: Discriminator logits on real images.
            fake_logits: Discriminator logits on generated images.
            seed: Optional `keras.random.SeedGenerator` for losses that draw
                random label noise.

        Returns:
            Scalar float32 tensor.
        """
        raise NotImplementedError

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        """Loss the generator minimizes.

        Args:
            fake_logits: Discriminator logits on generated images.
            real_logits: Discriminator logits on real images; only relativistic
                losses need them.

        Returns:
            Scalar float32 tensor.
        """
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments as a JSON-serializable dict."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AdversarialLoss:
        """Creates the loss from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        config = self.get_config()
        args = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != "name")
        return f"{type(self).__name__}({args})"
