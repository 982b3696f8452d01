"""A callback that stops training loudly when a GAN loss turns NaN or inf."""

from __future__ import annotations

import collections
import math
import threading
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.backend import (
    callbacks_run_synchronously,
    copy_state,
    runs_on_accelerator,
    sync_model_state,
)
from gan_blocks.models import input_checks

# The guard warns once per loss and `fit` when a loss exceeds this many times
# its first value (floored at 1).
DIVERGENCE_FACTOR = 1e4

_NOT_RESTORED = (
    " The weights were left as they are: on an accelerator the guard checks "
    "asynchronously and keeps no snapshot, so reload your last checkpoint."
)


def state_variables(model: Any) -> list:
    """The variables a training step changes: weights, seeds, optimizer state."""
    variables = list(model.trainable_variables) + list(model.non_trainable_variables)
    optimizer = getattr(model, "optimizer", None)
    return variables + (list(optimizer.variables) if optimizer is not None else [])


def current_values(model: Any, variables: list | None = None, every: list | None = None) -> list:
    """The current values of `state_variables(model)` (or of some of them), during `fit` too.

    JAX's trainer keeps the values in its own state during `fit` and empties
    the variables meanwhile; this reads that state instead, without writing it
    back (which would cost an assignment per variable per batch). `every` is
    `state_variables(model)` when the caller has it already.
    """
    every = state_variables(model) if every is None else every
    state = getattr(model, "_jax_state", None)
    if state and not getattr(model, "_jax_state_synced", True):
        values = (
            list(state["trainable_variables"])
            + list(state["non_trainable_variables"])
            + list(state["optimizer_variables"] or [])
        )
    else:
        values = [variable.value for variable in every]
    if variables is None:
        return values
    position = {id(variable): index for index, variable in enumerate(every)}
    return [values[position[id(variable)]] for variable in variables]


def _first_non_finite(values: list) -> int | None:
    """The index of the first float value holding a NaN or inf, or `None`."""
    for index, value in enumerate(values):
        if keras.backend.is_float_dtype(keras.backend.standardize_dtype(value.dtype)):
            if not np.all(np.isfinite(ops.convert_to_numpy(value))):
                return index
    return None


def _all_finite(values: list) -> bool:
    return _first_non_finite(values) is None


