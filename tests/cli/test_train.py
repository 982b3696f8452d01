"""`gan-blocks train`: outputs, `--config` repeats, exact resume after a kill, clear errors."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.cli.main import build_parser, main
from gan_blocks.cli.train import settings
from gan_blocks.cli.training_run import TrainingRun


def prepared_dataset(path, count=64, resolution=8, channels=3, labels=False, seed=0):
    """A prepared dataset written directly in the format of `gb.data.prepare_images`."""
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, resolution, resolution, channels), dtype="uint8")
    np.save(os.path.join(path, "images-00000.npy"), images)
    shard = {"images": "images-00000.npy", "labels": None, "count": count}
    if labels:
        np.save(os.path.join(path, "labels-00000.npy"), np.arange(count, dtype="int64") % 2)
        shard["labels"] = "labels-00000.npy"
    manifest = {
        "format": "gan-blocks-prepared",
        "version": 1,
        "resolution": resolution,
        "channels": channels,
        "count": count,
        "shards": [shard],
        "label_names": ["even", "odd"] if labels else None,
    }
    with open(os.path.join(path, "dataset.json"), "w") as file:
        json.dump(manifest, file)
    return str(path)


def tiny_run_flags(data, out, kimg="0.128"):
    # 64 images, batch 16: 4 steps a snapshot, 8 steps in all.
    return [
        "--data", data, "--model", "dcgan", "--preset", "tiny", "--kimg", kimg,
        "--batch", "16", "--snapshot-kimg", "0.064", "--out", out,
    ]  # fmt: skip


def weights_of(model):
    return [keras.ops.convert_to_numpy(v) for v in model.weights]


def file_weights(path):
    return weights_of(keras.saving.load_model(path))


class SimulatedKill(Exception):
    pass


class KillAfterStep(keras.callbacks.Callback):
    """Raises inside `fit` once the model has trained `step` steps: a crash mid-snapshot."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if self.model.trained_steps() >= self.step:
            raise SimulatedKill()


