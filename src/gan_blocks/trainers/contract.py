"""`Trainer`: the functions every per-backend trainer module provides."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Trainer(Protocol):
    """The contract of `gan_blocks.trainers.tensorflow`, `.jax` and `.torch`.

    `gan_blocks.trainers.get_trainer()` returns the active backend's module;
    every module implements every function below, so callers never probe for
    an ability with `getattr`. A test checks each backend's module against
    this list.
    """

    def train_step(self, model: Any, *args: Any) -> Any:
        """`Model.train_step`: calls `model.optimization_step(data, minimize)`.

        `minimize(loss_fn, variables, optimizer, on_gradients=None)`
        evaluates `loss_fn() -> (loss, logs)`, differentiates the loss with
        respect to `variables` only, calls `on_gradients(gradients,
        optimizer)` when given (the gradients of the loss-scaled loss, before
        the update: the training monitor's norms), applies the gradients with
        `optimizer`, and returns `(loss, logs)`. JAX's version takes and
        returns the model state.
        """

    def test_step(self, model: Any, *args: Any) -> Any:
        """`Model.test_step`: calls `model.evaluation_step(data)`."""

    def input_gradients(self, fn: Callable[[Any], Any], x: Any) -> Any:
        """Gradient of `sum(fn(x))` with respect to `x`, differentiable again."""

    def value_and_gradients(self, fn: Callable[[], Any], variables: list) -> tuple:
        """`(fn(), [gradient of fn() for each variable])` for a scalar `fn` of Keras variables.

        For optimisation loops outside `fit` (`gb.latents.project`): the
        gradients, shaped like the variables (zeros for a variable `fn` does
        not use), go to a Keras optimizer's `apply`. Non-trainable variables
        are differentiated too. Assignments `fn` makes (layer state) are
        discarded on JAX.
        """

    def compiled_value_and_gradients(
        self, fn: Callable[..., Any], variables: list, state: list
    ) -> Callable[..., tuple]:
        """`value_and_gradients` of `fn(*args)` as a function of `args`, compiled where it can.

        Each call reads the current values of `variables` and `state` (the
        other variables `fn` reads: passed in, not baked into a compiled
        program); assignments `fn` makes are discarded.
        """

    def compiled_inference(self, model: Any) -> Callable[[Any], Any]:
        """`x -> model(x, training=False)`, compiled where the backend can.

        Reads the variables' current values at each call (weights trained
        since are used) and writes back the state the call updates (seed
        generators), records no gradients.
        """

    def runs_on_accelerator(self) -> bool:
        """Whether the backend computes on a GPU/TPU (async NaN guard there)."""

    def resolve_auto_jit_compile(self, model: Any) -> bool:
        """The `jit_compile` that `"auto"` stands for on this backend and machine."""

    def auto_jit_compile_begin(self, model: Any, planned_steps: int | None, verbose: bool) -> bool:
        """Starts resolving `"auto"` for a `fit` of `planned_steps`; False where `compile` did.

        torch times the first eager steps of the `fit` and compiles the rest
        where that pays back (`gan_blocks.trainers.torch_auto_compile`):
        True. TensorFlow and JAX resolve `"auto"` at `compile()` time: False,
        and `fit` says what was chosen.
        """

    def replica_share(self, sample_fn: Callable[[Any], Any], batch_size: Any) -> Any:
        """This replica's share of `sample_fn(global_batch_size)`.

        Under `tf.distribute` each replica slices its share of one global draw;
        where a backend has no replicas inside a step, `sample_fn(batch_size)`.
        """

    def copy_state(self, values: list, reuse: list | None = None) -> list:
        """Detached copies of `values` (tensors), on their device.

        `reuse` is an earlier result for the same values, whose memory the
        copies may take over (torch copies into it in one fused call); the
        backends with immutable tensors ignore it.
        """

    def prepare_compiled_step(self, model: Any) -> None:
        """Readies `model`'s layers for the backend's compiler, before the first compiled step.

        Called by `make_train_function` when `model.jit_compile` is true. A
        no-op where the compiler traces Keras layers as they are (XLA).
        """

    def random_normal(self, shape: tuple, seed_generator: Any, dtype: str = "float32") -> Any:
        """Standard-normal draws from `seed_generator` (a `keras.random.SeedGenerator`).

        `keras.random.normal` on TensorFlow and JAX. On torch, where Keras'
        draws stop a `torch.compile` graph, a counter-based hash of the seed
        state, which traces (the same values eagerly and compiled). Each call
        advances the seed generator by one step, as `keras.random.normal`
        does.
        """

    def random_uniform(
        self,
        shape: tuple,
        seed_generator: Any,
        minval: float = 0.0,
        maxval: float = 1.0,
        dtype: str = "float32",
    ) -> Any:
        """Uniform draws in `[minval, maxval)` from `seed_generator`, as `random_normal`."""

    def random_randint(
        self, shape: tuple, seed_generator: Any, minval: int, maxval: int, dtype: str = "int32"
    ) -> Any:
        """Integers uniform in `[minval, maxval)` from `seed_generator`, as `random_normal`."""

    def callbacks_run_synchronously(self) -> bool:
        """Whether Keras calls batch callbacks in step with training (the NaN guard can restore)."""

    def compiled_draws_match_eager(self) -> bool:
        """Whether a compiled step draws the same random numbers as an eager one."""

    def check_distribution(self, strategy: Any = None) -> None:
        """Raises a clear error under a distribution `fit` cannot train with.

        `strategy`: the distribution to check (TensorFlow: the active
        `tf.distribute` strategy when `None`).
        """

    def fit_failure_guard(self, model: Any) -> AbstractContextManager:
        """A context around `keras.Model.fit` that leaves `model` usable when `fit` raises.

        Keras' JAX trainer empties the variables while it trains (their
        values travel in the step's state) and fills them again at the end:
        a `fit` that raises (bad data found in its first step) would leave
        them empty. JAX's guard puts the last values back; elsewhere a no-op.
        """

    def sync_model_state(self, model: Any) -> None:
        """Readies `model`'s variables for assignment between steps (JAX: `jax_state_sync`)."""

    def ensure_shape(self, x: Any, shape: tuple, name: str) -> Any:
        """`x`, checked at run time against `shape` where its traced shape left entries unknown.

        TensorFlow traces a step once for batches whose shapes differ (a
        generator whose batches change channels): `tf.ensure_shape` then
        fails on the offending batch with both shapes
        (an op called `name`). JAX and torch trace concrete shapes, which the caller checks
        in Python: `x` unchanged.
        """

    def concrete_values(self, x: Any) -> Any:
        """`x` as numpy when its values exist now (eager), `None` while it is traced."""

    def conv_transpose(
        self,
        inputs: Any,
        kernel: Any,
        strides: Any = 1,
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = 1,
    ) -> Any:
        """`keras.ops.conv_transpose`, or a faster / more widely supported equivalent."""


# The names of the contract, for tests and for readers of a trainer module.
TRAINER_FUNCTIONS = (
    "train_step",
    "test_step",
    "input_gradients",
    "value_and_gradients",
    "compiled_value_and_gradients",
    "compiled_inference",
    "runs_on_accelerator",
    "resolve_auto_jit_compile",
    "auto_jit_compile_begin",
    "replica_share",
    "copy_state",
    "prepare_compiled_step",
    "random_normal",
    "random_uniform",
    "random_randint",
    "concrete_values",
    "ensure_shape",
    "callbacks_run_synchronously",
    "compiled_draws_match_eager",
    "check_distribution",
    "fit_failure_guard",
    "sync_model_state",
    "conv_transpose",
)
