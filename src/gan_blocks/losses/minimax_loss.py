"""The original minimax GAN loss (Goodfellow et al. 2014)."""

from __future__ import annotations

from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.binary_crossentropy_family import BinaryCrossentropyFamily


def minimax_generator_loss(fake_logits: Any) -> Any:
    """Saturating generator loss `E[log(1 - D(G(z)))]`, computed from logits.

    Args:
        fake_logits: Discriminator logits on generated images.

    Returns:
        Scalar float32 tensor (negative; the generator minimizes it).

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.minimax_loss import minimax_generator_loss
    >>> round(float(minimax_generator_loss(np.zeros(3, "float32"))), 4)
    -0.6931
    """
    fake_logits = ops.cast(fake_logits, "float32")
    return -ops.mean(ops.softplus(fake_logits))


@gan_blocks_export(kind="loss", name="minimax")
class MinimaxLoss(BinaryCrossentropyFamily):
    """The saturating minimax loss of the original GAN paper.

    The discriminator minimizes binary cross-entropy (real -> 1, fake -> 0); the
    generator minimizes `log(1 - D(G(z)))`, whose gradient vanishes when the
    discriminator wins early. Prefer `NonSaturatingLoss` in practice; this loss
    is here for completeness and teaching.

    Args:
        label_smoothing: One-sided label smoothing of the real target.
        label_noise: Uniform noise added to the discriminator's targets.
        name: Optional name.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> loss = gb.losses.MinimaxLoss()
    >>> z = np.zeros((2, 1), "float32")
    >>> round(float(loss.discriminator_loss(z, z)), 4)
    1.3863

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    """

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        return minimax_generator_loss(fake_logits)
