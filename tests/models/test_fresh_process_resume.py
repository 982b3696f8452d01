"""Save mid-training, resume in a new process: bit-exact for every model (issue #31)."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.models import resume_cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("kind", resume_cases.KINDS)
def test_a_run_resumed_in_a_fresh_process_equals_the_uninterrupted_run(kind, tmp_path):
    # (GAN: tests/models/test_gan.py::test_exact_resume_in_a_fresh_process.)
    keras.utils.set_random_seed(0)
    reference = resume_cases.build(kind)
    resume_cases.fit(reference, kind, 2)

    keras.utils.set_random_seed(0)
    first = resume_cases.build(kind)
    resume_cases.fit(first, kind, 1)
    path, out = str(tmp_path / "half.keras"), str(tmp_path / "resumed.npz")
    first.save(path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, *sys.path])}
    script = os.path.join(ROOT, "tests", "models", "resume_cases.py")
    result = subprocess.run(
        [sys.executable, script, kind, path, out],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = np.load(out)
    want = resume_cases.weights(reference)
    assert len(resumed.files) == len(want) > 0
    for index, expected in enumerate(want):
        np.testing.assert_array_equal(resumed[f"arr_{index}"], expected, err_msg=f"weight {index}")
