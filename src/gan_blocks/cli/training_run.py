"""`TrainingRun`: `gan-blocks train`'s snapshot loop, resumable exactly after a kill.

The run is cut into snapshots of `snapshot_kimg` thousand images. Each is one
`fit` call over the prepared dataset as an endless stream that starts at the
run's global step (`gb.data.load_prepared(repeat=True, start_batch=step)`:
batches are functions of `(seed, epoch, batch index)` only). After each
snapshot the run writes a sample grid, the FID (when reference statistics
are given), a metrics row and then the checkpoint, the last thing it writes:
everything a resumed run needs (weights, optimizer and seed states, EMA,
augmentation state) is in the `.keras` file, so `load_model` plus the same
stream from the saved step trains exactly as the uninterrupted run would.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from gan_blocks.backend import auto_jit_compile_decided_in_fit
from gan_blocks.cli import train_recipes
from gan_blocks.cli.train_checkpoints import Checkpoints, write_json_atomically

RUN_FILE = "run.json"
FINAL_MODEL = "final.keras"
METRICS_FILE = "metrics.csv"
# Reference statistics of the training images, looked for in the dataset folder.
REFERENCE_FILE = "reference_statistics.npz"
# Settings a resumed run may change: they do not alter the training itself.
CHANGEABLE_ON_RESUME = ("kimg", "snapshot_kimg", "keep_checkpoints", "workers", "tensorboard")

DEFAULTS: dict[str, Any] = {
    "augment": "none",
    "batch": 32,
    "cond": False,
    "ema": "auto",
    "fid_extractor": None,
    "fid_reference": None,
    "fid_samples": 5000,
    "fid_weights": None,
    "grid": 64,
    "jit_compile": "auto",
    "keep_checkpoints": 3,
    "lr": None,
    "preset": "auto",
    "seed": 0,
    "snapshot_kimg": None,
    "tensorboard": False,
    "workers": 1,
    "xflip": True,
}
REQUIRED = ("data", "model", "kimg", "out")


def steps_for(kimg: float, batch: int) -> int:
    """Training steps of `kimg` thousand images at `batch` images a step (at least one)."""
    return max(1, math.ceil(round(float(kimg) * 1000.0, 6) / batch))


class TrainingRun:
    """One `gan-blocks train` run in its output folder.

    Args:
        config: The run's settings (`DEFAULTS` plus `data`, `model`, `kimg`,
            `out`).
        resume: Continue from the folder's latest checkpoint.
        log: Where progress lines go.
        callbacks: Extra Keras callbacks of every `fit` (tests use one to
            interrupt a run).
    """

    def __init__(
        self,
        config: dict[str, Any],
        resume: bool = False,
        log: Callable[[str], None] = print,
        callbacks: list | None = None,
    ):
        self.config = dict(DEFAULTS, **{k: v for k, v in config.items() if v is not None})
        missing = [key for key in REQUIRED if self.config.get(key) is None]
        if missing:
            flags = ", ".join("--" + key.replace("_", "-") for key in missing)
            raise ValueError(f"Missing {flags} (give them on the command line or in --config).")
        self.resume = resume
        self.log = log
        self.callbacks = list(callbacks or [])
        self.out = os.fspath(self.config["out"])
        self._check_settings()
        self.checkpoints = Checkpoints(
            os.path.join(self.out, "checkpoints"), self.config["keep_checkpoints"]
        )

    # ------------------------------------------------------------ checks
    def _check_settings(self) -> None:
        from gan_blocks.data.load_prepared import read_prepared_manifest

        config = self.config
        train_recipes.check_model_name(config["model"])
        train_recipes.check_preset(config["model"], config["preset"])
        if config["augment"] not in ("ada", "diffaugment", "none"):
            raise ValueError(
                f"Unknown --augment {config['augment']!r}; choose ada, diffaugment or none."
            )
        if str(config["jit_compile"]).lower() not in ("auto", "true", "false"):
            raise ValueError(
                f"--jit-compile takes auto, true or false. Received: {config['jit_compile']!r}"
            )
        for key in ("kimg", "batch", "grid", "workers", "fid_samples"):
            if float(config[key]) <= 0:
                raise ValueError(f"--{key.replace('_', '-')} must be > 0. Received: {config[key]}")
        config["data"] = os.path.abspath(config["data"])
        self.manifest = read_prepared_manifest(config["data"])
        self.resolution = int(self.manifest["resolution"])
        self.channels = int(self.manifest["channels"])
        train_recipes.check_resolution(config["model"], self.resolution)
        train_recipes.ema_setting(config["model"], config["ema"])
        if int(config["batch"]) > int(self.manifest["count"]):
            raise ValueError(
                f"--batch {config['batch']} is larger than the dataset ({self.manifest['count']} "
                "images)."
            )
        label_names = self.manifest.get("label_names")
        has_labels = any(shard.get("labels") for shard in self.manifest["shards"])
        if config["cond"] and not has_labels:
            raise ValueError(
                f"--cond needs a dataset with labels; {config['data']!r} has none. Prepare it "
                "with `gan-blocks prepare SRC DST --labels folders`."
            )
        train_recipes.check_conditional(config["model"], bool(config["cond"]))
        self.num_classes = None
        if config["cond"]:
            self.num_classes = len(label_names) if label_names else None
            if not self.num_classes or self.num_classes < 2:
                raise ValueError(
                    f"--cond needs at least 2 classes; {config['data']!r} names {label_names!r}."
                )
        total = steps_for(config["kimg"], int(config["batch"]))
        snapshot_kimg = config["snapshot_kimg"] or float(config["kimg"]) / 10
        self.total_steps = total
        self.snapshot_steps = min(total, steps_for(snapshot_kimg, int(config["batch"])))

    def _jit_argument(self) -> bool | str:
        value = str(self.config["jit_compile"]).lower()
        return value == "true" if value in ("true", "false") else "auto"

    # ------------------------------------------------------------ folder
    def _prepare_folder(self) -> tuple[Any, dict[str, Any] | None]:
        """Writes (or checks) run.json; returns `(model path, state)` to resume, or `None`."""
        run_path = os.path.join(self.out, RUN_FILE)
        existing = None
        if os.path.exists(run_path):
            with open(run_path, encoding="utf-8") as file:
                existing = json.load(file)
        latest = self.checkpoints.latest()
        if not self.resume:
            if existing is not None or latest is not None:
                raise ValueError(
                    f"{self.out!r} already holds a run ({RUN_FILE}"
                    + (f", checkpoint at step {latest[1]['step']}" if latest else "")
                    + "): pass --resume to continue it, or choose another --out."
                )
        elif existing is not None:
            changed = [
                key
                for key in existing.get("settings", {})
                if key not in CHANGEABLE_ON_RESUME
                and key != "out"
                and _normalized(existing["settings"][key]) != _normalized(self.config.get(key))
            ]
            if changed:
                details = ", ".join(
                    f"{key}: {existing['settings'][key]!r} -> {self.config.get(key)!r}"
                    for key in sorted(changed)
                )
                raise ValueError(
                    f"--resume continues the run in {self.out!r} with its own settings, but "
                    f"these differ from its {RUN_FILE}: {details}. Leave them out (only "
                    f"{', '.join(CHANGEABLE_ON_RESUME)} may change), or start a new --out."
                )
        os.makedirs(self.out, exist_ok=True)
        write_json_atomically(run_path, self._run_record())
        if self.resume and latest is None:
            self.log(f"gan-blocks train: no checkpoint in {self.out!r} yet: starting from step 0")
        return latest if self.resume else None

    def _run_record(self) -> dict[str, Any]:
        from gan_blocks.version import __version__

        settings = {key: self.config[key] for key in sorted(self.config)}
        return {
            "settings": settings,
            "dataset": {
                key: self.manifest.get(key)
                for key in ("resolution", "channels", "count", "label_names")
            }
            | {"sha256": (self.manifest.get("source") or {}).get("sha256")},
            "backend": keras.backend.backend(),
            "gan_blocks_version": __version__,
            "steps": self.total_steps,
            "snapshot_steps": self.snapshot_steps,
        }

    # --------------------------------------------------------------- data
    def _stream(self, start_step: int) -> Any:
        from gan_blocks.data.load_prepared import load_prepared

        return load_prepared(
            self.config["data"],
            int(self.config["batch"]),
            xflip=bool(self.config["xflip"]),
            labels=bool(self.config["cond"]),
            seed=int(self.config["seed"]),
            repeat=True,
            start_batch=start_step,
            workers=int(self.config["workers"]),
        )

    # -------------------------------------------------------------- model
    def _new_model(self) -> Any:
        config = self.config
        return train_recipes.build_model(
            config["model"],
            self.resolution,
            self.channels,
            self.num_classes,
            preset=config["preset"],
            augment=config["augment"],
            ema=config["ema"],
            learning_rate=config["lr"],
            seed=int(config["seed"]),
            jit_compile=self._jit_argument(),
        )

    @staticmethod
    def _pin_jit_compile(model: Any, jit_compile: bool) -> None:
        # `"auto"` decides once per run (torch decides in the first `fit`):
        # the rest of the run and every resume keep that step function, whose
        # floating-point results an exact resume must reproduce.
        model.resolve_jit_compile(bool(jit_compile))
        model.jit_compile = bool(jit_compile)

    # ---------------------------------------------------------- snapshots
    def _fid_callback(self) -> Any:
        """`GenerativeMetrics` with the reference statistics, or `None` (said once)."""
        path = self.config["fid_reference"]
        if path is None:
            candidate = os.path.join(self.config["data"], REFERENCE_FILE)
            path = candidate if os.path.isfile(candidate) else None
        if path is None:
            self.log(
                f"gan-blocks train: no FID: {self.config['data']!r} holds no {REFERENCE_FILE} "
                "and no --fid-reference was given"
            )
            return None
        return fid_callback(
            path,
            self.config["fid_extractor"],
            self.config["fid_weights"],
            int(self.config["fid_samples"]),
        )

    def _write_grid(self, model: Any, name: str) -> str:
        from gan_blocks.callbacks.sample_grid import image_grid

        images, columns = model.preview_samples(int(self.config["grid"]), seed=0)
        grid = image_grid(
            images, columns=columns, value_range=getattr(model, "sample_value_range", (-1, 1))
        )
        folder = os.path.join(self.out, "samples")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        keras.utils.save_img(path, grid, scale=False)
        if self.tensorboard is not None:
            self.tensorboard.image("samples", grid, self._images_seen)
        return path

    def _write_reals(self) -> None:
        from gan_blocks.callbacks.sample_grid import image_grid

        batch = self._stream(0)[0]
        images = batch[0] if isinstance(batch, tuple) else batch
        folder = os.path.join(self.out, "samples")
        os.makedirs(folder, exist_ok=True)
        count = min(len(images), int(self.config["grid"]))
        keras.utils.save_img(
            os.path.join(folder, "reals.png"), image_grid(images[:count]), scale=False
        )

    def _metrics_rows(self, up_to_step: int) -> list[dict[str, str]]:
        path = os.path.join(self.out, METRICS_FILE)
        if not os.path.exists(path):
            return []
        with open(path, newline="", encoding="utf-8") as file:
            return [row for row in csv.DictReader(file) if int(row["step"]) <= up_to_step]

    def _append_metrics(self, row: dict[str, Any]) -> None:
        path = os.path.join(self.out, METRICS_FILE)
        rows = self._metrics_rows(row["step"] - 1)
        columns = list(rows[0]) if rows else list(row)
        for key in row:
            if key not in columns:
                columns.append(key)
        rows.append({key: _csv_value(value) for key, value in row.items()})
        temporary = path + ".tmp"
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, path)

    def _segments(self, step: int) -> list[tuple[int, int, int]]:
        """`(first step, steps per epoch, epochs)` of the `fit` calls from `step` to the end.

        One epoch per snapshot; snapshots end at multiples of `snapshot_steps`
        (a resume with another `--snapshot-kimg` first completes a short one)
        and at the last step.
        """
        per, segments = self.snapshot_steps, []
        if step % per:
            first = min(per - step % per, self.total_steps - step)
            segments.append((step, first, 1))
            step += first
        full = (self.total_steps - step) // per
        if full:
            segments.append((step, per, full))
            step += full * per
        if step < self.total_steps:
            segments.append((step, self.total_steps - step, 1))
        return segments

    def snapshot(self, model: Any, logs: dict[str, Any], elapsed: float, steps: int) -> None:
        """After a snapshot of `steps` steps: grid, FID, metrics row, checkpoint, a line.

        The checkpoint comes last: a kill before it repeats the snapshot on
        resume (its metrics row is then replaced).
        """
        batch = int(self.config["batch"])
        stop = model.trained_steps()
        self._seconds += elapsed
        if self._jit_compile is None:
            self._jit_compile = bool(model.jit_compile)
            self._pin_jit_compile(model, self._jit_compile)
        logs = {key: float(value) for key, value in (logs or {}).items()}
        self._images_seen = stop * batch
        kimg = stop * batch / 1000
        grid = self._write_grid(model, f"step-{stop:07d}.png")
        if self._fid is not None:
            logs.update(self._fid.evaluate())
        sec_per_kimg = elapsed / (steps * batch / 1000)
        epoch = stop // self._batches_per_epoch
        row = {
            "kimg": kimg,
            "step": stop,
            "epoch": epoch,
            "seconds": round(self._seconds, 3),
            "sec_per_kimg": round(sec_per_kimg, 3),
        } | dict(sorted(logs.items()))
        self._append_metrics(row)
        if self.tensorboard is not None:
            self.tensorboard.scalars(dict(logs, sec_per_kimg=sec_per_kimg), stop * batch)
        checkpoint = self.checkpoints.save(
            model,
            {
                "step": stop,
                "images_seen": stop * batch,
                "kimg": kimg,
                "epoch": epoch,
                "seconds": self._seconds,
                "jit_compile": self._jit_compile,
                "logs": logs,
            },
        )
        self._logs = logs
        values = "  ".join(f"{key} {value:.4g}" for key, value in sorted(logs.items()))
        self.log(
            f"kimg {kimg:<8g} step {stop:<7d} {values}  {sec_per_kimg:.1f} s/kimg  "
            f"-> {os.path.relpath(checkpoint, self.out)}, {os.path.relpath(grid, self.out)}"
        )

    # ---------------------------------------------------------------- run
    def run(self) -> dict[str, Any]:
        """Trains to `kimg`, resuming from the latest checkpoint with `resume`.

        Returns:
            A summary: `step`, `kimg`, `final` (the final model's path),
            `resumed_from` (a step, or `None`) and the last snapshot's logs.
        """
        latest = self._prepare_folder()
        config = self.config
        batch = int(config["batch"])
        self.tensorboard = (
            tensorboard_writer(os.path.join(self.out, "tensorboard"))
            if config["tensorboard"]
            else None
        )
        fid = self._fid_callback()
        keras.utils.set_random_seed(int(config["seed"]))
        resumed_from = jit_compile = None
        seconds = 0.0
        if latest is not None:
            model_path, state = latest
            model = keras.saving.load_model(model_path)
            jit_compile = bool(state["jit_compile"])
            self._pin_jit_compile(model, jit_compile)
            step = int(state["step"])
            if model.trained_steps() != step:
                raise ValueError(
                    f"{model_path!r} has trained {model.trained_steps()} steps, but its state "
                    f"says {step}: the checkpoint is inconsistent."
                )
            seconds = float(state.get("seconds", 0.0))
            resumed_from = step
        else:
            model = self._new_model()
            step = 0
            self._write_reals()
        if fid is not None:
            fid.set_model(model)
        if latest is not None:
            jit_note = f"jit_compile {jit_compile} (as the run's first snapshot chose)"
        elif self._jit_argument() == "auto" and auto_jit_compile_decided_in_fit():
            jit_note = "jit_compile auto (torch decides in the first snapshot)"
        else:
            jit_note = f"jit_compile {config['jit_compile']} ({bool(model.jit_compile)})"
        labels = f", {self.num_classes} classes" if self.num_classes else ""
        self.log(
            f"gan-blocks train: {config['model']} ({type(model).__name__}, preset "
            f"{config['preset']}, {model.generator.count_params():,} generator / "
            f"{model.discriminator.count_params():,} discriminator parameters) on "
            f"{config['data']} ({self.manifest['count']} images "
            f"{self.resolution}x{self.resolution}x{self.channels}{labels}); "
            f"{config['kimg']} kimg = {self.total_steps} steps of batch {batch}, snapshots every "
            f"{self.snapshot_steps} steps, augment {config['augment']}; backend "
            f"{keras.backend.backend()}, {jit_note}; out {self.out}"
            + (f"; resuming at step {step} ({step * batch / 1000:g} kimg)" if latest else "")
        )
        self._seconds, self._jit_compile, self._fid, self._logs = seconds, jit_compile, fid, {}
        self._batches_per_epoch = len(self._stream(0))
        # torch resolves "auto" inside a `fit`, from the steps it plans: the
        # first snapshot is a `fit` planning the whole run, stopped after it.
        decide_first = (
            latest is None and self._jit_argument() == "auto" and auto_jit_compile_decided_in_fit()
        )
        snapshots = _SnapshotCallback(self, stop_after_first=decide_first)
        while step < self.total_steps:
            start, steps_per_epoch, epochs = self._segments(step)[0]
            first_epoch = start // self.snapshot_steps
            model.fit(
                self._stream(start),
                epochs=first_epoch + epochs,
                initial_epoch=first_epoch,
                steps_per_epoch=steps_per_epoch,
                verbose=0,
                shuffle=False,  # The stream orders itself by (seed, epoch).
                callbacks=[snapshots, *self.callbacks],
            )
            step = model.trained_steps()
        final = os.path.join(self.out, FINAL_MODEL)
        model.save(final)
        self.log(
            f"gan-blocks train: done, {self.total_steps * batch / 1000:g} kimg in "
            f"{self._seconds:.1f} s of training; final model {final}"
        )
        return {
            "step": step,
            "kimg": step * batch / 1000,
            "final": final,
            "resumed_from": resumed_from,
            "logs": self._logs,
            "model": model,
        }


class _SnapshotCallback(keras.callbacks.Callback):
    """Runs `TrainingRun.snapshot` at the end of every epoch (one epoch = one snapshot)."""

    def __init__(self, run: TrainingRun, stop_after_first: bool):
        super().__init__()
        self.run = run
        self.stop_after_first = stop_after_first
        self.start = self.first_step = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start = time.perf_counter()
        self.first_step = self.model.trained_steps()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        elapsed = time.perf_counter() - self.start
        steps = self.model.trained_steps() - self.first_step
        self.run.snapshot(self.model, logs, elapsed, steps)
        if self.stop_after_first:
            self.stop_after_first = False
            self.model.stop_training = True


def _normalized(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _csv_value(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)
    return value


def fid_callback(
    reference: str, extractor: str | None, weights: str | None, num_samples: int
) -> Any:
    """`GenerativeMetrics` computing the FID against saved reference statistics.

    The feature extractor is `extractor` (`"inception"`, `"fid-inception"`
    or a `.keras` model) or, when `None`, the one the statistics name
    (`inception_v3_pool` or the TF-FID Inception); the metric checks that
    the statistics were computed with it.
    """
    import gan_blocks as gb

    if not os.path.isfile(reference):
        raise FileNotFoundError(f"No such reference statistics file: {reference!r}.")
    statistics = gb.metrics.ReferenceStatistics.load(reference)
    identity = statistics.feature_extractor
    if extractor is None:
        if identity.startswith("inception_v3_pool"):
            extractor = "inception"
        elif "fid_inception" in identity:
            extractor = "fid-inception"
        else:
            raise ValueError(
                f"The reference statistics {reference!r} were computed with the extractor "
                f"{identity!r}: pass that model as --fid-extractor PATH.keras."
            )
    if extractor == "inception":
        metric = gb.metrics.FrechetDistance(weights=weights or "imagenet")
    elif extractor == "fid-inception":
        from gan_blocks.metrics.fid_inception import FID_WEIGHTS_URL

        network = gb.metrics.fid_inception_v3(weights=weights or FID_WEIGHTS_URL, output="pool")
        metric = gb.metrics.FrechetDistance(feature_extractor=network)
    else:
        if not os.path.isfile(extractor):
            raise FileNotFoundError(f"No such --fid-extractor model: {extractor!r}.")
        metric = gb.metrics.FrechetDistance(feature_extractor=keras.models.load_model(extractor))
    metric.update_reference(statistics)  # Checks the extractor now, not after a snapshot.
    return gb.callbacks.GenerativeMetrics(
        statistics, [metric], num_samples=min(num_samples, max(statistics.count, 2))
    )


class _TensorBoardWriter:
    """Scalars and images for TensorBoard, with `tf.summary` or `torch.utils.tensorboard`."""

    def __init__(self, log_dir: str):
        try:
            import tensorflow as tf
        except ImportError:
            tf = None
        self.tf = tf
        if tf is not None:
            with tf.device("/CPU:0"):
                self.writer = tf.summary.create_file_writer(log_dir)
        else:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir)

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self.tf is not None:
            with self.tf.device("/CPU:0"), self.writer.as_default():
                for name, value in values.items():
                    self.tf.summary.scalar(name, value, step=step)
        else:
            for name, value in values.items():
                self.writer.add_scalar(name, value, global_step=step)
        self.writer.flush()

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        if self.tf is not None:
            with self.tf.device("/CPU:0"), self.writer.as_default():
                self.tf.summary.image(tag, image[None], step=step)
        else:
            self.writer.add_image(tag, image, global_step=step, dataformats="HWC")
        self.writer.flush()


def tensorboard_writer(log_dir: str) -> _TensorBoardWriter:
    """A TensorBoard writer for `log_dir`; a clear error without the `tensorboard` package."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ValueError(
            "--tensorboard needs the `tensorboard` package: pip install tensorboard "
            '(or "gan-blocks[tensorboard]").'
        ) from None
    return _TensorBoardWriter(log_dir)
