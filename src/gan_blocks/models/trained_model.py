"""`TrainedModel`: what every gan-blocks model that `fit` trains shares."""

from __future__ import annotations

import re
from typing import Any

import keras

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.models import input_checks
from gan_blocks.models.atomic_saving import AtomicSavingMixin
from gan_blocks.models.dataset_epoch_sync import epoch_sync_callbacks
from gan_blocks.models.non_finite_loss_guard import NonFiniteLossGuard
from gan_blocks.models.planned_steps import fit_arguments, planned_fit_steps
from gan_blocks.models.seed_state_saving import SeedStateSaving
from gan_blocks.trainers import get_trainer, resolve_auto_jit_compile
from gan_blocks.validation import check_jit_compile


@gan_blocks_export()
class TrainedModel(SeedStateSaving, AtomicSavingMixin, keras.Model):
    """The base of `AdversarialModel` and `VAE`: one step for all backends, checked `fit`.

    A subclass writes its training step once, as
    `optimization_step(data, minimize)` (and, to support `evaluate`,
    `evaluation_step(data)`); this base hands both to the active backend's
    trainer (`gan_blocks.trainers`), which compiles them where asked. It
    also owns:

    - `resolve_jit_compile(jit_compile, run_eagerly)` for `compile`: checks
      the value (`True`, `False` or `"auto"` only), keeps what was given for
      the saved config, and resolves `"auto"` for this machine
      (`gan_blocks.trainers.resolve_auto_jit_compile`); `fit` says once what
      `"auto"` chose (with `verbose` on);
    - `fit`: refuses empty data, runs `check_training_data(x, y)`, adds the
      callbacks of `fit_callbacks()` (a `NonFiniteLossGuard` on every logged
      metric) and tells data with `set_epoch` the epoch the model is in;
    - atomic `save` (write aside, then rename), the states of every
      `SeedGenerator` in the saved file (Keras leaves them out; an exact
      resume needs them), and `from_config` that deserializes the nested
      Keras objects of the config.

    Example:
    >>> import gan_blocks as gb
    >>> issubclass(gb.models.VAE, gb.models.TrainedModel)
    True
    >>> issubclass(gb.models.GAN, gb.models.TrainedModel)
    True
    """

    # Why `fit` refuses `validation_data` / `validation_split` (a model whose
    # `test_step` has no loss to report); `None` where validation works.
    validation_refusal: str | None = None

    # ---------------------------------------------------------- subclasses
    def optimization_step(self, data: Any, minimize: Any) -> dict:
        """One training step: `minimize(loss_fn, variables, optimizer)` and logs."""
        raise NotImplementedError

    def evaluation_step(self, data: Any) -> dict:
        """One evaluation step returning logs (for `evaluate`)."""
        raise NotImplementedError(f"{type(self).__name__} has no `evaluate`.")

    def check_training_data(self, x: Any, y: Any) -> None:
        """Raises a clear error for data the model cannot train on (before `fit`)."""

    def trained_steps(self) -> int:
        """Training steps taken so far (saved with the model): the optimizer's count."""
        return int(keras.ops.convert_to_numpy(self.optimizer.iterations))

    # ------------------------------------------------------------- compile
    def resolve_jit_compile(self, jit_compile: Any, run_eagerly: bool = False) -> bool:
        """Checks `jit_compile`, keeps it for the config, and resolves `"auto"`.

        Args:
            jit_compile: `True`, `False` or `"auto"`.
            run_eagerly: `compile`'s `run_eagerly`.

        Returns:
            The boolean to pass to `keras.Model.compile`.
        """
        jit_compile = check_jit_compile(jit_compile)
        get_trainer().check_distribution()
        self._jit_compile_argument = jit_compile  # Saved as given: machines differ.
        if jit_compile != "auto":
            return jit_compile
        return resolve_auto_jit_compile(self, run_eagerly)

    @property
    def jit_compile_argument(self) -> bool | str:
        """`compile`'s `jit_compile` as given (`"auto"` stays `"auto"`)."""
        return getattr(self, "_jit_compile_argument", self.jit_compile)

    # ---------------------------------------------------------------- step
    def train_step(self, *args: Any) -> Any:
        return get_trainer().train_step(self, *args)

    def test_step(self, *args: Any) -> Any:
        return get_trainer().test_step(self, *args)

    def make_train_function(self, force: bool = False) -> Any:
        if self.jit_compile:
            get_trainer().prepare_compiled_step(self)
        return super().make_train_function(force)

    def make_test_function(self, force: bool = False) -> Any:
        if self.jit_compile:
            get_trainer().prepare_compiled_step(self)
        return super().make_test_function(force)

    # ----------------------------------------------------------------- fit
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        *args: Any,
        callbacks: Any = None,
        **kwargs: Any,
    ) -> Any:
        """`keras.Model.fit`, after checking the data and adding a NaN guard.

        Refuses empty data and runs `check_training_data` before training;
        the callbacks of `fit_callbacks()` (the `NonFiniteLossGuard`) then
        check every batch. Data with `set_epoch` (`gb.data.unpaired`) is told
        the epoch from the model's saved step count and not shuffled again by
        `fit` (it orders itself), so a resumed run reads the same batches.
        After `compile(jit_compile="auto")`, on torch each `fit` times its
        first eager steps and compiles the rest of the run where that pays
        back the compilation (`gan_blocks.trainers.torch_auto_compile`); on
        TensorFlow and JAX `"auto"` was resolved by `compile`. With `verbose`
        on, `fit` says what `"auto"` chose.

        Args:
            x: Training data (numpy arrays, `tf.data.Dataset`, `PyDataset`).
            y: Second input where the model takes one (labels, targets).
            *args: Passed to `keras.Model.fit`.
            callbacks: Keras callbacks.
            **kwargs: Passed to `keras.Model.fit`.

        Returns:
            A `History` with one entry per logged metric.
        """
        if not self.compiled:
            raise RuntimeError(f"Call `compile(...)` on the {type(self).__name__} before `fit`.")
        self._check_validation_arguments(fit_arguments(self, x, y, args, kwargs))
        input_checks.check_not_a_list_of_images(x)
        input_checks.check_not_empty(x, y)
        self.check_training_data(x, y)
        synced = epoch_sync_callbacks(x, kwargs.get("steps_per_epoch"))
        endless = input_checks.is_py_dataset(x) and x.num_batches is None
        # The data orders itself (by (seed, epoch), or by position in an endless
        # stream, where Keras ignores shuffle with a warning); fit's shuffle would not resume.
        if synced or endless:
            kwargs["shuffle"] = False
        self._begin_auto_jit_compile(x, y, args, kwargs)
        callbacks = list(callbacks or []) + self.fit_callbacks() + synced
        try:
            with get_trainer().fit_failure_guard(self):
                return super().fit(x, y, *args, callbacks=callbacks, **kwargs)
        except Exception as error:
            shape_error = _batch_shape_error(error)
            if shape_error is None:
                raise
            raise shape_error from error

    def _check_validation_arguments(self, arguments: dict) -> None:
        """Refuses validation data before training where `test_step` has no loss to report."""
        if self.validation_refusal is None:
            return
        if arguments["validation_data"] is not None or arguments["validation_split"]:
            raise NotImplementedError(self.validation_refusal)

    def _begin_auto_jit_compile(self, x: Any, y: Any, args: tuple, kwargs: dict) -> None:
        """Starts resolving `"auto"` for this `fit`, or says once what `compile` chose.

        torch decides per run (`get_trainer().auto_jit_compile_begin`: it
        times the first steps and compiles where that pays back);
        TensorFlow and JAX chose at `compile()` time, which `fit` says once.
        """
        if self.jit_compile_argument != "auto" or self.run_eagerly:
            return
        arguments = fit_arguments(self, x, y, args, kwargs)
        verbose = arguments["verbose"] != 0
        steps = planned_fit_steps(arguments)
        if get_trainer().auto_jit_compile_begin(self, steps, verbose):
            return
        if verbose and not getattr(self, "_auto_reported", False):
            self._auto_reported = True
            path = "compiled" if self.jit_compile else "eager"
            print(
                f'{type(self).__name__}: jit_compile="auto" chose {self.jit_compile} on '
                f"{keras.backend.backend()} ({path} training step; pass jit_compile=True or "
                "False to choose). A run resumed where it resolves otherwise may draw other "
                "random numbers."
            )

    def fit_callbacks(self) -> list:
        """Callbacks `fit` adds after the user's.

        Returns:
            `[NonFiniteLossGuard(...)]` on the logged metrics; subclasses add
            checks that run after every batch (e.g. `ConditionalGAN`'s labels).
        """
        return [NonFiniteLossGuard(tuple(m.name for m in self.metrics))]

    # -------------------------------------------------------------- saving
    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        config = dict(config)
        for key, value in config.items():
            if isinstance(value, dict) and "class_name" in value and "config" in value:
                config[key] = keras.saving.deserialize_keras_object(
                    value, custom_objects=custom_objects
                )
        return cls(**config)


# `get_trainer().ensure_shape`'s failure on TensorFlow.
_ENSURE_SHAPE_FAILURE = re.compile(
    r"Shape of tensor (\w+) \[([^\]]*)\] is not compatible with expected shape \[([^\]]*)\]"
)


def _batch_shape_error(error: Exception) -> ValueError | None:
    """A clear error for a batch whose shape differs from the others', or None."""
    match = _ENSURE_SHAPE_FAILURE.search(str(error))
    if match is None:
        return None
    _, received, expected = match.groups()
    expected = ", ".join(expected.replace("?", "batch").split(","))
    received = ", ".join(received.split(","))
    return ValueError(
        f"Expected every batch of images to have shape ({expected}), the shape the model "
        f"was built for, but a batch of `fit`'s data had shape ({received}). The data (a "
        "generator or dataset) yields batches whose image shapes differ."
    )
