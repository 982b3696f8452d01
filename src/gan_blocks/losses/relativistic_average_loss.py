"""The relativistic average GAN loss (Jolicoeur-Martineau 2019)."""

from __future__ import annotations

from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.adversarial_loss import (
    AdversarialLoss,
    binary_crossentropy_from_logits,
)


def _relative_logits(real_logits: Any, fake_logits: Any) -> tuple:
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    real_vs_fake = real_logits - ops.mean(fake_logits)
    fake_vs_real = fake_logits - ops.mean(real_logits)
    return real_vs_fake, fake_vs_real


def relativistic_average_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """RaGAN discriminator loss: real should look *more* real than the average fake.

    Args:
        real_logits: Discriminator logits on real images.
        fake_logits: Discriminator logits on generated images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.relativistic_average_loss import (
    ...     relativistic_average_discriminator_loss)
    >>> z = np.zeros(2, "float32")
    >>> round(float(relativistic_average_discriminator_loss(z, z)), 4)
    1.3863
    """
    real_vs_fake, fake_vs_real = _relative_logits(real_logits, fake_logits)
    return binary_crossentropy_from_logits(real_vs_fake, 1.0) + binary_crossentropy_from_logits(
        fake_vs_real, 0.0
    )


def relativistic_average_generator_loss(fake_logits: Any, real_logits: Any) -> Any:
    """RaGAN generator loss: the roles of real and fake swapped.

    Args:
        fake_logits: Discriminator logits on generated images.
        real_logits: Discriminator logits on real images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.relativistic_average_loss import (
    ...     relativistic_average_generator_loss)
    >>> z = np.zeros(2, "float32")
    >>> round(float(relativistic_average_generator_loss(z, z)), 4)
    1.3863
    """
    real_vs_fake, fake_vs_real = _relative_logits(real_logits, fake_logits)
    return binary_crossentropy_from_logits(fake_vs_real, 1.0) + binary_crossentropy_from_logits(
        real_vs_fake, 0.0
    )


@gan_blocks_export(kind="loss", name="relativistic_average")
class RelativisticAverageLoss(AdversarialLoss):
    """Relativistic average standard GAN (RaSGAN) loss.

    The discriminator estimates the probability that a real image is more
    realistic than the average fake one (and vice versa); the generator's loss
    therefore also depends on real logits, which the `GAN` model computes for it.

    Args:
        name: Optional name.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> loss = gb.losses.RelativisticAverageLoss()
    >>> real, fake = np.full(2, 5.0, "float32"), np.full(2, -5.0, "float32")
    >>> float(loss.discriminator_loss(real, fake)) < 1e-3
    True

    Reference:
        Jolicoeur-Martineau, "The relativistic discriminator: a key element
        missing from standard GAN", ICLR 2019.
    """

    requires_real_logits_for_generator = True

    def discriminator_loss(self, real_logits: Any, fake_logits: Any, seed: Any = None) -> Any:
        return relativistic_average_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        if real_logits is None:
            raise ValueError(
                "RelativisticAverageLoss.generator_loss needs `real_logits` "
                "(the discriminator's logits on real images). Received: "
                "real_logits=None"
            )
        return relativistic_average_generator_loss(fake_logits, real_logits)
