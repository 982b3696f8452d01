"""An example gan-blocks plugin: one loss and one architecture, added by name."""

import keras
from keras import ops

import gan_blocks as gb


class ScaledHingeLoss(gb.losses.HingeLoss):
    """Hinge loss with a margin other than 1."""

    def __init__(self, margin=2.0, name=None):
        super().__init__(name=name)
        self.margin = margin

    def discriminator_loss(self, real_logits, fake_logits, seed=None):
        return ops.mean(ops.relu(self.margin - real_logits)) + ops.mean(
            ops.relu(self.margin + fake_logits)
        )

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


def mlp_generator(latent_dim, output_dim, hidden=64):
    """A small MLP generator with a tanh output."""
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(output_dim, activation="tanh"),
        ]
    )


def register():
    """Entry point named in entry_points.txt (group gan_blocks.plugins)."""
    gb.registry.register("loss", "example_scaled_hinge")(ScaledHingeLoss)
    gb.registry.register("architecture", "example_mlp_generator")(mlp_generator)
