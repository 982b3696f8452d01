"""`[x, labels]` inputs: telling a pair of tensors (or shapes) from one shape."""

from __future__ import annotations

from typing import Any


def is_pair(inputs: Any) -> bool:
    """Whether `inputs` is `[x, labels]`: two tensors or two shapes, not one shape.

    A shape is a tuple too; its first entry is an int or `None` (the batch),
    while a pair's first entry is a tensor or a shape.
    """
    return (
        isinstance(inputs, (list, tuple))
        and len(inputs) == 2
        and not isinstance(inputs[0], (int, type(None)))
    )


def check_pair(inputs: Any, layer: str, names: str = "[x, labels]") -> None:
    """Raises a `ValueError` naming `layer` unless `inputs` is a pair (see `is_pair`)."""
    if not is_pair(inputs):
        raise ValueError(f"{layer} is called on {names}. Received an input of shape {inputs!r}.")