def tensorboard_scalars(log_dir, tag):
    """{step: value} of a scalar in the TensorBoard logs (tf.summary or torch's writer)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(log_dir, size_guidance={"scalars": 0, "tensors": 0}).Reload()
    if tag in events.Tags()["scalars"]:
        return {event.step: event.value for event in events.Scalars(tag)}
    return {event.step: float(np.squeeze(_tensor_value(event))) for event in events.Tensors(tag)}


def _tensor_value(event):
    from tensorboard.util import tensor_util

    return tensor_util.make_ndarray(event.tensor_proto)


def run_command(argv, callbacks=None):
    parsed = build_parser().parse_args(["train", *argv])
    config, resume = settings(parsed)
    return TrainingRun(config, resume=resume, log=lambda line: None, callbacks=callbacks).run()


def test_trains_writes_outputs_and_a_config_repeat_resumed_after_a_crash_is_identical(
    tmp_path, capsys
):
    data = prepared_dataset(tmp_path / "data")
    first = str(tmp_path / "first")
    assert main(["train", *tiny_run_flags(data, first), "--tensorboard"]) == 0
    printed = capsys.readouterr().out
    assert "dcgan" in printed and f"backend {keras.backend.backend()}" in printed
    assert "no FID" in printed and printed.count("kimg 0.") == 2  # One line per snapshot.

    record = json.load(open(os.path.join(first, "run.json")))
    assert record["settings"]["model"] == "dcgan" and record["steps"] == 8
    assert sorted(os.listdir(os.path.join(first, "checkpoints"))) == [
        "step-0000004.json", "step-0000004.keras", "step-0000008.json", "step-0000008.keras",
    ]  # fmt: skip
    state = json.load(open(os.path.join(first, "checkpoints", "step-0000004.json")))
    assert (state["step"], state["images_seen"], state["epoch"]) == (4, 64, 1)
    assert os.path.getsize(os.path.join(first, "samples", "step-0000008.png")) > 0
    rows = list(csv.DictReader(open(os.path.join(first, "metrics.csv"))))
    assert [row["step"] for row in rows] == ["4", "8"]
    assert all(np.isfinite(float(row[key])) for row in rows for key in ("d_loss", "g_loss"))
    logged = tensorboard_scalars(os.path.join(first, "tensorboard"), "d_loss")
    assert logged == pytest.approx({64: float(rows[0]["d_loss"]), 128: float(rows[1]["d_loss"])})
    final = keras.saving.load_model(os.path.join(first, "final.keras"))
    assert isinstance(final, gb.models.GAN) and final.trained_steps() == 8
    assert final.generate(2, seed=0).shape == (2, 8, 8, 3)
    expected = weights_of(final)
    last = os.path.join(first, "checkpoints", "step-0000008.keras")
    for got, want in zip(file_weights(last), expected):
        np.testing.assert_array_equal(got, want)

    # The folder holds a run: a second start without --resume is refused.
    assert main(["train", *tiny_run_flags(data, first)]) == 2
    assert "--resume" in capsys.readouterr().err

    # The same settings from run.json, crashed two steps after the first checkpoint.
    second = str(tmp_path / "second")
    with pytest.raises(SimulatedKill):
        run_command(["--config", os.path.join(first, "run.json"), "--out", second],
                    callbacks=[KillAfterStep(6)])  # fmt: skip
    checkpoint = os.path.join(second, "checkpoints", "step-0000004.keras")
    assert sorted(os.listdir(os.path.join(second, "checkpoints"))) == [
        "step-0000004.json", "step-0000004.keras",
    ]  # fmt: skip
    at_checkpoint = file_weights(checkpoint)
    summary = run_command(["--resume", "--out", second])
    assert summary["resumed_from"] == 4 and summary["step"] == 8
    resumed = file_weights(os.path.join(second, "final.keras"))
    assert len(resumed) == len(expected)
    for got, want in zip(resumed, expected):
        np.testing.assert_array_equal(got, want)
    # The comparison can fail: training moved the weights after the checkpoint.
    assert any(not np.array_equal(a, b) for a, b in zip(at_checkpoint, expected))
    rows = list(csv.DictReader(open(os.path.join(second, "metrics.csv"))))
    assert [row["step"] for row in rows] == ["4", "8"]


@pytest.mark.large
def test_a_resume_that_restarts_the_data_would_differ(tmp_path):
    # The control of the test above: the checkpoint continued on the batches of
    # steps 0-3 instead of 4-7 ends elsewhere, so equal weights there mean the
    # resumed run read the right batches.
    data = prepared_dataset(tmp_path / "data")
    out = str(tmp_path / "run")
    summary = run_command(tiny_run_flags(data, out))
    model = keras.saving.load_model(os.path.join(out, "checkpoints", "step-0000004.keras"))
    stream = gb.data.load_prepared(data, 16, labels=False, seed=0, repeat=True, start_batch=0)
    model.fit(stream, epochs=1, steps_per_epoch=4, verbose=0, shuffle=False)
    assert model.trained_steps() == 8
    other = zip(weights_of(model), weights_of(summary["model"]))
    assert any(not np.array_equal(a, b) for a, b in other)


@pytest.mark.large
def test_conditional_sngan_with_fid_against_reference_statistics(tmp_path, capsys):
    data = prepared_dataset(tmp_path / "data", labels=True)
    extractor = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(4, kernel_initializer=keras.initializers.GlorotUniform(seed=0)),
        ],
        name="tiny_extractor",
    )
    extractor_path = str(tmp_path / "extractor.keras")
    extractor.save(extractor_path)
    loaded = keras.saving.load_model(extractor_path)
    reals = gb.data.load_prepared(data, 64, xflip=False, labels=False, shuffle=False)[0]
    statistics = gb.metrics.reference_statistics(reals, loaded)
    statistics.save(os.path.join(data, "reference_statistics.npz"))
    out = str(tmp_path / "run")
    argv = [
        "--data", data, "--model", "sngan", "--preset", "tiny", "--cond", "--kimg", "0.032",
        "--batch", "16", "--out", out,
        "--fid-extractor", extractor_path, "--fid-samples", "32", "--grid", "4",
    ]  # fmt: skip
    summary = run_command(argv)
    model = summary["model"]
    assert isinstance(model, gb.models.ConditionalGAN) and model.num_classes == 2
    fid = summary["logs"]["fid"]
    assert np.isfinite(fid) and fid > 0
    # The same FID computed directly from the final model's samples.
    metric = gb.metrics.FrechetDistance(feature_extractor=loaded)
    metric.update_reference(statistics)
    callback = gb.callbacks.GenerativeMetrics(statistics, [metric], num_samples=32)
    callback.set_model(model)
    assert callback.evaluate()["fid"] == pytest.approx(fid, rel=1e-5)
    rows = list(csv.DictReader(open(os.path.join(out, "metrics.csv"))))
    assert float(rows[-1]["fid"]) == pytest.approx(fid, rel=1e-6)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "{tmp}/missing", "--model", "dcgan"], "no such directory"),
        (["--data", "{data}", "--model", "biggan"], "Unknown --model 'biggan'"),
        (["--data", "{data12}", "--model", "stylegan2"], "cannot generate 12x12 images"),
        (["--data", "{data9}", "--model", "dcgan"], "cannot generate 9x9 images"),
        (["--data", "{data}", "--model", "dcgan", "--cond"], "--cond needs a dataset with labels"),
        (["--data", "{data}", "--model", "sngan", "--ema", "1.5"], "decay in (0, 1)"),
        (["--model", "dcgan"], "Missing --data"),
        (["--data", "{data}", "--model", "dcgan", "--resume", "--batch", "8"], "differ from its"),
    ],
)
def test_clear_errors(tmp_path, capsys, argv, message):
    paths = {
        "tmp": str(tmp_path),
        "data": prepared_dataset(tmp_path / "d8"),
        "data12": prepared_dataset(tmp_path / "d12", count=4, resolution=12),
        "data9": prepared_dataset(tmp_path / "d9", count=4, resolution=9),
    }
    out = tmp_path / "out"
    out.mkdir()
    with open(out / "run.json", "w") as file:  # A run to resume, with batch 16.
        json.dump({"settings": {"data": paths["data"], "model": "dcgan", "batch": 16}}, file)
    argv = [part.format(**paths) for part in argv] + ["--kimg", "1", "--out", str(out)]
    assert main(["train", *argv]) == 2
    error = capsys.readouterr().err
    assert error.startswith("gan-blocks train: error: ") and message in error
    assert not os.path.exists(out / "checkpoints")


def test_a_refused_run_writes_nothing_and_run_files_follow_the_umask(tmp_path, capsys):
    data = prepared_dataset(tmp_path / "data", count=16, labels=True)
    out = tmp_path / "run"
    flags = ["--data", data, "--kimg", "0.016", "--batch", "8", "--out", str(out)]
    assert main(["train", *flags, "--model", "dcgan", "--cond"]) == 2
    assert "--model dcgan has no class-conditional builder" in capsys.readouterr().err
    assert not out.exists()  # So the corrected command is not refused as a resume.
    old_umask = os.umask(0o022)
    try:
        assert main(["train", *flags, "--model", "dcgan", "--preset", "tiny"]) == 0
    finally:
        os.umask(old_umask)
    # The JSON files are readable by others, as the .keras files beside them.
    for path in (out / "run.json", *sorted((out / "checkpoints").glob("*"))):
        assert os.stat(path).st_mode & 0o777 == 0o644, path


@pytest.mark.one_backend("jax")  # three processes; the in-process crash test runs everywhere
def test_resume_after_sigkill_in_a_subprocess_equals_an_uninterrupted_run(tmp_path):
    data = prepared_dataset(tmp_path / "data")
    environment = dict(os.environ, KERAS_BACKEND=keras.backend.backend())

    def command(out, *extra):
        return [sys.executable, "-m", "gan_blocks.cli.main", "train",
                *tiny_run_flags(data, out, kimg="0.512"), *extra]  # fmt: skip

    whole = str(tmp_path / "whole")
    subprocess.run(command(whole), env=environment, check=True, capture_output=True)

    killed = str(tmp_path / "killed")
    process = subprocess.Popen(
        command(killed), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    first = os.path.join(killed, "checkpoints", "step-0000004.json")
    deadline = time.time() + 300
    while not os.path.exists(first) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL  # Killed, not finished.
    assert not os.path.exists(os.path.join(killed, "final.keras"))
    done = subprocess.run(
        command(killed, "--resume"), env=environment, check=True, capture_output=True, text=True
    )
    assert "resuming at step" in done.stdout
    for got, want in zip(
        file_weights(os.path.join(killed, "final.keras")),
        file_weights(os.path.join(whole, "final.keras")),
    ):
        np.testing.assert_array_equal(got, want)
