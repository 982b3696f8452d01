"""R1 gradient penalty on real data (Mescheder et al. 2018)."""

from __future__ import annotations

from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import input_gradients
from gan_blocks.losses.penalty import Penalty
from gan_blocks.losses.regularizer import RegularizerContext, check_weight


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
        context: A `gb.losses.RegularizerContext` (as models call it), or
            a callable mapping images to logits (then the arguments below).
        real_images: Batch of real images.
        fake_images: Unused; accepted for a uniform penalty signature.
        seed: Unused.
        step: The discriminator step count (a scalar tensor); `None`
            computes the plain R1 term.

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
        super().__init__(every=every, name=name)
        self.gamma = check_weight("gamma", gamma)

    def compute(self, context: RegularizerContext) -> Any:
        real_images = ops.cast(ops.convert_to_tensor(context.real_images), "float32")
        real_images = ops.stop_gradient(real_images)
        gradients = input_gradients(context.network, real_images)
        batch_size = ops.shape(real_images)[0]
        gradients = ops.reshape(ops.cast(gradients, "float32"), (batch_size, -1))
        squared_norms = ops.sum(ops.square(gradients), axis=1)
        return 0.5 * self.gamma * ops.mean(squared_norms)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(gamma=self.gamma)
        return config
