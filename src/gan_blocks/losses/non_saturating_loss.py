"""The non-saturating GAN loss (Goodfellow et al. 2014, section 3)."""

from __future__ import annotations

from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.binary_crossentropy_family import BinaryCrossentropyFamily


def non_saturating_generator_loss(fake_logits: Any) -> Any:
    """Non-saturating generator loss `-E[log D(G(z))]`, computed from logits.

    Args:
        fake_logits: Discriminator logits on generated images.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.losses.non_saturating_loss import (
    ...     non_saturating_generator_loss)
    >>> round(float(non_saturating_generator_loss(np.zeros(3, "float32"))), 4)
    0.6931
    """
    fake_logits = ops.cast(fake_logits, "float32")
    return ops.mean(ops.softplus(-fake_logits))


@gan_blocks_export(kind="loss", name="non_saturating")
class NonSaturatingLoss(BinaryCrossentropyFamily):
    """The non-saturating loss: the default, and what DCGAN trains with.

    The discriminator minimizes binary cross-entropy (real -> 1, fake -> 0);
    the generator maximizes `log D(G(z))`, which keeps strong gradients early in
    training when the discriminator easily rejects samples.

    Args:
        label_smoothing: One-sided label smoothing: the real target becomes
            `1 - label_smoothing` (0.1 is common). Off by default.
        label_noise: Uniform noise on the discriminator's targets, anew at
            every step (the tutorial's noisy labels). Off by default.
        name: Optional name.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> loss = gb.losses.NonSaturatingLoss(label_smoothing=0.1)
    >>> fake = np.zeros((2, 1), "float32")
    >>> round(float(loss.generator_loss(fake)), 4)
    0.6931

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014;
        Salimans et al., "Improved Techniques for Training GANs", 2016.
    """

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        return non_saturating_generator_loss(fake_logits)
