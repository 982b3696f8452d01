"""The documentation covers the public API and its runnable snippets run.

`mkdocs build --strict` (run by CI, not here) checks that the pages render and
every `::: identifier` resolves. These tests keep the reference complete: a
public name added to a module's `__all__` fails here until it has a
`::: gan_blocks.<module>.<Name>` block in `docs/api/`.
"""

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API = DOCS / "api"

# Modules whose public names must all be documented, and their API page.
API_PAGES = {
    "gan_blocks.latents": "latents.md",
    "gan_blocks.layers": "layers.md",
    "gan_blocks.losses": "losses.md",
    "gan_blocks.models": "models.md",
    "gan_blocks.architectures": "architectures.md",
    "gan_blocks.metrics": "metrics.md",
    "gan_blocks.callbacks": "callbacks.md",
    "gan_blocks.data": "data.md",
    "gan_blocks.export": "export.md",
    "gan_blocks.testing": "testing.md",
    "gan_blocks.registry": "registry.md",
    "gan_blocks.plugins": "registry.md",
    "gan_blocks.trainers": "trainers.md",
    "gan_blocks.backend": "backend.md",
}
# Trainer modules of the backends import their framework: not imported here.
BACKEND_TRAINERS = (
    "gan_blocks.trainers.tensorflow",
    "gan_blocks.trainers.jax",
    "gan_blocks.trainers.torch",
)
# Pages whose ```python blocks run, in order, as one script; each in one
# backend's pass (`one_backend`: the pages train for a minute each).
RUNNABLE_PAGES = [
    pytest.param("index.md", marks=pytest.mark.one_backend("tensorflow")),
    pytest.param("getting-started.md", marks=pytest.mark.one_backend("torch")),
    pytest.param("tutorials/compose-networks.md", marks=pytest.mark.one_backend("torch")),
]
# Runs before those scripts: the pages load MNIST (a download, or the files
# shipped in a clone's examples/data); the tests use a small random stand-in
# with MNIST's shapes and dtypes instead.
OFFLINE_DATA = """
import keras
import numpy as np


def _offline_mnist():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (128, 28, 28), dtype="uint8")
    labels = rng.integers(0, 10, 128, dtype="uint8")
    return (images, labels), (images[:16], labels[:16])


keras.datasets.mnist.load_data = _offline_mnist

import gan_blocks.data


def _shipped_mnist(directory, prefix="t10k", with_labels=False):
    (images, labels), _ = _offline_mnist()
    images = (images[..., None].astype("float32") - 127.5) / 127.5
    return (images, labels) if with_labels else images


gan_blocks.data.load_mnist_idx = _shipped_mnist
"""

IDENTIFIER = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)


def public_names(module_name):
    """`__all__`, or else the public functions and classes defined in the module."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return sorted(module.__all__)
    return sorted(
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module_name
    )


def documented_identifiers(page=None):
    pages = [API / page] if page else sorted(API.glob("*.md"))
    identifiers = []
    for path in pages:
        identifiers += IDENTIFIER.findall(path.read_text(encoding="utf-8"))
    return identifiers


def resolve(identifier):
    parts = identifier.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(identifier)


def test_every_subpackage_has_an_api_page():
    import gan_blocks

    subpackages = {f"gan_blocks.{name}" for name in gan_blocks.__all__ if name != "__version__"}
    missing = sorted(subpackages - set(API_PAGES))
    assert not missing, f"Add an API page for {missing} to docs/api/ and to API_PAGES here."


@pytest.mark.parametrize("module_name", sorted(API_PAGES))
def test_every_public_name_is_documented(module_name):
    page = API_PAGES[module_name]
    documented = set(documented_identifiers(page))
    missing = [
        name for name in public_names(module_name) if f"{module_name}.{name}" not in documented
    ]
    assert not missing, (
        f"Public names of {module_name} missing from docs/api/{page}: add a "
        + ", ".join(f"'::: {module_name}.{name}'" for name in missing)
        + " block for each."
    )


def test_documented_identifiers_exist():
    identifiers = documented_identifiers()
    assert len(identifiers) > 20
    for identifier in identifiers:
        if identifier.startswith(BACKEND_TRAINERS):
            continue  # resolved statically by mkdocstrings; needs another framework
        resolve(identifier)


def test_every_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$", config, re.MULTILINE))
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    assert pages <= nav, f"Pages missing from the mkdocs.yml nav: {sorted(pages - nav)}"
    assert nav <= pages, f"Nav entries without a page: {sorted(nav - pages)}"


def python_blocks(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_snippets_run(page, tmp_path):
    blocks = python_blocks(page)
    assert blocks, f"no ```python blocks in docs/{page}"
    script = tmp_path / "snippet.py"
    script.write_text("\n".join([OFFLINE_DATA, *blocks]), encoding="utf-8")
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, (
        f"The python code of docs/{page} failed:\n{process.stderr[-4000:]}"
    )


def test_call_arguments_render_as_one_list_item_per_argument():
    # The mkdocstrings extension must not import griffe at module level here:
    # the README's test command installs no [docs] extra.
    pytest.importorskip("griffe")
    sys.path.insert(0, str(DOCS / "_griffe"))
    try:
        from keras_docstrings import rewrite_docstring
    finally:
        sys.path.remove(str(DOCS / "_griffe"))
    from gan_blocks.layers import ResidualUpBlock

    text = rewrite_docstring(inspect.cleandoc(ResidualUpBlock.__doc__), is_class=True)
    section = text.split("Call arguments:\n", 1)[1].split("\n\n", 1)[0].split("\n")
    assert section == [
        "    - `inputs`: A 4-D channels-last tensor, or `[x, labels]` for a conditional "
        "block (integer labels of shape `(batch,)`).",
        "    - `training`: Batch-norm mode.",
    ]
