"""The private Keras names gan-blocks uses: importable, and the only ones."""

import importlib
import pathlib
import re

import pytest

import gan_blocks as gb
from gan_blocks.backend.keras_internals import KERAS_INTERNALS

SRC = pathlib.Path(gb.__file__).parent


@pytest.mark.parametrize("module, name, why", KERAS_INTERNALS)
def test_each_listed_keras_internal_exists(module, name, why):
    assert why
    # Fails loudly after a Keras upgrade that moves or removes the name.
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def test_the_source_uses_no_unlisted_keras_internal():
    listed = {f"{module}.{name}" for module, name, _ in KERAS_INTERNALS}
    listed_modules = {module for module, _, _ in KERAS_INTERNALS}
    used = set()
    for path in SRC.rglob("*.py"):
        if path.name == "keras_internals.py":
            continue
        text = path.read_text()
        for module, names in re.findall(r"from (keras\.src[\w.]*) import ([\w, ]+)", text):
            used.update(f"{module}.{n.strip()}" for n in names.split(","))
        for dotted in re.findall(r"(?<![\w\"])(keras\.src(?:\.\w+)+)", text):
            if dotted not in listed_modules and not any(
                dotted.startswith(module + ".") for module in listed_modules
            ):
                used.add(dotted)
        for module in re.findall(r"import_module\(\"(keras\.src[\w.]*)\"\)", text):
            used.add(module.rsplit(".", 1)[0] + "." + module.rsplit(".", 1)[1])
    assert used <= listed, f"unlisted keras.src names: {sorted(used - listed)}"
