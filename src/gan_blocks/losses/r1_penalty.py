"""R1 gradient penalty on real data (Mescheder et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.penalty import Penalty


@gan_blocks_export(kind="penalty", name="r1")
class R1Penalty(Penalty):
    """R1 penalty `gamma / 2 * E[||grad D(x)||^2]` on real images only.

    Pushes the discriminator's gradient towards zero on the data manifold, which
    makes GAN training locally convergent (used by StyleGAN with a
    non-saturating loss).

    With `every=k > 1` it is StyleGAN2's *lazy regularization*: an
    adversarial model applies it only on the discriminator steps whose count
    (the discriminator optimizer's `iterations`, saved with the model, so a
    resumed run keeps the schedule) is a multiple of `k`, multiplied by `k` so
    that its average strength is unchanged, and skips the double
    backpropagation on the other steps (inside the compiled step, through
    `keras.ops.cond`). `every=16` is StyleGAN2's setting; it saves most of
    the penalty's cost. The logged value is the applied penalty: `k` times
    the R1 term on its steps, 0 in between.

    Args:
        gamma: Penalty coefficient.
        every: Apply the penalty every `every` discriminator steps (>= 1).
        name: Optional name (log key), default `"r1_penalty"`.

    Call arguments:
        discriminator_fn: Callable mapping images to logits.
        real_images: Batch of real images.
        fake_images: Unused; accepted for a uniform penalty signature.
        seed: Unused.
        step: The discriminator step count (a scalar tensor), given by the
            models when `every > 1`; `None` computes the plain R1 term.

    Returns:
        Scalar float32 penalty, already multiplied by `gamma / 2` (and by
        `every` on a lazy step).

    Example:
    >>> import numpy as np, keras, gan_blocks as gb
    >>> critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> _ = critic.layers[0].kernel.assign(np.array([[3.0], [4.0]]))
    >>> x = np.random.rand(5, 2).astype("float32")
    >>> float(gb.losses.R1Penalty(gamma=2.0)(critic, x, x))  # 2/2 * 25
    25.0
    >>> lazy = gb.losses.R1Penalty(gamma=2.0, every=4)
    >>> [float(lazy(critic, x, step=s)) for s in range(3)]
    [100.0, 0.0, 0.0]

    Reference:
        Mescheder et al., "Which Training Methods for GANs do actually
        Converge?", ICML 2018; Karras et al., "Analyzing and Improving the
        Image Quality of StyleGAN", CVPR 2020 (lazy regularization).
    """

    def __init__(self, gamma: float = 10.0, every: int = 1, name: str | None = None):
        super().__init__(name=name)
        if gamma < 0:
            raise ValueError(f"`gamma` must be >= 0. Received: gamma={gamma}")
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"`every` must be an int >= 1. Received: every={every!r}")
        self.gamma = float(gamma)
        self.every = int(every)

    def __call__(
        self,
        discriminator_fn: Callable[[Any], Any],
        real_images: Any,
        fake_images: Any = None,
        seed: Any = None,
        step: Any = None,
    ) -> Any:
        if self.every == 1 or step is None:
            return self._penalty(discriminator_fn, real_images)
        due = ops.equal(ops.mod(ops.cast(step, "int32"), self.every), 0)
        return ops.cond(
            due,
            lambda: self.every * self._penalty(discriminator_fn, real_images),
            lambda: ops.zeros((), "float32"),
        )

    def _penalty(self, discriminator_fn: Callable[[Any], Any], real_images: Any) -> Any:
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
        config.update(gamma=self.gamma, every=self.every)
        return config
