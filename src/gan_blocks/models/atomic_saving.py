"""Saving that never destroys the last good file: write aside, then replace."""

from __future__ import annotations

import glob
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

# Keras recognises the format by these suffixes, so the temporary file keeps them.
_SUFFIXES = (".weights.h5", ".keras", ".h5")
# A temporary file older than this was left by a save that was killed.
_STALE_SECONDS = 3600.0


def save_atomically(save: Callable[[str], Any], filepath: Any) -> None:
    """Calls `save(temporary_path)`, then moves the result over `filepath`.

    The temporary file lies in the destination's folder, so `os.replace` is an
    atomic rename: a save that fails part-way (full disk, an object that does
    not serialize) leaves the previous file at `filepath` untouched, and
    readers never see a half-written file. A symbolic link at `filepath`
    (`latest.keras -> ckpt_001.keras`) is kept: the file it points to is
    replaced. Temporary files of this destination older than an hour (left
    by a save that was killed) are removed. A missing folder or a folder that
    cannot be written is reported with `filepath`, not the temporary name.

    Args:
        save: Writes a file to the path it is given.
        filepath: Destination path.
    """
    user_path = os.fspath(filepath)
    path = os.path.realpath(user_path)  # Through a symlink to the file it names.
    suffix = next((s for s in _SUFFIXES if path.endswith(s)), os.path.splitext(path)[1])
    directory = os.path.dirname(path)
    prefix = f".{os.path.basename(path)}."
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot save to {user_path!r}: the folder {directory!r} does not exist. "
            "Create it first (e.g. os.makedirs(folder, exist_ok=True))."
        )
    _remove_stale_temporaries(directory, prefix, suffix)
    try:
        handle, temporary = tempfile.mkstemp(prefix=prefix, suffix=f".tmp{suffix}", dir=directory)
    except OSError as error:
        raise OSError(
            f"Cannot save to {user_path!r}: the folder {directory!r} is not writable "
            f"({error.strerror})."
        ) from error
    os.close(handle)
    try:
        os.remove(temporary)  # Keras refuses to overwrite without asking otherwise.
        save(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _remove_stale_temporaries(directory: str, prefix: str, suffix: str) -> None:
    now = time.time()
    for stale in glob.glob(
        os.path.join(glob.escape(directory), f"{glob.escape(prefix)}*.tmp{suffix}")
    ):
        try:
            if now - os.path.getmtime(stale) > _STALE_SECONDS:
                os.remove(stale)
        except OSError:
            pass  # Another process's file, or already gone.


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
