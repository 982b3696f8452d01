"""Early, explicit checks of user data, run before training starts.

What `fit` reads is checked as far as it can be without consuming it: a numpy
array in full (in chunks, so memory stays bounded), another tensor by its
first 4,096 rows, a `tf.data.Dataset` or `keras.utils.PyDataset` by its first
batch. Labels that only a later batch of a dataset brings are checked inside
the training step (see `ConditionalGAN`).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

_RANGE_TOLERANCE = 1e-3
_PEEK_ROWS = 4096
_CHUNK_ELEMENTS = 1 << 22  # Rows per chunk of a full scan: about 4M values.

# The value range of each bounded final activation.
ACTIVATION_RANGES = {
    "tanh": (-1.0, 1.0),
    "hard_tanh": (-1.0, 1.0),
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
}

# Layers that pass their input's range through (the range of what they output
# is that of their input, up to inserted zeros, which every range holds).
_PASS_THROUGH = (
    "Reshape",
    "Flatten",
    "Permute",
    "RepeatVector",
    "Identity",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "ReflectionPadding2D",
)


def warn(message: str) -> None:
    """`warnings.warn(message, UserWarning)`, attributed to the caller of gan-blocks.

    The warning points at the first frame outside the `gan_blocks` package
    (the user's `fit` or `compile` call), wherever the check runs.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("gan_blocks"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def is_py_dataset(x: Any) -> bool:
    """Whether `x` is a `keras.utils.PyDataset` (indexable batches)."""
    return isinstance(x, keras.utils.PyDataset)


def peek_batch(x: Any) -> Any:
    """Returns the images `fit` is about to read as numpy (or a sample of them), or None.

    A numpy array comes back whole (no copy), so checks see every row; other
    tensors give their first 4,096 rows, a `tf.data.Dataset` its first element
    and a `keras.utils.PyDataset` its first batch. Anything else (e.g. a
    Python generator, which cannot be peeked without consuming it) gives `None`.
    """
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, Mapping):
        raise ValueError(dict_batch_message(x))
    if isinstance(x, (list, tuple)) and x:
        return peek_batch(x[0])
    if hasattr(x, "element_spec") and type(x).__module__.startswith("tensorflow"):
        for element in x.take(1):
            return peek_batch(element)
        return None
    if is_py_dataset(x):
        batch = x[0]
        return peek_batch(batch[0] if isinstance(batch, (list, tuple)) else batch)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        try:
            return np.asarray(x[:_PEEK_ROWS] if len(x.shape) > 0 else x)
        except Exception:  # Tensors that numpy cannot read: skip the check.
            return None
    return None


def dict_batch_message(batch: Mapping) -> str:
    """The error for data whose batches are dicts (tensorflow-datasets' default)."""
    keys = sorted(map(str, batch))
    image_key = "image" if "image" in keys else (keys[0] if keys else "image")
    return (
        f"fit received batches that are dicts (keys {keys}): gan-blocks models "
        "train on batches of images, or (images, labels) tuples for conditional "
        "models and (sources, targets) for translators. With tensorflow-datasets "
        "load with `as_supervised=True`, or map the dicts to tuples: "
        f"`dataset.map(lambda d: d[{image_key!r}])` (or "
        f"`(d[{image_key!r}], d['label'])`)."
    )


def peek_labels(x: Any, y: Any) -> Any:
    """Returns the labels of `(images, labels)` data as numpy (all of a numpy array), or None."""
    if y is not None:
        return peek_batch(y)
    if isinstance(x, (list, tuple)) and len(x) > 1:
        return peek_batch(x[1])
    if hasattr(x, "element_spec") and type(x).__module__.startswith("tensorflow"):
        for element in x.take(1):
            if isinstance(element, (list, tuple)) and len(element) > 1:
                return np.asarray(element[1])
        return None
    if is_py_dataset(x):
        batch = x[0]
        if isinstance(batch, (list, tuple)) and len(batch) > 1:
            return np.asarray(batch[1])
    return None


