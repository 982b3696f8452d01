"""Two JAX processes on one machine train as one process with two devices (issue #31, item 20)."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

WORKER = os.path.join(os.path.dirname(__file__), "jax_data_parallel_worker.py")


def free_port():
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def run_worker(*args, timeout=300):
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.one_backend("jax")
def test_two_jax_processes_train_as_one_process_with_two_devices(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("tensorflow")  # the tf.data pipeline Keras shards per process
    single = run_worker("single", str(tmp_path / "single.npz"))
    output, _ = single.communicate(timeout=300)
    assert single.returncode == 0, output[-3000:]

    port = str(free_port())
    workers = [run_worker(str(i), str(tmp_path / "multi.npz"), port) for i in (0, 1)]
    try:
        outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]

    one, two = np.load(tmp_path / "single.npz"), np.load(tmp_path / "multi.npz")
    assert len(one.files) == len(two.files) > 0
    for name in one.files:
        # The same XLA program split over processes: equal up to the order of sums.
        np.testing.assert_allclose(two[name], one[name], rtol=1e-5, atol=1e-6, err_msg=name)
