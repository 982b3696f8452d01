"""`Penalty`: the discriminator regularizers that need input gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.losses.regularizer import Regularizer, RegularizerContext


@gan_blocks_export()
class Penalty(Regularizer):
    """Base of penalties on the discriminator (`compile(penalty=...)`).

    A `Regularizer` of the discriminator. Models call it with a
    `RegularizerContext`; it can also be called directly as
    `penalty(discriminator_fn, real_images, fake_images, seed=None,
    step=None)`, where `discriminator_fn` maps images to logits. Either way
    it returns the *weighted* scalar penalty. The input gradient it needs (a
    gradient of a gradient when training) comes from
    `gan_blocks.backend.input_gradients`, the active backend's autodiff.

    Args:
        every: Apply the penalty every `every` discriminator steps (>= 1).
        name: Optional name; used as the log key in `fit`.
    """

    def __call__(
        self,
        context: RegularizerContext | Callable[[Any], Any],
        real_images: Any = None,
        fake_images: Any = None,
        seed: Any = None,
        step: Any = None,
    ) -> Any:
        if not isinstance(context, RegularizerContext):
            context = RegularizerContext(
                "discriminator",
                network=context,
                real_images=real_images,
                fake_images=fake_images,
                step=step,
                seed_generator=seed,
            )
        return super().__call__(context)