def check_not_a_list_of_images(x: Any) -> None:
    """Refuses a Python list of same-shaped arrays: Keras reads it as several inputs.

    A list of per-image arrays (`[img0, img1, ...]`) reaches the model as that
    many separate inputs, which surfaced as "received a batch of shape (2,)".
    No gan-blocks model takes more than two inputs, so a list of three or more
    arrays of one shape is a batch that was not stacked.
    """
    if not isinstance(x, list) or len(x) < 3:
        return
    shapes = {tuple(getattr(item, "shape", (None,))) for item in x}
    if len(shapes) == 1 and None not in next(iter(shapes)):
        shape = next(iter(shapes))
        raise ValueError(
            f"`fit` received x as a Python list of {len(x)} arrays of shape {shape}: Keras "
            "reads a list as separate model inputs, not as a batch. Stack them into one "
            f"array first: `np.stack(x)` (shape {(len(x),) + shape})."
        )


def check_not_empty(x: Any, y: Any = None) -> None:
    """Raises a clear `ValueError` when `fit` would get no training data.

    Checks arrays (and lists of arrays) for zero rows, a `tf.data.Dataset`
    whose cardinality is known to be 0 and a `PyDataset` with no batches.
    """
    for name, data in (("x", x), ("y", y)):
        items = data if isinstance(data, (list, tuple)) else [data]
        for item in items:
            shape = getattr(item, "shape", None)
            if shape is not None and len(shape) > 0 and shape[0] == 0:
                raise ValueError(
                    f"`fit` received an empty array: {name} has shape {tuple(shape)}. "
                    "Pass at least one batch of training data."
                )
    if hasattr(x, "cardinality") and type(x).__module__.startswith("tensorflow"):
        if int(x.cardinality()) == 0:
            raise ValueError(
                "`fit` received an empty tf.data.Dataset (cardinality 0): it yields no "
                "batches. Check its source, filters, and `batch(..., drop_remainder=True)` "
                "with fewer elements than the batch size."
            )
    if is_py_dataset(x) and x.num_batches == 0:
        raise ValueError(
            f"`fit` received a {type(x).__name__} with no batches (its __len__ is 0). "
            "Pass at least one batch of training data."
        )


# ---------------------------------------------------------------- generators
def final_activation(network: Any) -> str | None:
    """The name of the activation a network's output ends in, or `None` if unknown.

    Follows the output of a Sequential or functional model back through
    layers that keep the range (reshapes, croppings, paddings, dropout, nested
    models) to the layer that sets it: a layer with an `activation` (`Dense`,
    `Conv2D`, `Conv2DTranspose`, `Activation`, ...) or an op such as
    `keras.ops.tanh`. Returns e.g. `"tanh"`, `"sigmoid"`, `"linear"` (no
    activation), `"relu"`; `None` for subclassed models and anything else.

    Example:
    >>> import keras
    >>> from gan_blocks.models.input_checks import final_activation
    >>> final_activation(keras.Sequential([keras.Input((4,)),
    ...     keras.layers.Dense(2), keras.layers.Activation("tanh")]))
    'tanh'
    """
    return _activation_of(network, depth=0)


def _activation_of(operation: Any, depth: int) -> str | None:
    if operation is None or depth > 64:
        return None
    if isinstance(operation, keras.Model):
        try:
            outputs = operation.outputs
        except Exception:  # A Sequential model without an Input, a subclassed model.
            outputs = None
        if outputs and len(outputs) == 1:
            return _activation_of_tensor(outputs[0], depth + 1)
        if isinstance(operation, keras.Sequential) and operation.layers:
            for layer in reversed(operation.layers):
                if type(layer).__name__ not in _PASS_THROUGH:
                    return _activation_of(layer, depth + 1)
        return None
    activation = getattr(operation, "activation", None)
    if callable(activation):
        return getattr(activation, "__name__", None)
    name = type(operation).__name__.lower()
    return name if name in ACTIVATION_RANGES else None  # keras.ops.tanh(x) in a model.


