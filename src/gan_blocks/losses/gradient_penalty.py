"""WGAN-GP gradient penalty (Gulrajani et al. 2017)."""

from __future__ import annotations

from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import input_gradients, random
from gan_blocks.losses.penalty import Penalty
from gan_blocks.losses.regularizer import RegularizerContext, check_weight


@gan_blocks_export(kind="penalty", name="gradient_penalty")
class GradientPenalty(Penalty):
    """Two-sided gradient penalty `weight * E[(||grad D(x_hat)||_2 - 1)^2]`.

    `x_hat` interpolates between each real image and a generated one with a
    per-sample weight drawn uniformly from [0, 1]. The norm is computed as
    `sqrt(sum(g^2) + epsilon)` with epsilon *inside* the square root, so its
    gradient is finite even where the input gradient is exactly zero.

    Args:
        weight: Penalty coefficient (lambda = 10 in the paper).
        epsilon: Small constant added inside the square root.
        every: Apply the penalty every `every` discriminator steps (lazy,
            as `gb.losses.Regularizer`).
        name: Optional name (log key), default `"gradient_penalty"`.

    Call arguments:
        context: A `gb.losses.RegularizerContext` (as models call it), or
            a callable mapping images to logits (then the arguments below).
        real_images: Batch of real images.
        fake_images: Batch of generated images, same shape.
        seed: Optional `keras.random.SeedGenerator` for the interpolation.

    Returns:
        Scalar float32 penalty, already multiplied by `weight`.

    Example:
    >>> import numpy as np, keras, gan_blocks as gb
    >>> critic = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> _ = critic.layers[0].kernel.assign(np.array([[0.6], [0.0], [0.8]]))
    >>> x = np.random.rand(4, 3).astype("float32")
    >>> penalty = gb.losses.GradientPenalty(weight=10.0)
    >>> round(float(penalty(critic, x, x + 1.0)), 4)  # ||w|| = 1
    0.0

    Reference:
        Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    """

    def __init__(
        self,
        weight: float = 10.0,
        epsilon: float = 1e-12,
        every: int = 1,
        name: str | None = None,
    ):
        super().__init__(every=every, name=name)
        self.weight = check_weight("weight", weight)
        self.epsilon = check_weight("epsilon", epsilon)

    def compute(self, context: RegularizerContext) -> Any:
        real_images = ops.cast(ops.convert_to_tensor(context.real_images), "float32")
        fake_images = ops.cast(ops.convert_to_tensor(context.fake_images), "float32")
        fake_images = ops.stop_gradient(fake_images)
        batch_size = ops.shape(real_images)[0]
        alpha_shape = (batch_size,) + (1,) * (len(real_images.shape) - 1)
        alpha = random.uniform(alpha_shape, context.seed_generator)
        interpolated = real_images + alpha * (fake_images - real_images)
        gradients = input_gradients(context.network, interpolated)
        gradients = ops.reshape(ops.cast(gradients, "float32"), (batch_size, -1))
        norms = ops.sqrt(ops.sum(ops.square(gradients), axis=1) + self.epsilon)
        return self.weight * ops.mean(ops.square(norms - 1.0))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(weight=self.weight, epsilon=self.epsilon)
        return config
