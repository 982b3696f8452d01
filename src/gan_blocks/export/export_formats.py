"""Which export formats each Keras backend writes, and what each one needs installed."""

from __future__ import annotations

import importlib.util

import keras

FORMATS = ("tf_saved_model", "onnx", "litert")
"""The formats `export_generator` writes (which backend writes which: the API page)."""

# (format, backend) -> the Python modules Keras' exporter imports. A missing
# pair is one Keras 3 cannot export.
_REQUIREMENTS = {
    ("tf_saved_model", "tensorflow"): ("tensorflow",),
    ("tf_saved_model", "jax"): ("tensorflow",),  # jax2tf
    ("tf_saved_model", "torch"): ("tensorflow", "torch_xla"),
    ("onnx", "tensorflow"): ("tf2onnx", "onnx"),
    ("onnx", "jax"): ("jax2onnx", "onnx"),  # Python >= 3.11
    ("onnx", "torch"): ("onnx", "onnxscript"),
    ("litert", "tensorflow"): ("tensorflow",),
    ("litert", "torch"): ("litert_torch",),
}

_PIP_NAMES = {"litert_torch": "litert-torch", "torch_xla": "torch-xla"}

SUFFIXES = {"tf_saved_model": "", "onnx": ".onnx", "litert": ".tflite"}


def _backends_writing(format: str) -> list[str]:
    return [backend for (name, backend) in _REQUIREMENTS if name == format]


def check_export_format(format: str, backend: str | None = None) -> str:
    """Raises unless the active backend can write `format`; returns the format.

    Args:
        format: `"tf_saved_model"`, `"onnx"` or `"litert"`.
        backend: A Keras backend name; default: the active one.

    Returns:
        `format`, checked.

    Raises:
        ValueError: For an unknown format, or one the backend cannot write
            (the message names the backends that can).
        ImportError: When a package the exporter needs is not installed
            (the message gives the `pip install` line).

    Example:
    >>> from gan_blocks.export import check_export_format
    >>> check_export_format("onnx", backend="tensorflow")
    'onnx'
    >>> check_export_format("litert", backend="jax")
    Traceback (most recent call last):
    ...
    ValueError: The jax backend cannot export format='litert'; the tensorflow, torch ...
    """
    backend = backend or keras.backend.backend()
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}; choose from {', '.join(FORMATS)}.")
    if (format, backend) not in _REQUIREMENTS:
        raise ValueError(
            f"The {backend} backend cannot export format={format!r}; the "
            f"{', '.join(_backends_writing(format))} backends can: set KERAS_BACKEND to one "
            "of them, load the model there and export it."
        )
    missing = [
        module
        for module in _REQUIREMENTS[(format, backend)]
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        packages = " ".join(_PIP_NAMES.get(module, module) for module in missing)
        # Other backends that write this format with what is installed: often
        # the easier route (a .keras file loads under any backend).
        ready = [
            other
            for other in _backends_writing(format)
            if other != backend
            and all(importlib.util.find_spec(module) for module in _REQUIREMENTS[(format, other)])
        ]
        elsewhere = (
            f" Or save the model (.keras), load it with KERAS_BACKEND={ready[0]} "
            f"({' or '.join(ready)} can export {format} with what is installed) and export there."
            if ready
            else ""
        )
        raise ImportError(
            f"Exporting format={format!r} on the {backend} backend needs "
            f"{', '.join(missing)}: pip install {packages} (or pip install "
            '"gan-blocks[export]" for onnx, tf2onnx and ai-edge-litert; '
            f'"gan-blocks[export-jax]" adds jax2onnx).{elsewhere}'
        )
    return format


def supported_formats(backend: str | None = None) -> list[str]:
    """The formats `export_generator` can write on a backend with what is installed.

    Args:
        backend: A Keras backend name; default: the active one.

    Returns:
        The subset of `FORMATS`, in order.

    Example:
    >>> from gan_blocks.export import supported_formats
    >>> "litert" in supported_formats("jax")
    False
    """
    formats = []
    for format in FORMATS:
        try:
            check_export_format(format, backend)
        except (ValueError, ImportError):
            continue
        formats.append(format)
    return formats
