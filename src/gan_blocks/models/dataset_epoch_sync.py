"""`DatasetEpochSync`: tells a dataset with `set_epoch` which epoch the model is in."""

from __future__ import annotations

from typing import Any

import keras


class DatasetEpochSync(keras.callbacks.Callback):
    """Sets `dataset.set_epoch(completed steps // steps per epoch)` before every epoch.

    A dataset whose order depends on the epoch (`gb.data.UnpairedDataset`,
    like a torch `DistributedSampler`) cannot tell on its own how many
    epochs a resumed model has trained: Keras restarts its epoch count at
    every `fit` call and in every new process. The model's steps are saved
    with it (its last update group's optimizer `iterations`), so the epoch
    follows from them and a resumed run reads the batches an uninterrupted
    one reads.

    Args:
        dataset: The training data, with `set_epoch(epoch)` and `len()`.
        steps_per_epoch: `fit`'s `steps_per_epoch`, or `None` for `len(dataset)`.
    """

    def __init__(self, dataset: Any, steps_per_epoch: int | None = None):
        super().__init__()
        self.dataset = dataset
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        steps = self.model.trained_steps()
        per_epoch = int(self.steps_per_epoch or len(self.dataset))
        self.dataset.set_epoch(steps // max(per_epoch, 1))


def epoch_sync_callbacks(data: Any, steps_per_epoch: int | None = None) -> list:
    """`[DatasetEpochSync(data)]` when `data` has `set_epoch`, else `[]`.

    An endless `PyDataset` (`num_batches` None, e.g. `load_prepared(...,
    repeat=True)`) has no epochs to set: Keras' batch index runs on through
    `fit`'s epochs.
    """
    if isinstance(data, keras.utils.PyDataset) and data.num_batches is None:
        return []
    if callable(getattr(data, "set_epoch", None)) and callable(getattr(data, "__len__", None)):
        return [DatasetEpochSync(data, steps_per_epoch)]
    return []
