"""R1 gradient penalty on real data (Mescheder et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.penalty import Penalty


@gan_blocks_export(kind="penalty", name="r1")
class R1Penalty(Penalty):
    """R1 penalty `gamma / 2 * E[||grad D(x)||^2]` on real images only.

    Pushes the discriminator's gradient towards zero on the data manifold, which
    makes GAN training locally convergent (used by StyleGAN with a
    non-saturating loss).

    Args:
        gamma: Penalty coefficient.
        name: Optional name (log key), default `"r1_penalty"`.

    Call arguments:
        discriminator_fn: Callable mapping images to logits.
        real_images: Batch of real images.
        fake_images: Unused; accepted for a uniform penalty signature.
        seed: Unused.

    Returns:
        Scalar float32 penalty, already multiplied by `gamma / 2`.

    Example:
    >>> import numpy as np, keras, gan_blocks as gb
    >>> critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> _ = critic.layers[0].kernel.assign(np.array([[3.0], [4.0]]))
    >>> x = np.random.rand(5, 2).astype("float32")
    >>> float(gb.losses.R1Penalty(gamma=2.0)(critic, x, x))  # 2/2 * 25
    25.0

    Reference:
        Mescheder et al., "Which Training Methods for GANs do actually
        Converge?", ICML 2018.
    """

    def __init__(self, gamma: float = 10.0, name: str | None = None):
        super().__init__(name=name)
        if gamma < 0:
            raise ValueError(f"`gamma` must be >= 0. Received: gamma={gamma}")
        self.gamma = float(gamma)

    def __call__(
        self,
        discriminator_fn: Callable[[Any], Any],
        real_images: Any,
        fake_images: Any = None,
        seed: Any = None,
    ) -> Any:
        from gan_blocks.trainers import input_gradients

        real_images = ops.cast(ops.convert_to_tensor(real_images), "float32")
        real_images = ops.stop_gradient(real_images)
        gradients = input_gradients(discriminator_fn, real_images)
        batch_size = ops.shape(real_images)[0]
        gradients = ops.reshape(ops.cast(gradients, "float32"), (batch_size, -1))
        squared_norms = ops.sum(ops.square(gradients), axis=1)
        return 0.5 * self.gamma * ops.mean(squared_norms)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(gamma=self.gamma)
        return config
