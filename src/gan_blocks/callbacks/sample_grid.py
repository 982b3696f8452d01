"""`SampleGrid`: writes a PNG grid of samples from fixed inputs every few epochs."""

from __future__ import annotations

import math
import os
from typing import Any

import keras
import numpy as np


def image_grid(
    images: Any, columns: int | None = None, value_range: tuple[float, float] = (-1.0, 1.0)
) -> np.ndarray:
    """Tiles images into one uint8 picture, row-major, with a 1-pixel border.

    Args:
        images: Array `(n, height, width, channels)` (channels 1 or 3).
        columns: Images per row; default is the square root of `n`, rounded up.
        value_range: Pixel range mapped to [0, 255], `(-1, 1)` for tanh outputs.

    Returns:
        A `(rows * (height + 1) + 1, columns * (width + 1) + 1, channels)` uint8 array.

    Example:
    >>> import numpy as np
    >>> from gan_blocks.callbacks import image_grid
    >>> image_grid(np.zeros((4, 8, 8, 1)), columns=2).shape
    (19, 19, 1)
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise ValueError(
            f"image_grid expects (n, height, width, channels); received shape {images.shape}."
        )
    low, high = value_range
    pixels = np.clip((images - low) / (high - low), 0.0, 1.0) * 255.0
    count, height, width, channels = pixels.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1, channels), 255.0, "float32")
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = 1 + row * (height + 1), 1 + column * (width + 1)
        grid[top : top + height, left : left + width] = pixels[index]
    return grid.round().astype("uint8")


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of the model's `preview_samples()` every few epochs.

    Works with every model that defines `preview_samples(num_samples, seed,
    inputs)` (all gan-blocks models, and your own `gb.models.AdversarialModel`
    subclasses). Random inputs are drawn from `seed`, so successive grids show
    how the same samples evolve. `ConditionalGAN` cycles classes along rows;
    `Pix2Pix` needs `inputs=(sources, targets)` and shows source | output |
    target rows; `CycleGAN` takes `inputs=images_a` and shows A | A->B | A->B->A.
    Files are named `epoch_0001.png`, ...

    With `tensorboard_dir`, each grid is also written as an image summary
    (tag `tag`, step = epoch number) that TensorBoard's "Images" tab shows,
    next to the scalars of `keras.callbacks.TensorBoard` when both point at
    the same folder (Keras writes to `<log_dir>/train`). The writer is
    TensorFlow's `tf.summary` when TensorFlow is installed (as for Keras'
    own `TensorBoard` callback), otherwise `torch.utils.tensorboard`; both
    need the `tensorboard` package (`pip install "gan-blocks[tensorboard]"`).

    Args:
        directory: Folder to write the PNG files to (created if needed).
        num_samples: Number of samples (or input rows) in the grid.
        every_n_epochs: Write a grid every this many epochs.
        seed: Seed of the fixed random inputs.
        inputs: Fixed model inputs (e.g. `(sources, targets)` for `Pix2Pix`).
        value_range: Pixel range of the model's images; default: the model's
            `sample_value_range` (`(-1, 1)` for tanh generators, `(0, 1)`
            for a `VAE`).
        pairs: Older name of `inputs`.
        tensorboard_dir: Optional log folder for TensorBoard image summaries.
        tag: Name of the image summary.

    Example:
    >>> import gan_blocks as gb
    >>> callback = gb.callbacks.SampleGrid("runs/samples", num_samples=16)
    >>> callback.every_n_epochs
    1
    """

    def __init__(
        self,
        directory: str,
        num_samples: int = 64,
        every_n_epochs: int = 1,
        seed: int = 0,
        inputs: Any = None,
        value_range: tuple[float, float] | None = None,
        pairs: tuple[Any, Any] | None = None,
        tensorboard_dir: str | None = None,
        tag: str = "samples",
    ):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"`every_n_epochs` must be >= 1. Received: {every_n_epochs}")
        if inputs is not None and pairs is not None:
            raise ValueError("Pass `inputs` or its older name `pairs`, not both.")
        self.directory = directory
        self.num_samples = int(num_samples)
        self.every_n_epochs = int(every_n_epochs)
        self.seed = seed
        self.inputs = inputs if inputs is not None else pairs
        self.value_range = value_range
        self.paths: list[str] = []
        self.tensorboard_dir = tensorboard_dir
        self.tag = tag
        # Checked now, not at the first epoch's end: a missing writer should
        # not surface after an epoch of training.
        self._summary_writer = _image_summary_writer(tensorboard_dir) if tensorboard_dir else None

    @property
    def pairs(self) -> Any:
        """Older name of `inputs`."""
        return self.inputs

    def _range(self) -> tuple[float, float]:
        if self.value_range is not None:
            return tuple(self.value_range)
        return tuple(getattr(self.model, "sample_value_range", (-1.0, 1.0)))

    def samples(self) -> tuple[np.ndarray, int | None]:
        """Returns the images of the grid and its number of columns."""
        return self._preview_method()(self.num_samples, seed=self.seed, inputs=self.inputs)

    def _preview_method(self) -> Any:
        preview = getattr(self.model, "preview_samples", None)
        if preview is None:
            raise TypeError(
                f"SampleGrid needs a model with a `preview_samples(num_samples, seed, "
                f"inputs)` method; {type(self.model).__name__} has none. Subclass "
                "gb.models.AdversarialModel or define the method."
            )
        return preview

    def on_train_begin(self, logs: dict | None = None) -> None:
        # Wrong or missing `inputs` are reported now, not after the first epoch.
        self._preview_method()
        check = getattr(self.model, "check_preview_inputs", None)
        if check is not None:
            check(self.inputs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every_n_epochs:
            return
        images, columns = self.samples()
        grid = image_grid(images, columns=columns, value_range=self._range())
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"epoch_{epoch + 1:04d}.png")
        keras.utils.save_img(path, grid, scale=False)
        self.paths.append(path)
        if self._summary_writer is not None:
            self._summary_writer(self.tag, grid, epoch + 1)


def _image_summary_writer(log_dir: str) -> Any:
    """Returns `write(tag, uint8_image, step)` for TensorBoard event files in `log_dir`."""
    try:
        import tensorboard  # noqa: F401  (both writers below need it for images)
    except ImportError as error:
        raise ImportError(
            "SampleGrid(tensorboard_dir=...) needs the `tensorboard` package: "
            'pip install tensorboard (or "gan-blocks[tensorboard]").'
        ) from error
    try:
        import tensorflow as tf
    except ImportError:
        tf = None
    if tf is not None:
        with tf.device("/CPU:0"):
            writer = tf.summary.create_file_writer(log_dir)

        def write(tag: str, image: np.ndarray, step: int) -> None:
            with tf.device("/CPU:0"), writer.as_default():
                tf.summary.image(tag, image[None], step=step)
            writer.flush()

        return write
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ImportError(
            "SampleGrid(tensorboard_dir=...) writes TensorBoard summaries with TensorFlow's "
            "tf.summary or torch.utils.tensorboard; neither can be imported here: install "
            "TensorFlow or PyTorch."
        ) from error
    torch_writer = SummaryWriter(log_dir)

    def write(tag: str, image: np.ndarray, step: int) -> None:
        torch_writer.add_image(tag, image, global_step=step, dataformats="HWC")
        torch_writer.flush()

    return write
