"""The one decorator that exports a public gan-blocks object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from gan_blocks import registry

PACKAGE = "gan_blocks"


def gan_blocks_export(kind: str | None = None, name: str | None = None) -> Callable[[Any], Any]:
    """Registers a public object for Keras serialization and, optionally, by name.

    Args:
        kind: Registry family (e.g. `"loss"`) under which the object can be
            looked up by `name`; `None` registers it for serialization only.
        name: Registry name; required when `kind` is given.

    Returns:
        A decorator returning the object unchanged.

    Example:
    >>> import keras
    >>> from gan_blocks.api_export import gan_blocks_export
    >>> @gan_blocks_export()
    ... class DocExampleLayer(keras.layers.Layer):
    ...     pass
    >>> keras.saving.get_registered_name(DocExampleLayer)
    'gan_blocks>DocExampleLayer'
    """

    def decorator(symbol: Any) -> Any:
        symbol = keras.saving.register_keras_serializable(package=PACKAGE)(symbol)
        if kind is not None:
            if name is None:
                raise ValueError(f"`name` is required with kind={kind!r}.")
            registry.register(kind, name)(symbol)
        return symbol

    return decorator
