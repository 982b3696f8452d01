"""Argument checks shared by every public constructor: one rule, one wording.

Integers may be Python or numpy integers (not booleans, not floats such as
2.7); numbers must be finite (NaN and infinities are refused) and within the
stated range. Each error names the argument, what it received and what it
expects.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """`value` as an `int`, refusing booleans, non-integers and values below `minimum`.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.validation import check_int
    >>> check_int("pool_size", np.int64(3), minimum=0)
    3
    >>> check_int("pool_size", True)
    Traceback (most recent call last):
    ...
    ValueError: `pool_size` must be an int. Received: pool_size=True
    """
    expected = "an int" if minimum is None else f"an int >= {minimum}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")
    return int(value)


def check_number(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive: bool = False,
) -> float:
    """`value` as a finite `float` within `[minimum, maximum]` (open bounds with `exclusive`).

    Example:
    >>> from gan_blocks.validation import check_number
    >>> check_number("gamma", 10, minimum=0.0)
    10.0
    >>> check_number("target", float("nan"), 0.0, 1.0, exclusive=True)
    Traceback (most recent call last):
    ...
    ValueError: `target` must be a finite number in (0.0, 1.0). Received: target=nan
    """
    if minimum is not None and maximum is not None:
        left, right = ("(", ")") if exclusive else ("[", "]")
        expected = f"a finite number in {left}{minimum}, {maximum}{right}"
    elif minimum is not None:
        expected = f"a finite number {'>' if exclusive else '>='} {minimum}"
    elif maximum is not None:
        expected = f"a finite number {'<' if exclusive else '<='} {maximum}"
    else:
        expected = "a finite number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")
    number = float(value)
    below = minimum is not None and (number <= minimum if exclusive else number < minimum)
    above = maximum is not None and (number >= maximum if exclusive else number > maximum)
    if not math.isfinite(number) or below or above:
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")
    return number


def check_jit_compile(value: Any) -> bool | str:
    """`compile`'s `jit_compile`: `True`, `False` or `"auto"` only.

    A string such as `"false"` is truthy: accepting it would compile.

    Example:
    >>> from gan_blocks.validation import check_jit_compile
    >>> check_jit_compile("auto"), check_jit_compile(False)
    ('auto', False)
    """
    if value == "auto" and isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(
        f'`jit_compile` must be True, False or "auto". Received: jit_compile={value!r}'
    )
