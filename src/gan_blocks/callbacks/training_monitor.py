"""`TrainingMonitor`: says in plain words when a GAN's training goes wrong."""

from __future__ import annotations

import math
import warnings
from typing import Any

import keras
import numpy as np

from gan_blocks.validation import check_int

SIGNALS = ("discriminator_wins", "collapse", "divergence")

_FIXES = {
    "discriminator_wins": (
        "The generator gets vanishing gradients. Weaken or regularize the "
        "discriminator: one-sided label smoothing "
        "(gb.losses.NonSaturatingLoss(label_smoothing=0.1)), dropout in the "
        "discriminator, augmentation (gb.layers.DiffAugment or AdaptiveAugment, "
        "especially on small data sets), a lower discriminator learning rate, or a "
        "gradient penalty (gb.losses.R1Penalty)."
    ),
    "collapse": (
        "The generator produces nearly the same images for different latents (mode "
        "collapse). Try gb.layers.MinibatchStdDev in the discriminator, a lower "
        "generator learning rate, more discriminator steps (discriminator_steps=2), "
        "or the hinge/Wasserstein loss with a gradient penalty; restart from an "
        "earlier checkpoint, since a collapsed generator rarely recovers."
    ),
    "divergence": (
        "Lower the learning rates (DCGAN uses Adam(2e-4, beta_1=0.5)), check that the "
        "data is scaled to the generator's range, and stabilize the discriminator "
        "(spectral normalization, a gradient penalty)."
    ),
}


