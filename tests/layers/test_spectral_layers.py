import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.testing import TestCase


def largest_singular_value(matrix):
    return np.linalg.svd(matrix, compute_uv=False)[0]


def effective_kernel(layer):
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
    u = keras.ops.convert_to_numpy(layer.u).astype("float64")
    matrix = keras.ops.convert_to_numpy(layer._kernel_as_matrix(layer.kernel)).astype("float64")
    v = u @ matrix.T
    v /= np.linalg.norm(v)
    sigma = (v @ matrix @ u.T).item()
    return matrix / sigma, kernel / sigma


CASES = [
    (gb.layers.SpectralConv2D, {"filters": 6, "kernel_size": 3}, (4, 8, 8, 3)),
    (
        gb.layers.SpectralConv2DTranspose,
        {"filters": 5, "kernel_size": 4, "strides": 2},
        (4, 4, 4, 3),
    ),
    (gb.layers.SpectralDense, {"units": 7}, (4, 9)),
]


class SpectralLayerTest(TestCase):
    def test_layer_contract(self):
        for cls, kwargs, shape in CASES:
            data = np.random.default_rng(0).normal(size=shape).astype("float32")
            output_shape = cls(**kwargs).compute_output_shape(shape)
            self.run_layer_test(
                cls,
                kwargs,
                input_data=data,
                expected_output_shape=tuple(output_shape),
                expected_num_trainable_weights=2,
                expected_num_non_trainable_weights=1,
            )

    def test_fit_drives_largest_singular_value_to_one(self):
        for cls, kwargs, shape in CASES:
            rng = np.random.default_rng(1)
            x = rng.normal(size=(64,) + shape[1:]).astype("float32")
            layer = cls(**kwargs, kernel_initializer=keras.initializers.RandomNormal(stddev=3.0))
            inputs = keras.Input(shape[1:])
            model = keras.Model(inputs, layer(inputs))
            y = rng.normal(size=(64,) + tuple(model.output.shape[1:])).astype("float32")
            model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
            model.fit(x, y, batch_size=16, epochs=10, verbose=0)  # 40 steps
            matrix, _ = effective_kernel(layer)
            sigma = largest_singular_value(matrix)
            self.assertAlmostEqual(sigma, 1.0, delta=0.02, msg=f"{cls.__name__}: {sigma}")
            # The layer's output is the plain op with the normalized kernel, in
            # inference as well as in training.
            if cls is gb.layers.SpectralDense:
                bias = keras.ops.convert_to_numpy(layer.bias)
                expected = x @ matrix + bias
                self.assertAllClose(model(x, training=False), expected, atol=1e-4, rtol=1e-4)

    def test_u_only_updates_in_training(self):
        layer = gb.layers.SpectralDense(4, seed=0)
        x = np.ones((2, 3), "float32")
        layer(x)
        u0 = keras.ops.convert_to_numpy(layer.u).copy()
        layer(x, training=False)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.u), u0)
        layer(x, training=True)
        assert not np.allclose(keras.ops.convert_to_numpy(layer.u), u0)

    def test_power_iterations_below_one_raise(self):
        for cls, kwargs, _ in CASES:
            with pytest.raises(ValueError, match="power_iterations=0"):
                cls(**kwargs, power_iterations=0)

    def test_mixed_precision(self):
        for policy in ("mixed_bfloat16", "mixed_float16"):
            for cls, kwargs, shape in CASES:
                layer = cls(**kwargs, dtype=policy)
                out = layer(np.ones(shape, "float32"), training=True)
                dtype = keras.backend.standardize_dtype(out.dtype)
                assert dtype == policy.split("_")[1], (cls, dtype)
                assert np.all(
                    np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(out, "float32")))
                )
