"""How many training steps a `fit` call plans, read from its arguments before it starts."""

from __future__ import annotations

import inspect
import math
from typing import Any

import keras

from gan_blocks.models import input_checks

_FIT_SIGNATURE = inspect.signature(keras.Model.fit)


def fit_arguments(model: Any, x: Any, y: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    """`keras.Model.fit`'s arguments of a call, by name, defaults included."""
    bound = _FIT_SIGNATURE.bind(model, x, y, *args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def planned_fit_steps(arguments: dict[str, Any]) -> int | None:
    """The steps a `fit` call will take, or None when the data does not say.

    `(epochs - initial_epoch) x steps per epoch`, where the steps per epoch
    are `steps_per_epoch` when given, else the number of batches of the data:
    `ceil(rows / batch_size)` for arrays (`batch_size` 32 when not given, as
    Keras), the cardinality of a finite `tf.data.Dataset`, the length of a
    `keras.utils.PyDataset` or a torch `DataLoader`. A Python generator
    without `steps_per_epoch` has no known length: None.

    Args:
        arguments: The call's arguments by name (`fit_arguments`).
    """
    epochs = max(int(arguments["epochs"]) - int(arguments["initial_epoch"]), 0)
    steps = arguments["steps_per_epoch"]
    if steps is None:
        steps = batches_per_epoch(arguments["x"], arguments["batch_size"])
    return None if steps is None else epochs * int(steps)


def batches_per_epoch(x: Any, batch_size: int | None) -> int | None:
    """Batches in one pass over `x` (see `planned_fit_steps`), or None when unknown."""
    if isinstance(x, (list, tuple)) and x:
        x = x[0]
    if hasattr(x, "element_spec") and type(x).__module__.startswith("tensorflow"):
        cardinality = int(x.cardinality())
        return cardinality if cardinality >= 0 else None
    if input_checks.is_py_dataset(x) or type(x).__module__.startswith("torch.utils.data"):
        try:  # An iterable-style DataLoader, or a PyDataset without `__len__`: unknown.
            batches = x.num_batches if input_checks.is_py_dataset(x) else len(x)
        except (TypeError, NotImplementedError):
            return None
        return None if batches is None else int(batches)
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) > 0 and shape[0] is not None:
        return math.ceil(int(shape[0]) / (batch_size or 32))
    return None
