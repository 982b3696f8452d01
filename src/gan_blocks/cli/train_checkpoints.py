"""The checkpoints of a `gan-blocks train` run: a `.keras` file and its state, both atomic."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

_PREFIX = "step-"


def write_json_atomically(path: str, data: Any) -> None:
    """Writes `data` as JSON to a temporary file beside `path`, then renames it over `path`.

    A kill mid-write leaves the previous file whole (`os.replace` is atomic).
    """
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    try:
        # mkstemp creates the file for its owner only (0600); give it the
        # permissions of any other file the run writes (0666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2, sort_keys=True)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


class Checkpoints:
    """The checkpoint folder of a run: `step-0000008.keras` and `step-0000008.json` pairs.

    A checkpoint is the whole model (`.keras`: weights, optimizer states,
    seed states, EMA and augmentation state, so `keras.saving.load_model`
    continues training exactly) and a small JSON of the run's position
    (step, images seen, seconds). The model is written first, each file to a
    temporary name renamed into place; the JSON, written last, marks the
    pair complete. A kill at any moment leaves the last complete pair intact,
    and `latest()` ignores a `.keras` without its JSON.

    Args:
        directory: Folder of the checkpoints (created on the first save).
        keep: How many recent checkpoints to keep; older ones are deleted.
    """

    def __init__(self, directory: str, keep: int = 3):
        if keep < 1:
            raise ValueError(f"--keep-checkpoints must be >= 1. Received: {keep}")
        self.directory = directory
        self.keep = int(keep)

    def paths(self, step: int) -> tuple[str, str]:
        """The `(model, state)` paths of the checkpoint at `step`."""
        stem = os.path.join(self.directory, f"{_PREFIX}{int(step):07d}")
        return stem + ".keras", stem + ".json"

    def save(self, model: Any, state: dict[str, Any]) -> str:
        """Writes the model, then its state; deletes checkpoints beyond `keep`.

        Args:
            model: A gan-blocks model (its `save` is atomic).
            state: JSON-serializable position of the run, with `"step"`.

        Returns:
            The path of the `.keras` file.
        """
        os.makedirs(self.directory, exist_ok=True)
        model_path, state_path = self.paths(state["step"])
        model.save(model_path)
        write_json_atomically(state_path, dict(state, model=os.path.basename(model_path)))
        for step in self.steps()[: -self.keep]:
            for path in self.paths(step):
                if os.path.exists(path):
                    os.remove(path)
        return model_path

    def steps(self) -> list[int]:
        """Steps of the complete checkpoints (model and state), oldest first."""
        if not os.path.isdir(self.directory):
            return []
        steps = []
        for name in os.listdir(self.directory):
            if not (name.startswith(_PREFIX) and name.endswith(".json")):
                continue
            try:
                step = int(name[len(_PREFIX) : -len(".json")])
            except ValueError:
                continue
            if os.path.isfile(self.paths(step)[0]):
                steps.append(step)
        return sorted(steps)

    def latest(self) -> tuple[str, dict[str, Any]] | None:
        """`(model path, state)` of the most recent complete checkpoint, or `None`."""
        steps = self.steps()
        if not steps:
            return None
        model_path, state_path = self.paths(steps[-1])
        with open(state_path, encoding="utf-8") as file:
            return model_path, json.load(file)
