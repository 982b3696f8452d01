"""Base class of discriminator regularizers that need input gradients."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gan_blocks.api_export import gan_blocks_export


@gan_blocks_export()
class Penalty:
    """Base of penalties added to the discriminator loss.

    A penalty is called as `penalty(discriminator_fn, real_images, fake_images,
    seed=None)` where `discriminator_fn` maps images to logits. It returns the
    *weighted* scalar penalty. The input gradient it needs (a gradient of a
    gradient when training) is computed by `gan_blocks.trainers.input_gradients`,
    which uses the active backend's autodiff.

    Args:
        name: Optional name; used as the log key in `fit`.
    """

    def __init__(self, name: str | None = None):
        self.name = name or re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()

    def __call__(
        self,
        discriminator_fn: Callable[[Any], Any],
        real_images: Any,
        fake_images: Any,
        seed: Any = None,
    ) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments as a JSON-serializable dict."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Penalty:
        """Creates the penalty from `get_config()` output."""
        return cls(**config)
