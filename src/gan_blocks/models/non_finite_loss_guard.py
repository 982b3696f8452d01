"""A callback that stops training loudly when a GAN loss turns NaN or inf."""

from __future__ import annotations

import math

import keras

from gan_blocks.trainers import get_trainer


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Raises `FloatingPointError` naming the loss that became NaN or infinite.

    The GAN models add it to every `fit`, so training never continues silently
    on NaN weights.

    Reading a loss waits for its step to finish. On a GPU/TPU that per-step
    wait cost 1.3-1.5x DCGAN throughput (`benchmarks/gpu_check.sh`), so there
    the guard is `async_safe`: Keras checks the losses in a callback thread
    while the next steps run, and the error surfaces a few steps later (still
    naming the batch that went non-finite). On CPUs the synchronous check is
    the faster one.

    Args:
        monitor: Log keys to check after every batch.
        async_safe: Whether Keras may run the check asynchronously; `None`
            for "when the backend runs on an accelerator".
    """

    def __init__(self, monitor: tuple[str, ...], async_safe: bool | None = None):
        super().__init__()
        self.monitor = tuple(monitor)
        self._epoch = 0
        if async_safe is None:
            async_safe = get_trainer().runs_on_accelerator()
        self.async_safe = bool(async_safe)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        for key in self.monitor:
            if key not in logs:
                continue
            value = float(keras.ops.convert_to_numpy(logs[key]))
            if not math.isfinite(value):
                self.model.stop_training = True
                raise FloatingPointError(
                    f"Training stopped: `{key}` became {value} at epoch "
                    f"{self._epoch + 1}, batch {batch + 1}. Common causes: a "
                    "learning rate that is too high, images outside [-1, 1], a "
                    "discriminator without a final linear layer for a logit loss, "
                    "or float16 overflow (use mixed_bfloat16 or loss scaling)."
                )
