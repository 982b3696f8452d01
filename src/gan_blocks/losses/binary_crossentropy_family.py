"""Shared label options of the cross-entropy based adversarial losses."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.backend import random
from gan_blocks.losses.adversarial_loss import (
    AdversarialLoss,
    binary_crossentropy_from_logits,
)


class BinaryCrossentropyFamily(AdversarialLoss):
    """Base of minimax / non-saturating losses with the tutorial's label tricks.

    Args:
        label_smoothing: One-sided label smoothing (Salimans et al. 2016): the
            discriminator's target for real images becomes `1 - label_smoothing`;
            fake targets stay 0. Off (0.0) by default.
        label_noise: Random noise on the discriminator's labels ("Hello GAN":
            randomness for stability): each real target is drawn uniformly from
            `[1 - label_noise, 1]` and each fake target from `[0, label_noise]`,
            anew at every step. Off (0.0) by default; needs a `seed` generator
            (the `GAN` model passes its own).
        name: Optional name.
    """

    def __init__(
        self,
        label_smoothing: float = 0.0,
        label_noise: float = 0.0,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"`label_smoothing` must be in [0, 1). Received: label_smoothing={label_smoothing}"
            )
        if not 0.0 <= label_noise < 0.5:
            raise ValueError(
                f"`label_noise` must be in [0, 0.5). Received: label_noise={label_noise}"
            )
        self.label_smoothing = float(label_smoothing)
        self.label_noise = float(label_noise)

    def _targets(self, real_logits: Any, fake_logits: Any, seed: Any) -> tuple:
        real_target = ops.convert_to_tensor(1.0 - self.label_smoothing, "float32")
        fake_target = ops.convert_to_tensor(0.0, "float32")
        if self.label_noise > 0.0:
            if seed is None:
                seed = keras.random.SeedGenerator()
            real_target = real_target - random.uniform(
                ops.shape(real_logits), seed, maxval=self.label_noise
            )
            fake_target = fake_target + random.uniform(
                ops.shape(fake_logits), seed, maxval=self.label_noise
            )
        return real_target, fake_target

    def discriminator_loss(self, real_logits: Any, fake_logits: Any, seed: Any = None) -> Any:
        real_target, fake_target = self._targets(real_logits, fake_logits, seed)
        return binary_crossentropy_from_logits(
            real_logits, real_target
        ) + binary_crossentropy_from_logits(fake_logits, fake_target)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(label_smoothing=self.label_smoothing, label_noise=self.label_noise)
        return config
