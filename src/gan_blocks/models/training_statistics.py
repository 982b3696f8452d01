"""`TrainingStatistics`: what `gb.callbacks.TrainingMonitor` reads from the train step."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def mean_pairwise_distance(images: Any) -> Any:
    """Mean Euclidean distance between the distinct samples of a batch (float32 scalar)."""
    flat = ops.reshape(ops.cast(ops.stop_gradient(images), "float32"), (ops.shape(images)[0], -1))
    squares = ops.sum(ops.square(flat), axis=1)
    distances = squares[:, None] + squares[None, :] - 2.0 * ops.matmul(flat, ops.transpose(flat))
    distances = ops.sqrt(ops.maximum(distances, 0.0))
    count = ops.cast(ops.shape(flat)[0], "float32")
    return ops.sum(distances) / ops.maximum(count * (count - 1.0), 1.0)


class TrainingStatistics:
    """Mixin of `AdversarialModel`: optional statistics the step logs for the monitor.

    Off by default (the step computes none of them); `TrainingMonitor`
    turns them on with `enable_monitoring()`.
    """

    def enable_monitoring(self) -> None:
        """Makes the train step log what `gb.callbacks.TrainingMonitor` reads.

        Adds epoch means of: `d_real_accuracy` and `d_fake_accuracy` (the
        share of real logits above 0 and of generated ones below 0),
        `d_real_logit` and `d_fake_logit`, `diversity` (mean pairwise distance
        of the generated images in a batch over that of the real ones; 1 is as
        diverse as the data, near 0 is collapse), and `<group>_grad_norm` for
        every optimizer group (the global norm of the gradients each update
        applies, taken from the same backward pass). Without it the step
        computes none of these.
        """
        if self.monitoring:
            return
        names = ["d_real_accuracy", "d_fake_accuracy", "d_real_logit", "d_fake_logit", "diversity"]
        names += [f"{group}_grad_norm" for group in self.optimizer_groups()]
        self.monitor_trackers = [keras.metrics.Mean(name=name) for name in names]
        self.train_function = None  # Rebuilt with the statistics on the next fit.

    @property
    def monitoring(self) -> bool:
        """Whether the step logs the monitor's statistics (`enable_monitoring`)."""
        return bool(self.monitor_trackers)

    def _monitor(self, name: str) -> Any:
        for tracker in self.monitor_trackers:
            if tracker.name == name:
                return tracker
        raise KeyError(name)

    def _record_judgement(self, real_images: Any, fake_images: Any, real: Any, fake: Any) -> None:
        real = ops.cast(ops.stop_gradient(real), "float32")
        fake = ops.cast(ops.stop_gradient(fake), "float32")
        self._monitor("d_real_accuracy").update_state(ops.mean(ops.cast(real > 0, "float32")))
        self._monitor("d_fake_accuracy").update_state(ops.mean(ops.cast(fake < 0, "float32")))
        self._monitor("d_real_logit").update_state(ops.mean(real))
        self._monitor("d_fake_logit").update_state(ops.mean(fake))
        spread = mean_pairwise_distance(fake_images) / ops.maximum(
            mean_pairwise_distance(real_images), 1e-12
        )
        self._monitor("diversity").update_state(spread)

    def _gradient_norm_hook(self, group: str) -> dict:
        """`minimize`'s `on_gradients` that logs `<group>_grad_norm`, when monitoring."""
        if not self.monitoring:
            return {}
        tracker = self._monitor(f"{group}_grad_norm")

        def record(gradients: list, optimizer: Any) -> None:
            squares = [
                ops.sum(ops.square(ops.cast(g, "float32"))) for g in gradients if g is not None
            ]
            total = ops.sqrt(ops.sum(ops.stack(squares))) if squares else ops.zeros(())
            # Undo the loss scale of mixed_float16 (1 otherwise).
            scale = ops.cast(optimizer.scale_loss(ops.ones((), "float32")), "float32")
            tracker.update_state(total / scale)

        return {"on_gradients": record}
