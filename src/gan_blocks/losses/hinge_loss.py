"""The hinge GAN loss (Lim & Ye 2017; Miyato et al. 2018)."""

from __future__ import annotations

from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.adversarial_loss import AdversarialLoss


def hinge_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """`E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`.

    Args:
        real_logits: Discriminator outputs on real images.
        fake_logits: Discriminator outputs on generated images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.hinge_loss import hinge_discriminator_loss
    >>> float(hinge_discriminator_loss(np.zeros(2), np.zeros(2)))
    2.0
    """
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits: Any) -> Any:
    """`-E[D(G(z))]`.

    Args:
        fake_logits: Discriminator outputs on generated images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.hinge_loss import hinge_generator_loss
    >>> float(hinge_generator_loss(np.full(2, 3.0)))
    -3.0
    """
    return -ops.mean(ops.cast(fake_logits, "float32"))


@gan_blocks_export(kind="loss", name="hinge")
class HingeLoss(AdversarialLoss):
    """Hinge loss, the usual partner of spectral normalization (SN-GAN, SAGAN).

    Args:
        name: Optional name.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> loss = gb.losses.HingeLoss()
    >>> float(loss.discriminator_loss(np.full(2, 2.0), np.full(2, -2.0)))
    0.0

    Reference:
        Lim & Ye, "Geometric GAN", 2017; Miyato et al., "Spectral Normalization
        for Generative Adversarial Networks", ICLR 2018.
    """

    def discriminator_loss(self, real_logits: Any, fake_logits: Any, seed: Any = None) -> Any:
        return hinge_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        return hinge_generator_loss(fake_logits)
