"""Helpers shared by the benchmark scripts (run as `python benchmarks/<name>.py`)."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every epoch in `times`."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)
