"""Runs the `>>>` examples in every gan-blocks docstring as doctests.

Each module is one test, so a failure names the module. Modules of other Keras
backends (`gan_blocks.trainers.<backend>`) are skipped: they import a framework
that is not the active one. The examples must give the same output on the
TensorFlow, JAX and torch backends.
"""

import doctest
import importlib
import io
import pkgutil

import keras
import pytest

import gan_blocks

BACKEND_MODULES = {
    "gan_blocks.trainers.tensorflow",
    "gan_blocks.trainers.jax",
    "gan_blocks.trainers.torch",
    "gan_blocks.trainers.torch_conv_kernels",
}
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _module_names():
    names = ["gan_blocks"]
    for info in pkgutil.walk_packages(gan_blocks.__path__, prefix="gan_blocks."):
        names.append(info.name)
    return sorted(names)


def _skip_reason(name):
    active = f"gan_blocks.trainers.{keras.backend.backend()}"
    if name in BACKEND_MODULES and name != active and not name.startswith(active + "_"):
        return f"trainer of another backend (active: {keras.backend.backend()})"
    return None


MODULES = _module_names()


def test_modules_are_collected():
    assert "gan_blocks.layers.spectral_conv2d" in MODULES
    assert f"gan_blocks.trainers.{keras.backend.backend()}" in MODULES


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    reason = _skip_reason(module_name)
    if reason:
        pytest.skip(reason)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] != "gan_blocks":
            pytest.skip(f"optional dependency {error.name!r} is not installed")
        raise
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    report = io.StringIO()
    for test in finder.find(module, module_name):
        # Only the module's own docstrings (not those of imported objects).
        if not test.name.startswith(module_name):
            continue
        runner.run(test, out=report.write, clear_globs=True)
    assert runner.failures == 0, (
        f"{runner.failures} of {runner.tries} docstring examples failed in "
        f"{module_name} (backend {keras.backend.backend()}):\n{report.getvalue()}"
    )