# Not `gan_blocks_export`ed: Keras never serializes callbacks.
class TrainingMonitor(keras.callbacks.Callback):
    """Watches an adversarial model's training and warns when it goes wrong.

    Add it to `fit`'s callbacks. It turns on the model's training statistics
    (`AdversarialModel.enable_monitoring`), which the train step computes from
    values it already has (no extra forward or backward pass), so each epoch's
    logs, and `History`, `CSVLogger` and `TensorBoard` with them, gain:
    `d_real_accuracy`, `d_fake_accuracy` (how often the discriminator is
    right on real and on generated images), `d_real_logit`, `d_fake_logit`,
    `diversity` (mean pairwise distance of generated images relative to real
    ones in the same batches: 1 is as diverse as the data), and
    `<group>_grad_norm` per player (e.g. `generator_grad_norm`).

    After every epoch it checks three signals and warns once each (Python
    `warnings`), in plain words with the likely fix:

    - `"discriminator_wins"`: both accuracies at least `win_accuracy` for
      `patience` epochs in a row while `g_loss` rose at every one of them
      (the accuracies are measured in training mode, where a discriminator
      with batch norm scores near 100% on all-real and all-fake batches even
      in healthy runs; the rising generator loss tells the two apart);
    - `"collapse"`: `diversity` below `collapse_diversity` for `patience`
      epochs in a row (models that draw latents only: a translator such as
      `Pix2Pix` or `CycleGAN` declares, in its `monitor_signals`, that it
      has no latents to collapse);
    - `"divergence"`: a loss, mean logit or gradient norm that is not
      finite, a loss or mean logit beyond `divergence_limit` in magnitude
      (GAN losses on logits live around 0.1-10), or a loss or gradient norm
      over `divergence_factor` times its first-epoch value (floored at 1).

    Signals listed in `stop_on` also stop training. With `restore_best=True`,
    when training ends in an epoch with a signal, the weights of the last
    epoch without one are restored (the monitor keeps one copy of them).

    Args:
        patience: Consecutive epochs a condition must hold (wins, collapse).
        win_accuracy: Accuracy on both real and generated images above which
            the discriminator is winning.
        collapse_diversity: Relative diversity below which samples collapse.
        divergence_factor: Growth over the first epoch that counts as
            divergence.
        divergence_limit: Magnitude of a loss or mean logit that counts as
            divergence whatever the first epoch did.
        stop_on: Signals that stop training, among `"discriminator_wins"`,
            `"collapse"`, `"divergence"`.
        restore_best: Restore the last healthy epoch's weights at the end.

    Attributes:
        signals: `{epoch: [signal, ...]}` for every epoch that raised one.

    Example:
    >>> import gan_blocks as gb
    >>> monitor = gb.callbacks.TrainingMonitor(stop_on=("collapse",), restore_best=True)
    >>> monitor.stop_on
    ('collapse',)
    """

    def __init__(
        self,
        patience: int = 3,
        win_accuracy: float = 0.95,
        collapse_diversity: float = 0.2,
        divergence_factor: float = 100.0,
        divergence_limit: float = 1e4,
        stop_on: tuple[str, ...] = (),
        restore_best: bool = False,
    ):
        super().__init__()
        if isinstance(stop_on, str):
            stop_on = (stop_on,)
        unknown = [signal for signal in stop_on if signal not in SIGNALS]
        if unknown:
            raise ValueError(
                f"Unknown signal {unknown[0]!r} in stop_on={stop_on!r}. Known signals: "
                f"{', '.join(SIGNALS)}."
            )
        patience = check_int("patience", patience, minimum=1)
        self.patience = patience
        self.win_accuracy = float(win_accuracy)
        self.collapse_diversity = float(collapse_diversity)
        self.divergence_factor = float(divergence_factor)
        self.divergence_limit = float(divergence_limit)
        self.stop_on = tuple(stop_on)
        self.restore_best = bool(restore_best)
        self.signals: dict[int, list[str]] = {}

    def set_model(self, model: Any) -> None:
        if not callable(getattr(model, "enable_monitoring", None)):
            raise TypeError(
                "TrainingMonitor watches gan-blocks adversarial models (GAN, ConditionalGAN, "
                "Pix2Pix, CycleGAN, AdversarialModel subclasses). "
                f"Received: {type(model).__name__}."
            )
        super().set_model(model)
        model.enable_monitoring()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.signals = {}
        self._history: list[dict[str, float]] = []
        self._warned: set[str] = set()
        self._first: dict[str, float] = {}
        self._healthy_weights: list | None = None
        self._last_epoch_healthy = True

    # ----------------------------------------------------------------- checks
    def _streak(self, condition: Any) -> bool:
        recent = self._history[-self.patience :]
        return len(recent) == self.patience and all(condition(row) for row in recent)

    def _discriminator_wins(self) -> str | None:
        def winning(row: dict) -> bool:
            return (
                row.get("d_real_accuracy", 0.0) >= self.win_accuracy
                and row.get("d_fake_accuracy", 0.0) >= self.win_accuracy
            )

        if not self._streak(winning):
            return None
        last = self._history[-1]
        # And g_loss rose at every epoch since the one before the streak: with
        # batch norm, a discriminator judging all-real and all-fake batches
        # scores near 100% in training mode even in healthy runs, whose g_loss
        # then levels off.
        window = self._history[max(len(self._history) - self.patience - 1, 0) :]
        before = window[0]
        losses = [row.get("g_loss", math.nan) for row in window]
        if len(losses) < 2 or not all(b > a for a, b in zip(losses, losses[1:])):
            return None
        return (
            f"The discriminator is winning: for {self.patience} epoch(s) it classified "
            f"{last['d_real_accuracy']:.0%} of real and {last['d_fake_accuracy']:.0%} of "
            f"generated images correctly while g_loss went from "
            f"{before.get('g_loss', math.nan):.3g} to {last.get('g_loss', math.nan):.3g}."
        )

    def _collapse(self) -> str | None:
        if not self._streak(lambda row: row.get("diversity", 1.0) < self.collapse_diversity):
            return None
        return (
            f"The samples are collapsing: for {self.patience} epoch(s) generated images in a "
            f"batch were only {self._history[-1]['diversity']:.2f}x as far apart as real ones "
            f"(1.0 is as diverse as the data; the threshold is {self.collapse_diversity})."
        )

    def _divergence(self) -> str | None:
        row = self._history[-1]
        for key, value in row.items():
            relative = key.endswith("_loss") or key.endswith("_grad_norm")
            absolute = key.endswith("_loss") or key.endswith("_logit")
            if not (relative or absolute):
                continue
            if not math.isfinite(value):
                return f"`{key}` became {value}."
            if absolute and abs(value) > self.divergence_limit:
                return (
                    f"`{key}` reached {value:.4g}, beyond {self.divergence_limit:g} in "
                    "magnitude: training is diverging."
                )
            first = self._first.setdefault(key, value)
            if relative and abs(value) > self.divergence_factor * max(abs(first), 1.0):
                return (
                    f"`{key}` reached {value:.4g}, over {self.divergence_factor:g}x its "
                    f"first-epoch value ({first:.4g}): training is diverging."
                )
        return None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row = {key: float(np.asarray(value)) for key, value in (logs or {}).items()}
        self._history.append(row)
        raised = []
        # Each model kind declares the signals that mean something for it.
        watched = getattr(self.model, "monitor_signals", SIGNALS)
        for signal, check in (
            ("discriminator_wins", self._discriminator_wins),
            ("collapse", self._collapse),
            ("divergence", self._divergence),
        ):
            if signal not in watched:
                continue
            message = check()
            if message is None:
                continue
            raised.append(signal)
            if signal not in self._warned:
                self._warned.add(signal)
                warnings.warn(
                    f"TrainingMonitor, epoch {epoch + 1}: {message} {_FIXES[signal]}",
                    stacklevel=2,
                )
        if raised:
            self.signals[epoch] = raised
        self._last_epoch_healthy = not raised
        if not raised and self.restore_best:
            self._healthy_weights = [np.array(w) for w in self.model.get_weights()]
        if any(signal in self.stop_on for signal in raised):
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.restore_best and not self._last_epoch_healthy and self._healthy_weights:
            self.model.set_weights(self._healthy_weights)
