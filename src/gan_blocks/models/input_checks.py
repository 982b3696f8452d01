"""Early, explicit checks of user data, run before training starts."""

from __future__ import annotations

from typing import Any

import numpy as np

_RANGE_TOLERANCE = 1e-3


def peek_batch(x: Any) -> Any:
    """Returns a small numpy sample of the images `fit` is about to read, or None.

    Handles numpy arrays (and backend tensors), `tf.data.Dataset` (first element)
    and `keras.utils.PyDataset` (first batch); returns `None` for anything else
    (e.g. a Python generator, which cannot be peeked without consuming it).
    """
    if x is None:
        return None
    if isinstance(x, (list, tuple)) and x:
        return peek_batch(x[0])
    if hasattr(x, "element_spec") and type(x).__module__.startswith("tensorflow"):
        for element in x.take(1):
            return peek_batch(element)
        return None
    if hasattr(x, "__getitem__") and hasattr(x, "num_batches"):  # PyDataset
        batch = x[0]
        return peek_batch(batch[0] if isinstance(batch, (list, tuple)) else batch)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        try:
            return np.asarray(x[:4096] if len(x.shape) > 0 else x)
        except Exception:  # Tensors that numpy cannot read: skip the check.
            return None
    return None


def peek_labels(x: Any, y: Any) -> Any:
    """Returns a numpy sample of the labels of `(images, labels)` data, or None."""
    if y is not None:
        return peek_batch(y)
    if isinstance(x, (list, tuple)) and len(x) > 1:
        return peek_batch(x[1])
    if hasattr(x, "element_spec") and type(x).__module__.startswith("tensorflow"):
        for element in x.take(1):
            if isinstance(element, (list, tuple)) and len(element) > 1:
                return np.asarray(element[1])
        return None
    if hasattr(x, "__getitem__") and hasattr(x, "num_batches"):
        batch = x[0]
        if isinstance(batch, (list, tuple)) and len(batch) > 1:
            return np.asarray(batch[1])
    return None


def check_image_range(sample: Any, what: str = "images") -> None:
    """Raises if images are not float values in [-1, 1] (tanh generator range)."""
    if sample is None:
        return
    sample = np.asarray(sample)
    if sample.dtype.kind in "iub":
        raise ValueError(
            f"The training {what} have integer dtype {sample.dtype} (values "
            f"{sample.min()}..{sample.max()}), but gan-blocks generators end in "
            "tanh and produce floats in [-1, 1]. Scale your data first, e.g. "
            "`images = images.astype('float32') / 127.5 - 1.0` for uint8 pixels."
        )
    if sample.dtype.kind != "f" or sample.size == 0:
        return
    low, high = float(np.nanmin(sample)), float(np.nanmax(sample))
    if low < -1.0 - _RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
        raise ValueError(
            f"The training {what} range over [{low:.4g}, {high:.4g}], but "
            "gan-blocks generators end in tanh and produce values in [-1, 1], so "
            "the discriminator would tell real from fake by range alone. Scale "
            "your data to [-1, 1], e.g. `images / 127.5 - 1.0` for [0, 255] "
            "pixels or `images * 2.0 - 1.0` for [0, 1]."
        )
    if not np.all(np.isfinite(sample)):
        raise ValueError(f"The training {what} contain NaN or infinite values.")


def check_labels(sample: Any, num_classes: int) -> None:
    """Raises if integer class labels fall outside `[0, num_classes)`."""
    if sample is None:
        return
    sample = np.asarray(sample)
    if sample.ndim >= 1 and sample.shape[-1] == num_classes and sample.dtype.kind == "f":
        return  # One-hot labels.
    if sample.size and (sample.min() < 0 or sample.max() >= num_classes):
        raise ValueError(
            f"Class labels must be integers in [0, {num_classes}) for "
            f"num_classes={num_classes}. Received labels in "
            f"[{sample.min()}, {sample.max()}]."
        )
