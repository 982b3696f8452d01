"""`value_and_gradients`: a scalar function of Keras variables and its gradients."""

import keras
import numpy as np
from keras import ops

from gan_blocks.backend import compiled_value_and_gradients, value_and_gradients


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_gradients_of_a_sum_of_squares_are_twice_the_values():
    v = keras.Variable(np.array([[1.0, -2.0], [0.5, 3.0]], "float32"))
    value, gradients = value_and_gradients(lambda: ops.sum(v * v), [v])
    assert float(numpy(value)) == 1.0 + 4.0 + 0.25 + 9.0
    assert len(gradients) == 1
    np.testing.assert_allclose(numpy(gradients[0]), 2.0 * numpy(v), rtol=1e-6)


def test_non_trainable_and_unused_variables_and_the_variables_stay_unchanged():
    a = keras.Variable(np.array([1.0, 2.0, 3.0], "float32"))
    frozen = keras.Variable(np.array([4.0, 5.0, 6.0], "float32"), trainable=False)
    unused = keras.Variable(np.ones((2, 2), "float32"))
    value, (grad_a, grad_frozen, grad_unused) = value_and_gradients(
        lambda: ops.sum(a * frozen) + ops.sum(ops.square(frozen)), [a, frozen, unused]
    )
    np.testing.assert_allclose(numpy(value), 32.0 + 77.0)
    np.testing.assert_allclose(numpy(grad_a), [4.0, 5.0, 6.0])
    np.testing.assert_allclose(numpy(grad_frozen), [1.0 + 8.0, 2.0 + 10.0, 3.0 + 12.0])
    np.testing.assert_array_equal(numpy(grad_unused), np.zeros((2, 2)))
    np.testing.assert_array_equal(numpy(a), [1.0, 2.0, 3.0])
    assert not frozen.trainable
    # The gradients drive a Keras optimizer: one SGD step on sum((v - 3)^2).
    target = np.array([3.0, 3.0, 3.0], "float32")
    optimizer = keras.optimizers.SGD(learning_rate=0.25)
    _, gradients = value_and_gradients(lambda: ops.sum(ops.square(a - target)), [a])
    optimizer.apply(gradients, [a])
    np.testing.assert_allclose(numpy(a), [2.0, 2.5, 3.0])


def test_layers_called_inside_are_differentiated_through():
    layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    x = keras.Variable(np.array([[1.0, 2.0]], "float32"))
    value, (gradient,) = value_and_gradients(lambda: ops.sum(layer(x)), [x])
    assert float(numpy(value)) == 3.0
    np.testing.assert_allclose(numpy(gradient), [[1.0, 1.0]])


def test_the_compiled_version_equals_the_eager_one_and_reads_values_at_each_call():
    layer = keras.layers.Dense(2, use_bias=False)
    layer.build((None, 3))
    w = keras.Variable(np.array([[0.5, -1.0, 2.0]], "float32"))
    noise = keras.Variable(np.array([1.0, 2.0], "float32"), trainable=False)

    def objective(target):
        return ops.sum(ops.square(layer(w) * noise - target))

    step = compiled_value_and_gradients(objective, [w, noise], state=layer.weights)
    for kernel, target in (
        (np.arange(6.0).reshape(3, 2), np.array([[1.0, 0.0]])),
        (-np.ones((3, 2)), np.array([[0.0, 3.0]])),
    ):
        # New weights and new argument values between calls are both used.
        layer.kernel.assign(kernel.astype("float32"))
        target = target.astype("float32")
        value, gradients = step(target)
        target_tensor = ops.convert_to_tensor(target)
        expected_value, expected = value_and_gradients(
            lambda t=target_tensor: objective(t), [w, noise]
        )
        x, k, n = numpy(w), kernel, numpy(noise)
        residual = (x @ k) * n - target  # by hand: d/dw = 2 (r * n) k^T, d/dn = 2 r (x k)
        np.testing.assert_allclose(numpy(value), np.sum(residual**2), rtol=1e-5)
        np.testing.assert_allclose(numpy(value), numpy(expected_value), rtol=1e-6)
        np.testing.assert_allclose(numpy(gradients[0]), 2 * (residual * n) @ k.T, rtol=1e-5)
        np.testing.assert_allclose(numpy(gradients[1]), (2 * residual * (x @ k))[0], rtol=1e-5)
        for got, want in zip(gradients, expected):
            np.testing.assert_allclose(numpy(got), numpy(want), rtol=1e-6)
