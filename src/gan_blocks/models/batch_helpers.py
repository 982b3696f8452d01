"""`BatchHelpers`: checking training batches and running networks batch by batch."""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.trainers import get_trainer

# One default for every batched inference helper (as `keras.Model.predict`).
DEFAULT_BATCH_SIZE = 32


def _matches(shape: tuple, expected: tuple) -> bool:
    return len(shape) == len(expected) and all(
        a is None or b is None or a == b for a, b in zip(shape, expected)
    )


def _shape_fix(shape: tuple, expected: tuple) -> str:
    """The fix for the two usual mistakes: no channel axis, channels first."""
    if _matches(shape + (1,), expected):
        return " Add the channel axis: `images[..., None]` (grayscale images of shape (H, W))."
    if len(shape) == 3 and _matches(shape[1:] + shape[:1], expected):
        return (
            " The images are channels-first: move the channels last with "
            "`np.transpose(images, (0, 2, 3, 1))`."
        )
    return ""


class BatchHelpers:
    """Mixin of `AdversarialModel`: the batch utilities every model's code calls."""

    @staticmethod
    def check_image_shape(images: Any, expected: tuple, what: str, source: str) -> Any:
        """Raises unless `images` is a batch of `expected`-shaped images.

        Args:
            images: A batch (array or tensor).
            expected: Shape of one image (`None` entries match anything).
            what: What the images are, for the message (e.g. "real images").
            source: What fixes the shape, for the message.

        Returns:
            `images`, checked again at run time where the traced shape left
            entries unknown (`get_trainer().ensure_shape`; TensorFlow traces
            one step for batches of differing shapes). Use the returned
            tensor: an unused check is pruned from the graph.
        """
        shape = tuple(images.shape[1:])
        if not _matches(shape, tuple(expected)):
            raise ValueError(
                f"Expected {what} of shape (batch, {', '.join(map(str, expected))}) to "
                f"match {source}, but received a batch of shape {tuple(images.shape)}."
                + _shape_fix(shape, tuple(expected))
            )
        name = "".join(c if c.isalnum() else "_" for c in what)
        return get_trainer().ensure_shape(images, (None,) + tuple(expected), name)

    @staticmethod
    def unpack_pair(data: Any, message: str) -> tuple[Any, Any]:
        """Splits `fit` data into its two inputs (`fit(x, y)` or `(x, y)` batches).

        Raises:
            ValueError: With `message` when the data has a single input.
        """
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None and isinstance(x, (list, tuple)) and len(x) == 2:
            x, y = x
        if y is None:
            raise ValueError(message)
        return x, y

    @staticmethod
    def as_float(images: Any) -> Any:
        """`images` as a tensor, cast to float32 unless it is floating already."""
        images = ops.convert_to_tensor(images)
        if not keras.backend.is_float_dtype(images.dtype):
            images = ops.cast(images, "float32")
        return images

    @staticmethod
    def predict_in_batches(
        function: Any,
        inputs: Any,
        batch_size: int = DEFAULT_BATCH_SIZE,
        pad_last_batch: bool = False,
    ) -> np.ndarray:
        """Applies `function` to `inputs` batch by batch and returns numpy.

        Args:
            function: Callable on one batch (a network called with
                `training=False`, or a lambda).
            inputs: An array, or a list/tuple of arrays sliced together.
            batch_size: Batch size.
            pad_last_batch: Pad a short last batch to `batch_size` rows (by
                repeating its last row; their outputs are dropped), so that a
                compiled `function` sees one shape and traces once.

        Returns:
            The float32 outputs, concatenated along the first axis.

        Example:
        >>> import numpy as np, gan_blocks as gb
        >>> gb.models.AdversarialModel.predict_in_batches(
        ...     lambda x: x * 2, np.ones((5, 2)), batch_size=2
        ... ).shape
        (5, 2)
        """
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={batch_size}")
        several = isinstance(inputs, (list, tuple))
        items = list(inputs) if several else [inputs]
        total = int(np.shape(items[0])[0])
        outputs = []
        for start in range(0, total, batch_size):
            batch = [item[start : start + batch_size] for item in items]
            pad = batch_size - int(np.shape(batch[0])[0]) if pad_last_batch else 0
            if pad:
                batch = [np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]) for x in batch]
            output = ops.convert_to_numpy(function(batch if several else batch[0]))
            outputs.append(np.asarray(output)[: batch_size - pad] if pad else output)
        return np.concatenate(outputs, axis=0).astype("float32")


def physical_memory_bytes() -> int | None:
    """This machine's physical memory in bytes, or `None` where the OS does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def check_output_fits_in_memory(num_samples: int, *sample_shapes: tuple) -> None:
    """Refuses a `generate` whose float32 arrays could not fit in this machine's memory.

    Without it, `generate(num_samples=10**11)` surfaced a backend's raw
    out-of-memory text (or a numpy `MemoryError`) after allocating.

    Args:
        num_samples: Samples asked for.
        *sample_shapes: The shape of each per-sample array (e.g. the image
            and the latent), without the batch axis.
    """
    memory = physical_memory_bytes()
    values = sum(int(np.prod([d for d in shape if d is not None])) for shape in sample_shapes)
    needed = int(num_samples) * values * 4
    if memory is not None and needed > memory:
        raise ValueError(
            f"generate(num_samples={num_samples}) would need {needed / 2**30:.1f} GiB for "
            f"the images and latents, more than this machine's {memory / 2**30:.1f} GiB of "
            "memory. Generate in chunks instead, e.g. `for seed in range(k): "
            "save(gan.generate(10_000, seed=seed))`."
        )