def _path(variable: Any) -> str:
    return str(getattr(variable, "path", None) or getattr(variable, "name", "?"))


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training on a NaN or infinite loss, restoring the last finite weights.

    The models add it to every `fit`. After each batch it reads the monitored
    losses and:

    - raises `FloatingPointError` naming the loss that became NaN or infinite
      and the likely causes, after restoring in memory the weights, seed and
      optimizer state of the last step whose losses were finite;
    - at the start of `fit` and after every epoch, checks the weights and
      optimizer state themselves: a NaN or inf there (e.g. a batch-norm
      moving variance that overflowed, or a compiler that evaluates a loss
      of NaN logits as a finite number) raises `FloatingPointError` naming
      the variable, even while every loss stayed finite;
    - warns (Python `warnings`, once per loss and `fit`) when a loss exceeds
      `divergence_factor` times its first value in this `fit` (floored at 1,
      so losses near 0 are not flagged): Adam at a learning rate of 1e3
      drives GAN losses to 1e7 while they stay finite.

    **Snapshots.** On the synchronous path (the check runs on the main thread,
    between steps: always on TensorFlow, and on CPUs) the guard copies the
    state (weights, seed states, optimizer variables) after every batch with
    finite losses, on the device (`ops.copy`: no transfer to the host). It
    keeps the last two, plus one taken before training, and restores the
    newest one holding only finite values: a step can return finite losses
    while its update writes NaN (e.g. a NaN gradient). The error says which
    batch the restored state is from. Cost: up to three extra copies of the
    state in memory, and one copy per batch, made in one compiled call
    (DCGAN at 28x28, 2.7 M values: about 1.1 ms per batch on TensorFlow and
    1.2 ms on JAX on a 2-core CPU, against steps of 80-100 ms; on torch the
    copy goes into the memory of the snapshot it replaces, in one fused
    call).

    **Asynchronous path.** Reading a loss waits for its step to finish. On a
    GPU/TPU that per-step wait cost 1.3-1.5x DCGAN throughput
    (`benchmarks/gpu_check.sh`), so there the guard is `async_safe`: Keras
    runs it in callback threads while the next steps run; the threads only
    record what they find, and the main thread raises between two steps, a
    few steps later (still naming the first batch that went non-finite).
    The weights keep changing while the guard looks, so on that path it
    takes no snapshots, restores nothing, and the error says so: reload the
    last checkpoint (e.g. from `keras.callbacks.ModelCheckpoint`).

    Args:
        monitor: Log keys to check after every batch.
        async_safe: Whether Keras may run the check asynchronously; `None`
            for "when the backend runs on an accelerator".
        divergence_factor: How many times its first value a finite loss may
            grow before the guard warns; `None` disables the warning.
    """

    def __init__(
        self,
        monitor: tuple[str, ...],
        async_safe: bool | None = None,
        divergence_factor: float | None = DIVERGENCE_FACTOR,
    ):
        super().__init__()
        self.monitor = tuple(monitor)
        self._epoch = 0
        if async_safe is None:
            async_safe = runs_on_accelerator()
        self.async_safe = bool(async_safe)
        self.divergence_factor = divergence_factor
        self._first_values: dict[str, float] = {}
        self._warned: set[str] = set()
        self._snapshots: collections.deque = collections.deque(maxlen=2)
        self._initial: tuple[str, list] | None = None
        self._state_variables: list | None = None
        self._lock = threading.Lock()
        self._checked: set[tuple[int, int]] = set()
        self._failure: tuple[int, int, str, float] | None = None

    # ------------------------------------------------------------- snapshots
    def _synchronous(self) -> bool:
        return threading.current_thread() is threading.main_thread()

    def _copy_state(self, reuse: list | None = None) -> list:
        values = current_values(self.model, every=self._state_variables)
        return copy_state(values, reuse)

    def on_train_begin(self, logs: dict | None = None) -> None:
        # The variables do not change during `fit`: found once, not per batch.
        self._state_variables = state_variables(self.model)
        self._first_values.clear()
        self._warned.clear()
        self._snapshots.clear()
        self._initial = None
        self._failure = None
        # Keras dispatches batch callbacks synchronously on TensorFlow and
        # whenever the guard is not async_safe: only then can it restore.
        if not self.async_safe or callbacks_run_synchronously():
            self._initial = ("before training", self._copy_state())
        values = self._initial[1] if self._initial else current_values(self.model)
        bad = _first_non_finite(values)
        if bad is not None:
            raise ValueError(
                f"The model's variable `{_path(self._state_variables[bad])}` holds NaN or "
                "inf values before training: reload or rebuild the model (a previous run "
                "may have diverged, or a checkpoint was saved after it did)."
            )

    def on_train_end(self, logs: dict | None = None) -> None:
        self._snapshots.clear()  # Frees the copies.
        self._initial = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        with self._lock:
            self._checked.clear()

    def _restore(self) -> str:
        """Restores the newest finite snapshot; returns a sentence for the error."""
        candidates = list(reversed(self._snapshots))
        if self._initial is not None:
            candidates.append(self._initial)
        variables = state_variables(self.model)
        for when, values in candidates:
            if len(values) == len(variables) and _all_finite(values):
                sync_model_state(self.model)
                for variable, value in zip(variables, values):
                    variable.assign(value)
                return (
                    f" The weights and optimizer state from {when} (the last finite "
                    "state) were restored in memory."
                )
        return " No finite snapshot of the weights was available; they were left as they are."

    # ----------------------------------------------------------------- check
    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        failure = None
        for key in self.monitor:
            if key not in logs:
                continue
            value = float(keras.ops.convert_to_numpy(logs[key]))
            if not math.isfinite(value):
                failure = (self._epoch, batch, key, value)
                break
            with self._lock:
                self._check_divergence(key, value, batch)
        if self._synchronous():
            if failure is not None:
                self.model.stop_training = True
                raise FloatingPointError(self._message(*failure, self._restore()))
            when = f"batch {batch + 1} of epoch {self._epoch + 1}"
            # The oldest snapshot leaves the deque now: its memory takes the copy.
            full = len(self._snapshots) == self._snapshots.maxlen
            reuse = self._snapshots.popleft()[1] if full else None
            self._snapshots.append((when, self._copy_state(reuse)))
            return
        # In Keras' callback threads (several, out of order) only record: the
        # main thread raises between steps, where the model state is whole.
        with self._lock:
            self._checked.add((self._epoch, batch))
            if failure is not None and (self._failure is None or failure < self._failure):
                self._failure = failure

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._raise_recorded_failure(all_checked=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # Keras has waited for every callback thread before this call.
        self._raise_recorded_failure(all_checked=True)
        self._check_state(epoch)

    def _check_state(self, epoch: int) -> None:
        """Raises when a variable went non-finite while the losses stayed finite."""
        bad = _first_non_finite(current_values(self.model, every=self._state_variables))
        if bad is None:
            return
        self.model.stop_training = True
        # Snapshots exist where the checks ran in step with training.
        restored = self._restore() if self._initial is not None else _NOT_RESTORED
        raise FloatingPointError(
            f"Training stopped: the variable `{_path(self._state_variables[bad])}` holds "
            f"NaN or inf values after epoch {epoch + 1}, although every logged loss was "
            "finite (a weight update or a statistic such as a batch-norm moving variance "
            "overflowed; common causes: float16 overflow, a learning rate that is too high)."
            + restored
        )

    def _raise_recorded_failure(self, all_checked: bool) -> None:
        with self._lock:
            failure = self._failure
            if failure is None:
                return
            epoch, batch = failure[:2]
            # Report the earliest bad batch: wait until every batch before it is checked.
            if not all_checked and not all(
                (epoch, earlier) in self._checked for earlier in range(batch)
            ):
                return
        raise FloatingPointError(self._message(*failure, _NOT_RESTORED))

    def _message(self, epoch: int, batch: int, key: str, value: float, restored: str) -> str:
        # The model's own likely causes (a VAE has no discriminator), if it names them.
        causes = getattr(self.model, "non_finite_loss_causes", None) or (
            "images outside the generator's range, a discriminator without a final "
            "linear layer for a logit loss"
        )
        return (
            f"Training stopped: `{key}` became {value} at epoch {epoch + 1}, batch "
            f"{batch + 1}. Common causes: NaN or inf values in the training data (fit "
            "checks numpy arrays in full, a dataset by its first batch only), a learning "
            f"rate that is too high, {causes}, or float16 "
            f"overflow (use mixed_bfloat16 or loss scaling).{restored}"
        )

    def _check_divergence(self, key: str, value: float, batch: int) -> None:
        if self.divergence_factor is None:
            return
        first = self._first_values.setdefault(key, value)
        reference = max(abs(first), 1.0)
        if key not in self._warned and abs(value) > self.divergence_factor * reference:
            self._warned.add(key)
            input_checks.warn(
                f"`{key}` reached {value:.4g} at epoch {self._epoch + 1}, batch "
                f"{batch + 1}: over {self.divergence_factor:g}x its first value in this "
                f"fit ({first:.4g}). Training is probably diverging: lower the learning "
                "rate (DCGAN uses Adam(2e-4, beta_1=0.5)), check that the data is "
                "scaled to the generator's range, or stabilize the discriminator "
                "(gradient penalty, spectral normalization)."
            )
