"""Saving that never destroys the last good file: write aside, then replace."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

# Keras recognises the format by these suffixes, so the temporary file keeps them.
_SUFFIXES = (".weights.h5", ".keras", ".h5")


def save_atomically(save: Callable[[str], Any], filepath: Any) -> None:
    """Calls `save(temporary_path)`, then moves the result over `filepath`.

    The temporary file lies in the destination's folder, so `os.replace` is an
    atomic rename: a save that fails part-way (full disk, an object that does
    not serialize) leaves the previous file at `filepath` untouched, and
    readers never see a half-written file.

    Args:
        save: Writes a file to the path it is given.
        filepath: Destination path.
    """
    path = os.fspath(filepath)
    suffix = next((s for s in _SUFFIXES if path.endswith(s)), os.path.splitext(path)[1])
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=f".tmp{suffix}", dir=directory
    )
    os.close(handle)
    try:
        os.remove(temporary)  # Keras refuses to overwrite without asking otherwise.
        save(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


class AtomicSavingMixin:
    """Makes `Model.save` and `Model.save_weights` write aside, then replace.

    `keras.callbacks.ModelCheckpoint` and `BackupAndRestore` call these
    methods, so they inherit the guarantee.
    """

    def save(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """`keras.Model.save`, written to a temporary file then renamed into place."""
        path = os.fspath(filepath)
        if not path.endswith((".keras", ".h5")) or (not overwrite and os.path.exists(path)):
            return super().save(filepath, overwrite=overwrite, **kwargs)
        save_atomically(
            lambda temporary: super(AtomicSavingMixin, self).save(
                temporary, overwrite=True, **kwargs
            ),
            path,
        )

    def save_weights(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """`keras.Model.save_weights`, written to a temporary file then renamed."""
        path = os.fspath(filepath)
        if not path.endswith(".weights.h5") or (not overwrite and os.path.exists(path)):
            return super().save_weights(filepath, overwrite=overwrite, **kwargs)
        save_atomically(
            lambda temporary: super(AtomicSavingMixin, self).save_weights(
                temporary, overwrite=True, **kwargs
            ),
            path,
        )
