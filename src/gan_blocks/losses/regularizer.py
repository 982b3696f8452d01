"""`Regularizer`: a term added to one player's loss, which owns its schedule."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.validation import check_int, check_number


@dataclasses.dataclass
class RegularizerContext:
    """What a regularizer sees of one training step of one player.

    Attributes:
        player: The optimizer group being updated (`"discriminator"`,
            `"generator"`, ...).
        network: The player as a function: for a discriminator, images ->
            logits (augmented and conditioned as in the loss); for a
            generator, `latents` -> images.
        real_images: The real batch (targets, for translation models).
        fake_images: The generated batch (without gradient for the
            discriminator's regularizers).
        latents: The generator's inputs (latents, or source images for
            translation models); `None` where the step has none.
        labels: The condition (class labels) of conditional models, else `None`.
        step: The player's update count so far (its optimizer's
            `iterations`, saved with the model), a scalar tensor.
        seed_generator: The model's `keras.random.SeedGenerator`, for draws.
        judge: For a generator's regularizers, the discriminator as a function
            (images -> logits); `None` otherwise.
        state: The regularizer's own state (`Regularizer.state_spec`), a dict
            from name to the model's `keras.Variable`; `None` outside a model.
        draws: What the regularizer's `draw(context)` returned this step.
    """

    player: str
    network: Callable[[Any], Any]
    real_images: Any = None
    fake_images: Any = None
    latents: Any = None
    labels: Any = None
    step: Any = None
    seed_generator: Any = None
    judge: Callable[[Any], Any] | None = None
    state: dict[str, Any] | None = None
    draws: Any = None


@gan_blocks_export()
class Regularizer:
    """Base of the terms added to a player's loss (`compile(regularizers=...)`).

    A subclass defines `compute(context)`, the weighted term of one step from
    a `RegularizerContext`. Calling the regularizer applies its schedule:
    with `every=k > 1` (StyleGAN2's *lazy regularization*) the term is
    computed only on the player's steps whose count is a multiple of `k`,
    multiplied by `k` so that its average strength is unchanged, and skipped
    (`keras.ops.cond`, inside the compiled step) in between, where it is 0.
    The count is the player's optimizer's `iterations`, saved with the model,
    so a resumed run keeps the schedule.

    Models log each regularizer under its `name` (the value applied: `k`
    times the term on its steps, 0 in between).

    A regularizer that keeps state across steps (e.g. the path-length
    regularizer's running mean) names it in `state_spec()`; the model keeps
    one float32 `keras.Variable` per entry (saved with it, so a resumed run
    continues) and hands them over as `context.state`. `compute` then
    returns `(term, {name: new_value})`, and the new values are written
    after the schedule's branch. Random draws belong in `draw(context)`,
    which runs on every step outside the branch (JAX cannot advance a seed
    inside `lax.cond`); `compute` finds them in `context.draws`.

    Args:
        every: Apply the term every `every` steps of its player (>= 1).
        name: Log key; default: the class name in snake case.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> class MeanSquaredLogits(gb.losses.Regularizer):
    ...     def compute(self, context):
    ...         return keras.ops.mean(keras.ops.square(context.network(context.real_images)))
    >>> context = gb.losses.RegularizerContext(
    ...     "discriminator", network=lambda x: 2.0 * x, real_images=np.ones((3, 1), "float32")
    ... )
    >>> float(MeanSquaredLogits()(context))
    4.0
    >>> import dataclasses
    >>> lazy = MeanSquaredLogits(every=2, name="logit_penalty")
    >>> [float(lazy(dataclasses.replace(context, step=s))) for s in (0, 1)]
    [8.0, 0.0]
    """

    def __init__(self, every: int = 1, name: str | None = None):
        every = check_int("every", every, minimum=1)
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
        self.every = int(every)
        self.name = name or re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()

    def compute(self, context: RegularizerContext) -> Any:
        """The weighted term of one step (a scalar). Subclasses define it.

        A stateful regularizer returns `(term, {state_name: new_value})`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define `compute(context)` returning a scalar."
        )

    def state_spec(self) -> dict[str, float]:
        """Names and initial values of the scalar state the model keeps for it."""
        return {}

    def draw(self, context: RegularizerContext) -> Any:
        """Random draws of one step, made outside the lazy schedule's branch."""
        return None

    def __call__(self, context: RegularizerContext) -> Any:
        if context.draws is None:
            context = dataclasses.replace(context, draws=self.draw(context))
        state = context.state or {}
        names = sorted(state) if self.state_spec() else []

        def split(result: Any) -> tuple[Any, list]:
            if isinstance(result, tuple):
                term, updates = result
            else:
                term, updates = result, {}
            values = [ops.cast(updates.get(n, state[n]), "float32") for n in names]
            return ops.cast(term, "float32"), values

        if self.every == 1 or context.step is None:
            term, values = split(self.compute(context))
        else:
            due = ops.equal(ops.mod(ops.cast(context.step, "int32"), self.every), 0)

            def apply() -> tuple:
                term, values = split(self.compute(context))
                return float(self.every) * term, values

            def skip() -> tuple:
                current = [ops.cast(ops.convert_to_tensor(state[n]), "float32") for n in names]
                return ops.zeros((), "float32"), current

            if names:
                term, values = ops.cond(due, apply, skip)
            else:
                term = ops.cond(due, lambda: apply()[0], lambda: skip()[0])
                values = []
        for name, value in zip(names, values):
            state[name].assign(value)
        return term

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments as a JSON-serializable dict."""
        return {"every": self.every, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        """Creates the regularizer from `get_config()` output."""
        return cls(**config)


def check_weight(name: str, value: Any) -> float:
    """`value` as a float, refusing NaN, infinities, negatives and booleans."""
    return check_number(name, value, minimum=0.0)


def regularizer_name(regularizer: Any) -> str:
    """The log key of a regularizer (a plain callable logs under its type's name)."""
    return getattr(regularizer, "name", None) or type(regularizer).__name__