def _activation_of_tensor(tensor: Any, depth: int) -> str | None:
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    operation = history.operation
    if isinstance(operation, keras.Model):
        return _activation_of(operation, depth + 1)
    if type(operation).__name__ in _PASS_THROUGH:
        nodes = operation._inbound_nodes
        if history.node_index < len(nodes) and len(nodes[history.node_index].input_tensors) == 1:
            return _activation_of_tensor(nodes[history.node_index].input_tensors[0], depth + 1)
        return None
    return _activation_of(operation, depth + 1)


def output_range(activation: str | None) -> tuple[float, float] | None:
    """The value range of a final activation: `(-1, 1)` for tanh, `(0, 1)` for sigmoid.

    `None` (unbounded) for `"linear"`, other activations and unknown ones.
    """
    return ACTIVATION_RANGES.get(activation) if activation else None


# -------------------------------------------------------------------- images
def _scan(array: np.ndarray) -> tuple[float, float, int, int]:
    """`(min, max, non-finite count, first non-finite row)` over an array, in chunks."""
    rows = array.shape[0] if array.ndim else 1
    flat = array.reshape(1, -1) if array.ndim == 0 else array
    row_size = max(1, int(np.prod(flat.shape[1:])))
    step = max(1, _CHUNK_ELEMENTS // row_size)
    low, high, bad, first = np.inf, -np.inf, 0, -1
    for start in range(0, rows, step):
        chunk = flat[start : start + step]
        if chunk.dtype.kind == "f":
            finite = np.isfinite(chunk)
            if not finite.all():
                count = int(chunk.size - np.count_nonzero(finite))
                if bad == 0:
                    row_ok = finite.reshape(len(chunk), -1).all(axis=1)
                    first = start + int(np.argmin(row_ok))
                bad += count
                if not finite.any():
                    continue
                chunk = chunk[finite]
        if chunk.size:
            low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
    return low, high, bad, first


def _scaling_advice(value_range: tuple[float, float]) -> str:
    if value_range == (0.0, 1.0):
        return "`images / 255.0` for [0, 255] pixels or `(images + 1.0) / 2.0` for [-1, 1]"
    return "`images / 127.5 - 1.0` for [0, 255] pixels or `images * 2.0 - 1.0` for [0, 1]"


def check_image_range(sample: Any, activation: str | None = "tanh", what: str = "images") -> None:
    """Checks training images against the range of the generator that must match them.

    Refuses NaN or infinite values, and values outside the generator's output
    range (`output_range(activation)`): the discriminator would tell real from
    fake by range alone. Warns (Python `warnings`) when images use only
    [0, 1] while the generator produces [-1, 1]. Accepts any finite values
    when the generator is unbounded (a linear or unknown final activation).

    Args:
        sample: The images as numpy (`peek_batch`), or `None` to skip.
        activation: The generator's final activation (`final_activation`).
        what: How the error messages name the images.
    """
    if sample is None:
        return
    sample = np.asarray(sample)
    if sample.dtype.kind in "USO":
        kind = "strings" if sample.dtype.kind in "US" else "Python objects"
        raise ValueError(
            f"The training {what} are an array of {kind} (dtype {sample.dtype}), not of "
            "numbers. Load the image files into a numeric array first (e.g. "
            "keras.utils.load_img and keras.utils.img_to_array, or "
            "keras.utils.image_dataset_from_directory), with every image the same shape."
        )
    if sample.dtype.kind not in "iubf" or sample.size == 0:
        return
    low, high, bad, first = _scan(sample)
    if bad:
        raise ValueError(
            f"The training {what} contain NaN or infinite values ({bad} of {sample.size}, "
            f"the first in row {first}). Remove or replace them (e.g. with np.nan_to_num) "
            "before `fit`: one NaN makes every loss and weight NaN."
        )
    value_range = output_range(activation)
    if value_range is None:
        return
    bottom, top = value_range
    ends_in = f"the generator ends in {activation} and produces"
    if sample.dtype.kind in "iub":
        scale = "/ 255.0" if value_range == (0.0, 1.0) else "/ 127.5 - 1.0"
        raise ValueError(
            f"The training {what} have integer dtype {sample.dtype} (values "
            f"{low:.6g}..{high:.6g}), but {ends_in} floats in [{bottom:g}, {top:g}]. "
            f"Scale your data first, e.g. `images = images.astype('float32') {scale}` "
            "for uint8 pixels."
        )
    if low < bottom - _RANGE_TOLERANCE or high > top + _RANGE_TOLERANCE:
        raise ValueError(
            f"The training {what} range over [{low:.4g}, {high:.4g}], but {ends_in} "
            f"values in [{bottom:g}, {top:g}], so the discriminator would tell real "
            f"from fake by range alone. Scale your data to [{bottom:g}, {top:g}], e.g. "
            f"{_scaling_advice(value_range)}, or end the generator in a linear layer "
            "for unbounded data."
        )
    if value_range == (-1.0, 1.0) and low >= 0.0 and high > 0.5:
        warn(
            f"The training {what} range over [{low:.4g}, {high:.4g}] (no negative "
            f"values), but {ends_in} values in [-1, 1]: it must learn to avoid half "
            "its range, and fakes give themselves away by negative values. Scale "
            "[0, 1] data with `images * 2.0 - 1.0`, or end the generator in a sigmoid."
        )


# -------------------------------------------------------------------- labels
def label_error(num_classes: int, received: str) -> ValueError:
    """The one error for bad class labels, wherever they are found."""
    return ValueError(
        f"Class labels must be integers in [0, {num_classes}) (shape (batch,) or "
        f"(batch, 1)) or one-hot rows of width {num_classes}, for "
        f"num_classes={num_classes}. Received {received}."
    )


def format_label(value: float) -> str:
    """A label value as the user wrote it: `7`, `2.7`, `nan`."""
    value = float(value)
    return str(int(value)) if np.isfinite(value) and value == int(value) else f"{value:.6g}"


def check_labels(sample: Any, num_classes: int) -> None:
    """Raises `label_error` unless every label is a valid class id or one-hot row.

    Class ids (integers, or floats holding integers) must lie in
    `[0, num_classes)`; rows of width > 1 must be one-hot rows of width
    `num_classes`. Checks every label of `sample`.
    """
    if sample is None:
        return
    labels = np.asarray(sample)
    if labels.size == 0:
        return
    if labels.dtype.kind not in "iubf":
        raise label_error(num_classes, f"labels of dtype {labels.dtype}")
    if labels.ndim >= 2 and labels.shape[-1] > 1:
        width = labels.shape[-1]
        if width != num_classes:
            raise label_error(
                num_classes, f"one-hot labels of width {width} (labels of shape {labels.shape})"
            )
        rows = labels.reshape(-1, width).astype("float64")
        ok = np.all((rows == 0) | (rows == 1), axis=1) & (rows.sum(axis=1) == 1)
        if not ok.all():
            row = int(np.argmin(ok))
            raise label_error(num_classes, f"a row that is not one-hot: row {row} is {rows[row]}")
        return
    flat = labels.reshape(-1)
    if flat.dtype.kind == "f":
        whole = np.isfinite(flat) & (flat == np.floor(np.where(np.isfinite(flat), flat, 0)))
        if not whole.all():
            value = flat[int(np.argmin(whole))]
            raise label_error(num_classes, f"the non-integer label {format_label(value)}")
    low, high = flat.min(), flat.max()
    if low < 0 or high >= num_classes:
        raise label_error(num_classes, f"labels in [{format_label(low)}, {format_label(high)}]")


def check_player(name: str, player: Any) -> None:
    """Raises a clear `TypeError` unless `player` is a Keras layer or model."""
    if not isinstance(player, keras.layers.Layer):
        raise TypeError(
            f"`{name}` must be a keras.Model (or keras.layers.Layer). "
            f"Received: {name}={player!r} of type {type(player).__name__}"
        )
