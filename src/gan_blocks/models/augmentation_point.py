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

    def augment_together(self, *images: Any) -> tuple:
        """Augments several image batches with the same random transforms.

        For conditional discriminators that see pairs (`Pix2Pix`'s
        `[source, image]`): a translation or cutout applied to the image but
        not to its source would misalign the pair the discriminator judges.
        The states of every `SeedGenerator` inside the augmentation are
        taken before the first batch and restored before each other one, so
        each batch gets the draws of the first: the same shifts, cutouts,
        flips and colour changes, image by image. Works for any augmentation
        layer whose draws come from its seed generators (gan-blocks' layers,
        Keras' random augmentation layers).

        Args:
            *images: Batches of the same batch size (channel counts may
                differ: a grayscale source with an RGB target).

        Returns:
            The augmented batches, in order.
        """
        if self.augmentation is None:
            return images
        generators = _seed_generators(self.augmentation)
        states = [ops.copy(generator.state.value) for generator in generators]
        augmented = []
        for index, batch in enumerate(images):
            if index:
                for generator, state in zip(generators, states):
                    generator.state.assign(state)
            augmented.append(self.augmentation(batch, training=True))
        return tuple(augmented)

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


def _seed_generators(layer: Any) -> list:
    """Every `SeedGenerator` of `layer` and its sub-layers, each once."""
    found, seen = [], set()
    for sublayer in layer._flatten_layers(include_self=True):
        for generator in getattr(sublayer, "_seed_generators", []):
            if id(generator) not in seen:
                seen.add(id(generator))
                found.append(generator)
    return found
