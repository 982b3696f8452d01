"""The least-squares GAN loss (Mao et al. 2017)."""

from __future__ import annotations

from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.adversarial_loss import AdversarialLoss


def least_squares_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """`0.5 * E[(D(x) - 1)^2] + 0.5 * E[D(G(z))^2]`.

    Args:
        real_logits: Discriminator outputs on real images.
        fake_logits: Discriminator outputs on generated images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.least_squares_loss import (
    ...     least_squares_discriminator_loss)
    >>> float(least_squares_discriminator_loss(np.ones(2), np.zeros(2)))
    0.0
    """
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    return 0.5 * ops.mean(ops.square(real_logits - 1.0)) + 0.5 * ops.mean(ops.square(fake_logits))


def least_squares_generator_loss(fake_logits: Any) -> Any:
    """`0.5 * E[(D(G(z)) - 1)^2]`.

    Args:
        fake_logits: Discriminator outputs on generated images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.least_squares_loss import (
    ...     least_squares_generator_loss)
    >>> float(least_squares_generator_loss(np.zeros(2)))
    0.5
    """
    fake_logits = ops.cast(fake_logits, "float32")
    return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


@gan_blocks_export(kind="loss", name="least_squares")
class LeastSquaresLoss(AdversarialLoss):
    """Least-squares GAN (LSGAN) loss with the 0-1 coding (a=0, b=c=1).

    Squared errors instead of cross-entropy penalize samples that lie far from
    the decision boundary even when they are classified correctly, giving
    smoother gradients. The discriminator's last layer must be linear.

    Args:
        name: Optional name.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> loss = gb.losses.LeastSquaresLoss()
    >>> float(loss.generator_loss(np.ones((2, 1), "float32")))
    0.0

    Reference:
        Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017.
    """

    def discriminator_loss(self, real_logits: Any, fake_logits: Any, seed: Any = None) -> Any:
        return least_squares_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        return least_squares_generator_loss(fake_logits)
