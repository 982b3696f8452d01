"""Name-based registry of gan-blocks components (built-ins and plugins).

Every place where gan-blocks accepts a component by name (for example
`GAN.compile(loss="hinge")`) looks it up here, so a third-party package that
registers a component from its plugin entry point is usable by name as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_REGISTRY: dict[str, dict[str, Any]] = {}
_LOCK = threading.RLock()


def _normalize(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"A registry name must be a non-empty string. Received: name={name!r}")
    return name.strip().lower()


def register(kind: str, name: str) -> Callable[[Any], Any]:
    """Returns a decorator that registers an object under `(kind, name)`.

    Registering the same object twice is harmless (plugins may be loaded by
    several entry points); registering a *different* object under a name that
    is already taken raises a `ValueError`.

    Args:
        kind: The family of the component, e.g. `"loss"`, `"penalty"`,
            `"architecture"`.
        name: The lookup name, case-insensitive.

    Returns:
        A decorator that registers its argument and returns it unchanged.

    Example:
    >>> import gan_blocks as gb
    >>> @gb.registry.register("loss", "doc_example_loss")
    ... class DocExampleLoss:
    ...     pass
    >>> gb.registry.get("loss", "doc_example_loss") is DocExampleLoss
    True
    """
    kind = _normalize(kind)
    key = _normalize(name)

    def decorator(obj: Any) -> Any:
        with _LOCK:
            table = _REGISTRY.setdefault(kind, {})
            existing = table.get(key)
            if existing is not None and existing is not obj:
                raise ValueError(
                    f"The name {key!r} is already registered for kind {kind!r} "
                    f"(to {existing!r}); refusing to replace it with {obj!r}. "
                    "Pick another name for your component."
                )
            table[key] = obj
        return obj

    return decorator


def get(kind: str, name: str) -> Any:
    """Looks up a registered component, loading plugins on the first miss.

    Args:
        kind: The family of the component, e.g. `"loss"`.
        name: The registered name, case-insensitive.

    Returns:
        The registered object.

    Raises:
        ValueError: If nothing is registered under that name; the message lists
            the known names.

    Example:
    >>> import gan_blocks as gb
    >>> gb.registry.get("loss", "hinge").__name__
    'HingeLoss'
    """
    kind = _normalize(kind)
    key = _normalize(name)
    table = _REGISTRY.get(kind, {})
    if key not in table:
        from gan_blocks import plugins

        plugins.load()
        table = _REGISTRY.get(kind, {})
    if key not in table:
        raise ValueError(
            f"Unknown {kind} {name!r}. Known {kind} names: {sorted(table)}. "
            "Third-party components become available by name once their plugin "
            "package is installed (entry point group 'gan_blocks.plugins')."
        )
    return table[key]


def names(kind: str) -> list[str]:
    """Lists the names registered for `kind`, built-ins and plugins.

    Args:
        kind: The family of the component, e.g. `"loss"`.

    Returns:
        The sorted list of names.

    Example:
    >>> import gan_blocks as gb
    >>> "non_saturating" in gb.registry.names("loss")
    True
    """
    from gan_blocks import plugins

    plugins.load()
    return sorted(_REGISTRY.get(_normalize(kind), {}))


def kinds() -> list[str]:
    """Lists the component families that have at least one registered name.

    Returns:
        The sorted list of kinds.

    Example:
    >>> import gan_blocks as gb
    >>> "loss" in gb.registry.kinds()
    True
    """
    return sorted(_REGISTRY)
