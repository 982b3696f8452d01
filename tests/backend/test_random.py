"""`gb.backend.random`: every draw of the library, on every backend, and the seam's rules."""

import pathlib
import re

import keras
import numpy as np
import pytest
from scipy import stats

import gan_blocks as gb
from gan_blocks.backend import random

SRC = pathlib.Path(gb.__file__).parent
SEAM = ("backend", "trainers")


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_draws_have_their_distribution_and_advance_the_seed_state_once():
    seed = keras.random.SeedGenerator(11)
    start = numpy(seed.state)
    uniform = numpy(random.uniform((4000,), seed, -2.0, 3.0))
    np.testing.assert_array_equal(numpy(seed.state), start + np.array([0, 1]))
    assert uniform.dtype == np.float32 and uniform.min() >= -2.0 and uniform.max() < 3.0
    assert stats.kstest(uniform, "uniform", args=(-2.0, 5.0)).pvalue > 1e-3

    normal = numpy(random.normal((4000,), seed, mean=1.0, stddev=0.5))
    assert stats.kstest(normal, "norm", args=(1.0, 0.5)).pvalue > 1e-3

    integers = numpy(random.randint((4000,), -3, 4, seed))
    assert integers.dtype == np.int32
    counts = np.bincount(integers + 3, minlength=7)
    assert counts.size == 7 and stats.chisquare(counts).pvalue > 1e-3

    coins = numpy(random.bernoulli((4000,), 0.3, seed))
    assert coins.dtype == bool and abs(coins.mean() - 0.3) < 0.03
    np.testing.assert_array_equal(numpy(seed.state), start + np.array([0, 4]))


def test_the_same_seed_state_draws_the_same_values_and_consecutive_draws_differ():
    first, second = keras.random.SeedGenerator(5), keras.random.SeedGenerator(5)
    a = numpy(random.uniform((3, 4), first))
    np.testing.assert_array_equal(numpy(random.uniform((3, 4), second)), a)
    assert not np.allclose(numpy(random.uniform((3, 4), first)), a)


def test_an_int_seed_is_a_stateless_draw():
    a = numpy(random.normal((5, 2), 7))
    np.testing.assert_array_equal(numpy(random.normal((5, 2), 7)), a)
    assert not np.allclose(numpy(random.normal((5, 2), 8)), a)


def _library_sources():
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] not in SEAM:
            yield relative, path.read_text()


def test_no_random_draw_or_backend_switch_outside_the_seam():
    draw = re.compile(r"keras\.random\.(?!SeedGenerator\b)[a-z_]+\(")
    switch = re.compile(r"backend\.backend\(\)\s*(==|!=|in\b)")
    offenders = [
        f"{relative}:{number}: {line.strip()}"
        for relative, text in _library_sources()
        for number, line in enumerate(text.splitlines(), 1)
        if draw.search(line) or switch.search(line)
    ]
    assert not offenders, "use gan_blocks.backend instead:\n" + "\n".join(offenders)


def test_the_rule_finds_a_direct_draw_and_a_backend_switch():
    # The patterns of the test above, on lines they must catch and let pass.
    draw = re.compile(r"keras\.random\.(?!SeedGenerator\b)[a-z_]+\(")
    switch = re.compile(r"backend\.backend\(\)\s*(==|!=|in\b)")
    assert draw.search("x = keras.random.uniform((2,), seed=s)")
    assert not draw.search("self.seed = keras.random.SeedGenerator(0)")
    assert switch.search('if keras.backend.backend() == "jax":')
    assert not switch.search("name = keras.backend.backend()")


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch.compile tracing")
def test_torch_draws_trace_in_one_graph_and_match_eager():
    import torch

    def draws(seed):
        return (
            random.uniform((3, 2), seed, 1.0, 2.0),
            random.randint((3,), 0, 5, seed),
            random.bernoulli((3,), 0.5, seed),
            random.normal((3,), seed),
        )

    eager = [numpy(x) for x in draws(keras.random.SeedGenerator(2))]
    replay = keras.random.SeedGenerator(2)
    compiled = torch.compile(lambda: draws(replay), fullgraph=True)
    for a, b in zip(eager, compiled()):
        np.testing.assert_array_equal(numpy(b), a)
