"""Discovery of third-party components through Python entry points.

A plugin package declares, in its `pyproject.toml`:

```toml
[project.entry-points."gan_blocks.plugins"]
mine = "my_pkg.plugin:register"
```

where `register()` calls `gan_blocks.registry.register(kind, name)(obj)`.
Entry points are loaded lazily (on the first registry lookup that misses, or by
calling `load()`), once per process. A plugin that fails is logged with its name
and skipped. The environment variable `GAN_BLOCKS_PLUGINS` (comma-separated
entry point names) restricts which plugins load.
"""

from __future__ import annotations

import logging
import os
import threading
from importlib import metadata

ENTRY_POINT_GROUP = "gan_blocks.plugins"
ENVIRONMENT_VARIABLE = "GAN_BLOCKS_PLUGINS"

logger = logging.getLogger(__name__)

_LOCK = threading.RLock()
_LOADED: dict[str, bool] = {}
_DONE = False


def _allowed_names() -> set[str] | None:
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def load(force: bool = False) -> dict[str, bool]:
    """Loads every `gan_blocks.plugins` entry point once.

    Args:
        force: Scan the entry points again, e.g. after installing a plugin in a
            running process. Plugins that loaded before are not called again.

    Returns:
        A dict from entry point name to `True` (loaded) or `False` (failed;
        the failure is logged, never raised).

    Example:
    >>> import gan_blocks as gb
    >>> isinstance(gb.plugins.load(), dict)
    True
    """
    global _DONE
    with _LOCK:
        if _DONE and not force:
            return dict(_LOADED)
        _DONE = True
        allowed = _allowed_names()
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if entry_point.name in _LOADED and _LOADED[entry_point.name]:
                continue
            if allowed is not None and entry_point.name not in allowed:
                logger.debug(
                    "Skipping gan-blocks plugin %r: not listed in %s.",
                    entry_point.name,
                    ENVIRONMENT_VARIABLE,
                )
                continue
            try:
                hook = entry_point.load()
                if callable(hook):
                    hook()
                _LOADED[entry_point.name] = True
            # A broken plugin must not break gan-blocks, nor end the process
            # (argparse in `register()` raises SystemExit); Ctrl-C still stops.
            except (Exception, SystemExit):
                _LOADED[entry_point.name] = False
                logger.exception(
                    "Failed to load gan-blocks plugin %r (%s); skipping it.",
                    entry_point.name,
                    entry_point.value,
                )
        return dict(_LOADED)


def loaded() -> dict[str, bool]:
    """Returns the plugins seen so far and whether each loaded.

    Returns:
        A dict from entry point name to `True` (loaded) or `False` (failed).

    Example:
    >>> import gan_blocks as gb
    >>> isinstance(gb.plugins.loaded(), dict)
    True
    """
    return dict(_LOADED)


def _reset_for_tests() -> None:
    global _DONE
    with _LOCK:
        _DONE = False
        _LOADED.clear()
