"""The Wasserstein GAN critic loss (Arjovsky et al. 2017)."""

from __future__ import annotations

from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.adversarial_loss import AdversarialLoss


def wasserstein_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """`E[D(G(z))] - E[D(x)]`: the negated Wasserstein-1 estimate.

    Args:
        real_logits: Critic outputs on real images.
        fake_logits: Critic outputs on generated images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.wasserstein_loss import (
    ...     wasserstein_discriminator_loss)
    >>> float(wasserstein_discriminator_loss(np.full(2, 3.0), np.full(2, 1.0)))
    -2.0
    """
    return ops.mean(ops.cast(fake_logits, "float32")) - ops.mean(ops.cast(real_logits, "float32"))


def wasserstein_generator_loss(fake_logits: Any) -> Any:
    """`-E[D(G(z))]`.

    Args:
        fake_logits: Critic outputs on generated images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.wasserstein_loss import wasserstein_generator_loss
    >>> float(wasserstein_generator_loss(np.full(2, 3.0)))
    -3.0
    """
    return -ops.mean(ops.cast(fake_logits, "float32"))


@gan_blocks_export(kind="loss", name="wasserstein")
class WassersteinLoss(AdversarialLoss):
    """Wasserstein loss; use with `GradientPenalty` (WGAN-GP) and a linear critic.

    The critic must be (roughly) 1-Lipschitz for this to estimate the
    Wasserstein distance: combine it with `gb.losses.GradientPenalty(10.0)`,
    spectral normalization, or several `discriminator_steps`.

    Args:
        name: Optional name.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> loss = gb.losses.WassersteinLoss()
    >>> float(loss.generator_loss(np.full((2, 1), 0.5, "float32")))
    -0.5

    Reference:
        Arjovsky et al., "Wasserstein GAN", ICML 2017; Gulrajani et al.,
        "Improved Training of Wasserstein GANs", NeurIPS 2017.
    """

    def discriminator_loss(self, real_logits: Any, fake_logits: Any, seed: Any = None) -> Any:
        return wasserstein_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        return wasserstein_generator_loss(fake_logits)
