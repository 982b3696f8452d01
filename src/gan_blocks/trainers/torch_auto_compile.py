"""`jit_compile="auto"` on torch: compile when the run pays back the compilation.

`torch.compile` of a model's losses and updates takes from about a minute
(DCGAN) to several (SN-GAN) on a CPU, and then saves a fifth to two fifths
of every step (Keras layers' Python cost, fused element-wise kernels). So a
`fit` compiles when its remaining steps save more than the compilation
costs. The cost model (measured with `benchmarks/torch_compile_crossover.py`,
docs/benchmarks.md "torch: when `jit_compile="auto"` compiles"):

- compilation: `AUTO_COMPILE_SECONDS + AUTO_COMPILE_SECONDS_PER_VARIABLE x`
  the model's trainable variables with a cold TorchInductor cache, and
  `AUTO_WARM_CACHE_FACTOR` times that for a model the cache compiled before
  (`was_compiled_before`: a rerun, a reloaded model);
- saving per step: `AUTO_SAVED_FRACTION x` the eager step's seconds, timed
  on the first steps of the `fit` itself (`AutoCompile`).

The first steps of every `fit` run eagerly; once timed, the rest of the run
switches to the compiled step when `compile_pays`. A step compiled once stays
compiled for later `fit` calls. A model whose losses do not trace in one
graph (a layer drawing Keras random numbers, such as `Dropout`; a gradient
penalty) would compile into pieces that are not faster than eager: TorchDynamo
finds that before any code is generated, and the model stays eager
(`stay_eager`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from typing import Any

import keras

AUTO_COMPILE_SECONDS = 20.0
AUTO_COMPILE_SECONDS_PER_VARIABLE = 3.5
# Measured 20-39% on models whose losses trace in one graph; the low end, so
# that a run "auto" compiles is not slower than eager.
AUTO_SAVED_FRACTION = 0.2
# A model TorchInductor's on-disk cache has compiled before (a rerun, a
# reloaded model) compiles in a quarter to a third of the time.
AUTO_WARM_CACHE_FACTOR = 0.35
# Eager steps timed before deciding (after the first, which builds things).
TIMED_STEPS = 5


def estimated_compile_seconds(model: Any) -> float:
    """The cost model's compilation seconds for `model` (a 2-core CPU).

    Args:
        model: The model about to be compiled.

    Returns:
        `AUTO_COMPILE_SECONDS + AUTO_COMPILE_SECONDS_PER_VARIABLE x` its
        trainable variables; `AUTO_WARM_CACHE_FACTOR` times that when
        TorchInductor's cache holds this model's compilation from an
        earlier run (`was_compiled_before`).

    Example:
    >>> import keras
    >>> from gan_blocks.trainers.torch_auto_compile import estimated_compile_seconds
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> estimated_compile_seconds(model) in (27.0, 27.0 * 0.35)  # 20 s + 2 variables x 3.5 s
    True
    """
    variables = len(model.trainable_variables)
    seconds = AUTO_COMPILE_SECONDS + AUTO_COMPILE_SECONDS_PER_VARIABLE * variables
    return seconds * AUTO_WARM_CACHE_FACTOR if was_compiled_before(model) else seconds


def _marker(model: Any) -> str:
    """A file in TorchInductor's cache folder naming `model`'s architecture and settings."""
    import torch
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    description = json.dumps(
        _without_names(
            [model.get_config(), model.get_compile_config(), torch.__version__, keras.__version__]
        ),
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(description.encode()).hexdigest()[:32]
    return os.path.join(cache_dir(), "gan_blocks_compiled", digest)


def _without_names(config: Any) -> Any:
    # Layer and model names differ between otherwise equal models ("dense_3").
    if isinstance(config, dict):
        return {
            k: _without_names(v) for k, v in config.items() if k not in ("name", "inbound_nodes")
        }
    if isinstance(config, (list, tuple)):
        return [_without_names(v) for v in config]
    return config


def was_compiled_before(model: Any) -> bool:
    """Whether a model of this architecture and compile settings was compiled with this cache.

    `AutoCompile` leaves a marker in TorchInductor's cache folder
    (`TORCHINDUCTOR_CACHE_DIR`) when it compiles; a rerun of the same script
    or a reloaded model finds it and expects the cache's shorter compilation.
    """
    try:
        return os.path.exists(_marker(model))
    except Exception:  # A config that does not serialize: assume a cold cache.
        return False


def _mark_compiled(model: Any) -> None:
    try:
        path = _marker(model)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as marker:
            marker.write(type(model).__name__)
    except Exception:  # A read-only cache or an unserializable config: no marker.
        pass


def compile_pays(
    remaining_steps: int | None, eager_step_seconds: float, compile_seconds: float
) -> bool:
    """Whether compiling the rest of a run saves more time than the compilation costs.

    Args:
        remaining_steps: Steps left in the run; `None` (unknown: a generator
            without `steps_per_epoch`) never compiles.
        eager_step_seconds: Seconds per eager step, as timed.
        compile_seconds: What compiling costs (`estimated_compile_seconds`).

    Returns:
        `remaining_steps x AUTO_SAVED_FRACTION x eager_step_seconds >= compile_seconds`.

    Example:
    >>> from gan_blocks.trainers.torch_auto_compile import compile_pays
    >>> compile_pays(3000, eager_step_seconds=0.1, compile_seconds=60.0)
    True
    >>> compile_pays(500, eager_step_seconds=0.1, compile_seconds=60.0)
    False
    """
    if remaining_steps is None:
        return False
    return remaining_steps * AUTO_SAVED_FRACTION * eager_step_seconds >= compile_seconds


def break_even_steps(eager_step_seconds: float, compile_seconds: float) -> int:
    """The fewest remaining steps for which `compile_pays`.

    Example:
    >>> from gan_blocks.trainers.torch_auto_compile import break_even_steps
    >>> break_even_steps(eager_step_seconds=0.1, compile_seconds=60.0)
    3000
    """
    return math.ceil(compile_seconds / (AUTO_SAVED_FRACTION * eager_step_seconds))


class AutoCompile:
    """Times a `fit`'s first eager steps, then switches to the compiled step where it pays.

    The torch trainer runs `begin_step()` / `end_step(model)` around each
    eager step of a `fit` compiled with `jit_compile="auto"`
    (`gan_blocks.trainers.torch.auto_jit_compile_begin`), in the training
    thread and in step with the work (not a Keras callback, which would keep
    Keras from dispatching callbacks asynchronously on GPUs). After
    `TIMED_STEPS` timed steps (the first, which builds things, is not timed)
    it decides once, and says what it chose (with `verbose` on).

    Args:
        planned_steps: The steps of this `fit` (`None` when unknown).
        verbose: Whether to print the decision.

    Example:
    >>> from gan_blocks.trainers.torch_auto_compile import AutoCompile
    >>> timer = AutoCompile(planned_steps=2500, verbose=True)
    >>> timer.planned_steps
    2500
    """

    def __init__(self, planned_steps: int | None, verbose: bool):
        self.planned_steps = planned_steps
        self.verbose = verbose
        self.steps = 0
        self.start = None

    def begin_step(self) -> None:
        """Called before each eager step; starts the clock before the second."""
        if self.steps == 1:
            _synchronize()
            self.start = time.perf_counter()

    def end_step(self, model: Any) -> bool:
        """Called after each eager step; returns True once the decision is made."""
        self.steps += 1
        if self.steps < TIMED_STEPS + 1:
            return False
        _synchronize()
        eager_step = (time.perf_counter() - self.start) / TIMED_STEPS
        self.decide(model, eager_step)
        return True

    def decide(self, model: Any, eager_step_seconds: float) -> bool:
        """Switches `model` to the compiled step if `compile_pays`; returns the choice."""
        remaining = None if self.planned_steps is None else self.planned_steps - self.steps
        compile_seconds = estimated_compile_seconds(model)
        compiled = compile_pays(remaining, eager_step_seconds, compile_seconds)
        if compiled:
            from gan_blocks.trainers import torch as torch_trainer

            model.jit_compile = True
            torch_trainer.prepare_compiled_step(model)
            _mark_compiled(model)
        # Said once per model that it stays eager (a loop of short fits), and when it compiles.
        if self.verbose and (compiled or not getattr(model, "_auto_said_eager", False)):
            model._auto_said_eager = True
            if remaining is None:
                why = "the number of steps is unknown (a generator without `steps_per_epoch`)"
            else:
                relation = ">=" if compiled else "<"
                why = (
                    f"{remaining:,} remaining steps {relation} "
                    f"{break_even_steps(eager_step_seconds, compile_seconds):,}, where an "
                    f"estimated {compile_seconds:.0f} s of torch.compile pays back "
                    f"{AUTO_SAVED_FRACTION:.0%} of a {1000 * eager_step_seconds:.0f} ms eager step"
                )
            path = "compiles the rest of this fit" if compiled else "stays eager"
            print(f'{type(model).__name__}: jit_compile="auto" {path} on torch: {why}.')
        return compiled


def _synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def stay_eager(model: Any) -> None:
    """Returns `model` to the eager step for good (its losses do not trace in one graph).

    Args:
        model: A model compiled with `jit_compile="auto"`.
    """
    said = getattr(model, "_auto_compile_refused", False)  # Each player's loss may report it.
    model.jit_compile = False
    model._auto_compile_refused = True
    if getattr(model, "_auto_verbose", False) and not said:
        print(
            f'{type(model).__name__}: jit_compile="auto" stays eager on torch: its losses '
            "do not trace in one graph (a layer drawing Keras random numbers, such as "
            "Dropout, or a gradient penalty), where compiling is not faster."
        )
