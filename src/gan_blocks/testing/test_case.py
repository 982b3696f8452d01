"""A `unittest.TestCase` with the checks every gan-blocks layer and model passes."""

from __future__ import annotations

import os
import tempfile
import unittest
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.backend import compiled_draws_match_eager


def _to_numpy(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_to_numpy(item) for item in x]
    return np.asarray(ops.convert_to_numpy(x))


def _shape_of(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_shape_of(item) for item in x]
    return tuple(x.shape)


class TestCase(unittest.TestCase):
    """Test case with `run_layer_test`, `run_model_saving_test` and `run_adversarial_model_test`.

    Modelled on keras-hub's `TestCase`: one helper checks config round trip,
    weight counts, a symbolic call, an eager call, one `fit` step and `.keras`
    save/load with identical outputs, on whichever Keras backend is active;
    another trains a model with `fit`, saves, reloads and checks that the
    resumed run equals an uninterrupted one bit for bit, and that the
    compiled step trains as the eager one.

    Example:
    >>> import keras, numpy as np
    >>> from gan_blocks.testing import TestCase
    >>> case = TestCase()
    >>> layer = case.run_layer_test(keras.layers.Dense, {"units": 3},
    ...     input_data=np.ones((2, 4), "float32"), expected_output_shape=(2, 3),
    ...     expected_num_trainable_weights=2)
    """

    def setUp(self) -> None:
        super().setUp()
        keras.config.set_dtype_policy("float32")
        keras.utils.set_random_seed(1337)

    def tearDown(self) -> None:
        keras.config.set_dtype_policy("float32")
        super().tearDown()

    def get_temp_dir(self) -> str:
        """Returns a temporary directory removed after the test."""
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        return directory.name

    def assertAllClose(  # noqa: N802 (unittest naming)
        self,
        actual: Any,
        desired: Any,
        atol: float = 1e-6,
        rtol: float = 1e-6,
        msg: str = "",
    ) -> None:
        """Asserts two (nested) tensors are elementwise close."""
        actual, desired = _to_numpy(actual), _to_numpy(desired)
        if isinstance(actual, list):
            self.assertEqual(len(actual), len(desired), msg)
            for a, d in zip(actual, desired):
                self.assertAllClose(a, d, atol=atol, rtol=rtol, msg=msg)
            return
        np.testing.assert_allclose(actual, desired, atol=atol, rtol=rtol, err_msg=msg)

    def run_layer_test(
        self,
        cls: type,
        init_kwargs: dict[str, Any],
        input_data: Any,
        expected_output_shape: Any,
        expected_num_trainable_weights: int | None = None,
        expected_num_non_trainable_weights: int | None = None,
        run_training_check: bool = True,
        run_saving_check: bool = True,
    ) -> keras.layers.Layer:
        """Runs the standard battery of layer checks.

        Args:
            cls: The layer class.
            init_kwargs: Constructor arguments.
            input_data: A numpy array (or list of arrays) with a batch dimension.
            expected_output_shape: Output shape for `input_data` (with batch).
            expected_num_trainable_weights: Expected trainable weight count.
            expected_num_non_trainable_weights: Expected non-trainable count.
            run_training_check: Whether to run one `fit` step.
            run_saving_check: Whether to check `.keras` save/load.

        Returns:
            The eagerly built layer.
        """
        # 1. Config round trip.
        layer = cls(**init_kwargs)
        config = layer.get_config()
        revived = cls.from_config(config)
        self.assertEqual(revived.get_config(), config)

        # 2. Symbolic call.
        def symbolic(x: Any) -> Any:
            if isinstance(x, (list, tuple)):
                return [symbolic(item) for item in x]
            return keras.KerasTensor((None,) + tuple(x.shape[1:]), dtype=str(x.dtype))

        symbolic_inputs = symbolic(input_data)
        symbolic_output = cls(**init_kwargs)(symbolic_inputs)
        expected_symbolic = (None,) + tuple(expected_output_shape[1:])
        self.assertEqual(tuple(symbolic_output.shape), expected_symbolic)

        # 3. Eager call and weight counts.
        layer = cls(**init_kwargs)
        output = layer(input_data)
        self.assertEqual(_shape_of(output), tuple(expected_output_shape))
        if expected_num_trainable_weights is not None:
            self.assertLen(layer.trainable_weights, expected_num_trainable_weights)
        if expected_num_non_trainable_weights is not None:
            self.assertLen(layer.non_trainable_weights, expected_num_non_trainable_weights)
        try:
            computed = layer.compute_output_shape(_shape_of(input_data))
        except NotImplementedError:
            computed = None
        if computed is not None:
            self.assertEqual(tuple(computed[1:]), tuple(expected_output_shape[1:]))

        # 4. A model around the layer: one fit step, then save/load.
        if run_training_check or run_saving_check:
            model_inputs = (
                [keras.Input(t.shape[1:], dtype=t.dtype) for t in symbolic_inputs]
                if isinstance(symbolic_inputs, list)
                else keras.Input(symbolic_inputs.shape[1:], dtype=symbolic_inputs.dtype)
            )
            model = keras.Model(model_inputs, cls(**init_kwargs)(model_inputs))
            if run_training_check:
                model.compile(optimizer="sgd", loss="mse")
                target = np.zeros(expected_output_shape, "float32")
                history = model.fit(input_data, target, batch_size=len(target), epochs=1, verbose=0)
                self.assertTrue(np.isfinite(history.history["loss"][0]))
            if run_saving_check:
                self.run_model_saving_test(model=model, input_data=input_data)
        return layer

    def assertLen(self, container: Any, length: int) -> None:  # noqa: N802
        """Asserts `len(container) == length`."""
        self.assertEqual(len(container), length, f"Expected length {length}: {container}")

    def run_model_saving_test(
        self,
        cls: type | None = None,
        init_kwargs: dict[str, Any] | None = None,
        input_data: Any = None,
        model: keras.Model | None = None,
        atol: float = 1e-6,
    ) -> keras.Model:
        """Saves a model to `.keras`, reloads it and checks identical outputs.

        Args:
            cls: Model class, used with `init_kwargs` when `model` is None.
            init_kwargs: Constructor arguments.
            input_data: Inputs to compare outputs on.
            model: A ready model instead of `cls(**init_kwargs)`.
            atol: Absolute tolerance of the comparison.

        Returns:
            The reloaded model.
        """
        if model is None:
            model = cls(**(init_kwargs or {}))
        expected = model(input_data, training=False)
        path = os.path.join(self.get_temp_dir(), "model.keras")
        model.save(path)
        restored = keras.models.load_model(path)
        self.assertIsInstance(restored, type(model))
        actual = restored(input_data, training=False)
        self.assertAllClose(actual, expected, atol=atol, rtol=0.0)
        return restored

    def run_adversarial_model_test(
        self,
        model_fn: Callable[..., keras.Model],
        data: Any,
        fit_kwargs: dict[str, Any] | None = None,
        epochs: int = 1,
        check_compiled: bool = True,
        seed: int = 1337,
        rtol: float = 1e-4,
        atol: float = 1e-5,
        custom_objects: dict[str, Any] | None = None,
    ) -> keras.Model:
        """Trains, saves, reloads and resumes a model; checks it against an uninterrupted run.

        For any model trained by `fit` (`gb.models.AdversarialModel`
        subclasses, yours included, and `gb.models.VAE`):

        1. `fit(2 * epochs)` in one go (the reference); every logged value
           finite;
        2. `fit(epochs)`, `save`, `keras.models.load_model`, then
           `fit(epochs)` on the loaded model: its weights and optimizer
           variables equal the reference's **exactly** (exact resume: the
           random streams, optimizer states, EMA and layer states came back);
        3. with `check_compiled`, `fit(epochs)` with `jit_compile=False` and
           with `jit_compile=True` give the same weights and logs within
           `rtol`/`atol` (XLA on JAX, `torch.compile` on torch). Not on
           TensorFlow: there XLA computes `tf.random.stateless_*` with other
           numbers than TensorFlow's own kernels (same seeds, other draws;
           `gan_blocks.backend.compiled_draws_match_eager()`), so a compiled
           and an eager run of a model that draws (latents, sampling noise)
           follow different random streams.

        Args:
            model_fn: Builds and compiles a fresh model; called as
                `model_fn(jit_compile=...)` with `"auto"`, `False` or `True`.
                The Keras seed is set before each call, so equal calls build
                equal networks.
            data: The positional arguments of `fit`: an array, a tuple such as
                `(images, labels)`, or a callable returning a fresh one (for
                data objects with state, e.g. `gb.data.unpaired`).
            fit_kwargs: Other `fit` arguments (default `verbose=0` and
                `shuffle=False`, so both runs read the same batches).
            epochs: Epochs before and after the save.
            check_compiled: Whether to compare the compiled and eager steps.
            seed: Keras seed set before each `model_fn` call.
            rtol: Relative tolerance of the compiled-vs-eager comparison.
            atol: Absolute tolerance of the compiled-vs-eager comparison.
            custom_objects: Passed to `keras.models.load_model` (your model
                class, unless it is registered with
                `keras.saving.register_keras_serializable`).

        Returns:
            The reloaded and resumed model.

        Example:
        >>> import keras, numpy as np, gan_blocks as gb
        >>> from gan_blocks.testing import TestCase
        >>> def model_fn(jit_compile):
        ...     gan = gb.models.GAN(
        ...         keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="tanh")]),
        ...         keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]),
        ...         latent_dim=2, seed=0)
        ...     gan.compile(jit_compile=jit_compile)
        ...     return gan
        >>> data = np.random.default_rng(0).uniform(-1, 1, (8, 2)).astype("float32")
        >>> resumed = TestCase().run_adversarial_model_test(
        ...     model_fn, data, fit_kwargs={"batch_size": 4}, check_compiled=False)
        >>> int(keras.ops.convert_to_numpy(resumed.generator_optimizer.iterations))
        4
        """
        fit_kwargs = {"verbose": 0, "shuffle": False, **(fit_kwargs or {})}

        def build(jit_compile: Any) -> keras.Model:
            keras.utils.set_random_seed(seed)
            return model_fn(jit_compile=jit_compile)

        def fit(model: keras.Model, num_epochs: int) -> dict:
            arguments = data() if callable(data) else data
            if not isinstance(arguments, tuple):
                arguments = (arguments,)
            return model.fit(*arguments, epochs=num_epochs, **fit_kwargs).history

        # 1. The uninterrupted reference.
        reference = build("auto")
        history = fit(reference, 2 * epochs)
        for name, values in history.items():
            self.assertTrue(np.all(np.isfinite(values)), f"{name} is not finite: {values}")

        # 2. Train, save, reload, resume: equal to the reference, bit for bit.
        first = build("auto")
        fit(first, epochs)
        path = os.path.join(self.get_temp_dir(), "resume.keras")
        first.save(path)
        resumed = keras.models.load_model(path, custom_objects=custom_objects)
        self.assertIsInstance(resumed, type(first))
        for got, want in zip(_variables(resumed), _variables(first)):
            np.testing.assert_array_equal(got, want, err_msg="a reloaded variable differs")
        fit(resumed, epochs)
        _assert_same_training(reference, resumed, exact=True)

        # 3. The compiled step trains as the eager one.
        if check_compiled and compiled_draws_match_eager():
            eager, compiled = build(False), build(True)
            eager_history, compiled_history = fit(eager, epochs), fit(compiled, epochs)
            self.assertTrue(compiled.jit_compile, "jit_compile=True did not compile")
            _assert_same_training(eager, compiled, exact=False, rtol=rtol, atol=atol)
            for name, values in eager_history.items():
                np.testing.assert_allclose(
                    compiled_history[name], values, rtol=rtol, atol=atol, err_msg=name
                )
        return resumed


def _model_variables(model: keras.Model) -> list:
    variables = list(model.weights)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return variables


def _variables(model: keras.Model) -> list[np.ndarray]:
    """The model's weights, then its optimizer's variables, as numpy arrays."""
    return [np.asarray(ops.convert_to_numpy(v)) for v in _model_variables(model)]


def _assert_same_training(
    want: keras.Model, got: keras.Model, exact: bool, rtol: float = 0.0, atol: float = 0.0
) -> None:
    want_variables, got_variables = _variables(want), _variables(got)
    if len(want_variables) != len(got_variables):
        raise AssertionError(
            f"{len(got_variables)} variables against {len(want_variables)} in the reference"
        )
    paths = [getattr(v, "path", "?") for v in _model_variables(want)]
    for g, w, path in zip(got_variables, want_variables, paths):
        message = f"variable {path} differs"
        if exact:
            np.testing.assert_array_equal(g, w, err_msg=message)
        else:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=message)
