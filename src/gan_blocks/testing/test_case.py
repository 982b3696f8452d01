"""A `unittest.TestCase` with the checks every gan-blocks layer and model passes."""

from __future__ import annotations

import os
import tempfile
import unittest
from typing import Any

import keras
import numpy as np
from keras import ops


def _to_numpy(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_to_numpy(item) for item in x]
    return np.asarray(ops.convert_to_numpy(x))


def _shape_of(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_shape_of(item) for item in x]
    return tuple(x.shape)


class TestCase(unittest.TestCase):
    """Test case with `run_layer_test` and `run_model_saving_test` helpers.

    Modelled on keras-hub's `TestCase`: one helper checks config round trip,
    weight counts, a symbolic call, an eager call, one `fit` step and `.keras`
    save/load with identical outputs, on whichever Keras backend is active.

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
