"""`AugmentationPoint`: the one place where every image a discriminator sees is augmented."""

from __future__ import annotations

from typing import Any

from keras import ops


class AugmentationPoint:
    """Mixin of `AdversarialModel`: the `augmentation` layer, applied and logged.

    Adaptive layers (with `update_probability(real_logits)`, as
    `gb.layers.AdaptiveAugment`) are found anywhere inside it and their
    probability is logged as `augment_p`.
    """

    def augmentation_trainable_variables(self) -> list:
        """Trainable variables of the augmentation (updated with the discriminators)."""
        if self.augmentation is None:
            return []
        return list(getattr(self.augmentation, "trainable_variables", []))

    def augment(self, images: Any) -> Any:
        """The one augmentation point: every image a discriminator sees passes here."""
        if self.augmentation is None:
            return images
        return self.augmentation(images, training=True)

    def adaptive_augmentations(self) -> list:
        """The layers of the augmentation that adapt to the discriminator.

        A layer adapts when it has an `update_probability(real_logits)` method
        (`gb.layers.AdaptiveAugment`); it may sit inside a `Sequential` or a
        functional model passed as `augmentation`.
        """
        found, pending = [], [self.augmentation] if self.augmentation is not None else []
        while pending:
            layer = pending.pop(0)
            if callable(getattr(layer, "update_probability", None)):
                found.append(layer)
            pending.extend(getattr(layer, "layers", []))
        return found

    def augmentation_logs(self) -> dict:
        """`augment_p` (the probability of each adaptive augmentation) for the logs.

        Returns:
            `{"augment_p": p}` for one adaptive layer, `augment_p_<layer name>`
            keys for several, `{}` without any.
        """
        layers = self.adaptive_augmentations()
        if len(layers) == 1:
            return {"augment_p": ops.convert_to_tensor(layers[0].probability)}
        return {
            f"augment_p_{layer.name}": ops.convert_to_tensor(layer.probability) for layer in layers
        }
