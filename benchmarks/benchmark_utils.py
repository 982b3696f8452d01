"""Helpers shared by the benchmark scripts (run as `python benchmarks/<name>.py`)."""

import json
import os
import subprocess
import sys
import tempfile
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


def run_in_cold_torch_process(script, arguments):
    """Runs `python script *arguments` on torch with a fresh TorchInductor cache.

    A new process and an empty `TORCHINDUCTOR_CACHE_DIR` make every case pay
    the compilation a first run pays. The script prints one JSON object as its
    last line, which is returned.
    """
    env = dict(
        os.environ,
        KERAS_BACKEND="torch",
        TORCHINDUCTOR_CACHE_DIR=tempfile.mkdtemp(prefix="inductor-"),
    )
    command = [sys.executable, script, *[str(argument) for argument in arguments]]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])
