"""Helpers shared by the example scripts (not part of gan-blocks).

Each example imports this file from its own folder (`python examples/dcgan.py`
puts `examples/` on `sys.path`); copy it along with a script you take away.
It imports neither Keras nor TensorFlow at import time, so `--help` answers at
once.
"""

import argparse
import contextlib
import os
import sys


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default and keeps the script's docstring as written."""


def positive(kind):
    """An argparse `type` that accepts `kind(text) > 0` only (`--epochs -3` is an error)."""

    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def non_negative(kind):
    """An argparse `type` that accepts `kind(text) >= 0` only."""

    def parse(text):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    return parse


def refuse_to_overwrite(parser, path, overwrite):
    """Stops with a usage error when `path` exists and `--overwrite` was not given.

    A trained checkpoint is never replaced silently (for example by a run with
    a typo in `--epochs`).
    """
    if os.path.exists(path) and not overwrite:
        parser.error(f"{path} exists: pass --overwrite, or another --output")


@contextlib.contextmanager
def quiet_startup():
    """Hides TensorFlow's C++ start-up lines while Keras is imported.

    On every run TensorFlow prints oneDNN, CPU-instruction and CUDA-probe lines
    (on machines without a GPU: `E0000 ... failed call to cuInit`), some of
    them before it reads `TF_CPP_MIN_LOG_LEVEL`. Unless you set that variable
    yourself (`TF_CPP_MIN_LOG_LEVEL=0` shows everything), this sets it to 3 and
    sends the process's standard error to /dev/null for the duration of the
    import. Python errors are unaffected: the redirect ends before an
    exception leaves the `with` block, so its traceback is printed as usual.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def training_csv_logger(path):
    """A `keras.callbacks.CSVLogger` with the columns that training logs, no more.

    Keras' logger adds an always-empty `val_<name>` column for every metric
    when the first epoch has no validation keys (it expects validation every
    few epochs). The examples never validate inside `fit`, so their
    `metrics.csv` keeps only the logged columns.
    """
    import keras

    class TrainingCSVLogger(keras.callbacks.CSVLogger):
        def on_epoch_end(self, epoch, logs=None):
            if self.keys is None and logs:
                self.keys = sorted(logs)
            super().on_epoch_end(epoch, logs)

    return TrainingCSVLogger(path)
