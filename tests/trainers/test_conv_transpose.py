"""`gan_blocks.trainers.conv_transpose` and `gb.layers.Conv2DTranspose`.

The reference is a transposed convolution written in numpy (every input entry
scattered through the kernel), with Keras' output shapes and padding
(`compute_conv_transpose_padding_args_for_jax`, the definition Keras' JAX
backend uses); `keras.ops.conv_transpose` is checked against it wherever the
backend runs it. The op is linear in its input and in its kernel, so the
gradient of `sum(conv_transpose(x, k) * w)` with respect to each entry of `k`
(or `x`) is that function evaluated at the basis tensor of the entry: a
reference computed from forward passes only, independent of any autodiff rule
and of the backend's kernels (TensorFlow's stock CPU kernels, used without
oneDNN, have no dilated or channels-first transposed convolution).
"""

import itertools

import keras
import numpy as np
import pytest
from keras.src.backend.common.backend_utils import compute_conv_transpose_padding_args_for_jax

import gan_blocks as gb
from gan_blocks.testing import TestCase
from gan_blocks.trainers import conv_transpose

CASES = [
    # input shape, kernel shape, strides, padding, output_padding, dilation, data_format
    ((2, 3, 3, 2), (4, 4, 3, 2), 2, "same", None, 1, "channels_last"),
    ((1, 4, 3, 2), (3, 3, 2, 2), 2, "valid", None, 1, "channels_last"),
    ((1, 3, 3, 2), (3, 2, 2, 2), (3, 2), "same", None, 1, "channels_last"),
    ((1, 3, 3, 2), (3, 3, 2, 2), 2, "valid", 1, 1, "channels_last"),
    ((1, 4, 4, 1), (3, 3, 2, 1), 1, "same", None, 2, "channels_last"),
    ((1, 2, 3, 3), (2, 2, 2, 2), 2, "same", None, 1, "channels_first"),
    ((2, 5, 2), (4, 3, 2), 2, "same", None, 1, "channels_last"),
]
# Dilated and channels-first cases that TensorFlow's stock CPU kernels lack.
REWRITTEN_CASES = [
    ((1, 4, 4, 1), (3, 3, 2, 1), 1, "same", None, 2, "channels_last"),
    ((1, 3, 4, 2), (2, 3, 2, 2), 1, "valid", None, (2, 3), "channels_last"),
    ((1, 3, 3, 2), (2, 2, 2, 2), 2, "same", None, 2, "channels_last"),
    ((1, 3, 3, 2), (3, 3, 2, 2), 1, "same", 0, 2, "channels_last"),
    ((1, 5, 2), (3, 2, 2), 1, "same", None, 3, "channels_last"),
    ((1, 2, 4, 3), (2, 2, 2, 2), 1, "same", None, 2, "channels_first"),
    ((1, 2, 3, 3), (2, 2, 2, 2), 2, "same", None, 1, "channels_first"),
]


def reference_conv_transpose(x, k, strides, padding, output_padding, dilation_rate, data_format):
    """Transposed convolution in float64 numpy: every input entry scattered."""
    x, k = np.asarray(x, "float64"), np.asarray(k, "float64")
    rank = x.ndim - 2
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    rates = (dilation_rate,) * rank if isinstance(dilation_rate, int) else tuple(dilation_rate)
    pads = compute_conv_transpose_padding_args_for_jax(
        x.shape, k.shape, strides, padding, output_padding, rates
    )
    extents = [(n - 1) * d + 1 for n, d in zip(k.shape[:rank], rates)]
    # Keras' output is the convolution of the stride-dilated input padded by
    # (low, high) with the flipped kernel: the full scatter with its first
    # (extent - 1 - low) entries cut, of that convolution's length.
    starts = [e - 1 - low for e, (low, _) in zip(extents, pads)]
    sizes = [
        (n - 1) * s + low + high - e + 2
        for n, s, e, (low, high) in zip(x.shape[1:-1], strides, extents, pads)
    ]
    outputs = np.zeros((x.shape[0], *sizes, k.shape[-2]))
    for i in itertools.product(*(range(n) for n in x.shape[1:-1])):
        for j in itertools.product(*(range(n) for n in k.shape[:rank])):
            o = [a * s + b * d - c for a, b, s, d, c in zip(i, j, strides, rates, starts)]
            if all(0 <= a < n for a, n in zip(o, sizes)):
                outputs[(slice(None), *o)] += x[(slice(None), *i)] @ k[j].T
    if data_format == "channels_first":
        outputs = np.moveaxis(outputs, -1, 1)
    return outputs


def stock_op_runs(dilation_rate, data_format):
    """Whether the active backend's `keras.ops.conv_transpose` runs the case."""
    if keras.backend.backend() != "tensorflow":
        return True
    from gan_blocks.trainers import tensorflow as tf_trainer

    dilated = np.any(np.asarray(dilation_rate) != 1)
    return not ((dilated or data_format == "channels_first") and tf_trainer._stock_cpu_kernels())


def gradients(fn, x, k):
    """Gradients of scalar `fn(x, k)` with the active backend's autodiff."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.grad(fn, argnums=(0, 1))(x, k)
    if backend == "tensorflow":
        import tensorflow as tf

        x, k = tf.constant(x), tf.constant(k)
        with tf.GradientTape() as tape:
            tape.watch([x, k])
            value = fn(x, k)
        return tape.gradient(value, [x, k])

    x, k = (keras.ops.convert_to_tensor(t).detach().clone().requires_grad_() for t in (x, k))
    fn(x, k).backward()
    return x.grad, k.grad


def basis_gradient(fn, fixed, shape, wrt_kernel):
    """d fn / d entry for every entry, from forward passes at basis tensors."""
    gradient = np.zeros(shape, "float64")
    for index in itertools.product(*(range(n) for n in shape)):
        basis = np.zeros(shape, "float32")
        basis[index] = 1.0
        args = (fixed, basis) if wrt_kernel else (basis, fixed)
        gradient[index] = float(keras.ops.convert_to_numpy(fn(*args)))
    return gradient


def check_against_reference(test, case, rng):
    """`conv_transpose`'s output and both gradients against the numpy reference."""
    x_shape, k_shape, strides, padding, output_padding, dilation, fmt = case
    arguments = dict(
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        dilation_rate=dilation,
        data_format=fmt,
    )
    x = rng.normal(size=x_shape).astype("float32")
    k = rng.normal(size=k_shape).astype("float32")
    expected = reference_conv_transpose(x, k, **arguments)
    if stock_op_runs(dilation, fmt):
        test.assertAllClose(keras.ops.conv_transpose(x, k, **arguments), expected, atol=1e-5)
    outputs = conv_transpose(x, k, **arguments)
    test.assertAllClose(outputs, expected, atol=1e-5, msg=str(arguments))
    w = rng.normal(size=tuple(outputs.shape)).astype("float32")

    def objective(x_, k_):
        return keras.ops.sum(keras.ops.multiply(conv_transpose(x_, k_, **arguments), w))

    def reference(x_, k_):
        return np.sum(reference_conv_transpose(x_, k_, **arguments) * w)

    x_gradient, k_gradient = gradients(objective, x, k)
    test.assertAllClose(
        x_gradient,
        basis_gradient(reference, k, x_shape, False),
        atol=1e-4,
        msg=f"input gradient {arguments}",
    )
    test.assertAllClose(
        k_gradient,
        basis_gradient(reference, x, k_shape, True),
        atol=1e-4,
        msg=f"kernel gradient {arguments}",
    )


class ConvTransposeTest(TestCase):
    def test_forward_and_gradients_match_references(self):
        rng = np.random.default_rng(0)
        for case in CASES + REWRITTEN_CASES:
            if np.any(np.asarray(case[5]) != 1) and keras.backend.backend() == "torch":
                # torch 2.13's CPU conv_transpose2d backward raises "grad_weight
                # needs to be contiguous" for dilated kernels (the stock op).
                continue
            check_against_reference(self, case, rng)

    @pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's CPU kernels")
    def test_rewrite_for_tensorflow_stock_cpu_kernels(self):
        # Without oneDNN the previous test already takes this path; with
        # oneDNN (or a GPU) force it, so that both settings check it.
        from gan_blocks.trainers import tensorflow as tf_trainer

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tf_trainer, "_stock_cpu_kernels", lambda: True)
            rng = np.random.default_rng(1)
            for case in REWRITTEN_CASES:
                check_against_reference(self, case, rng)

    @pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow kernels")
    def test_dilated_kernel_spreads_taps_with_zeros(self):
        from gan_blocks.trainers import tensorflow as tf_trainer

        kernel = np.arange(1, 7, dtype="float32").reshape(2, 3, 1, 1)
        dilated = keras.ops.convert_to_numpy(tf_trainer._dilate_kernel(kernel, (3, 2)))
        assert dilated.shape == (4, 5, 1, 1)  # d * (k - 1) + 1
        expected = np.zeros((4, 5), "float32")
        expected[::3, ::2] = kernel[..., 0, 0]
        np.testing.assert_array_equal(dilated[..., 0, 0], expected)

    def test_bfloat16_gradients_keep_dtypes(self):
        x = keras.ops.cast(np.ones((1, 3, 3, 2), "float32"), "bfloat16")
        k = keras.ops.cast(np.ones((4, 4, 3, 2), "float32"), "bfloat16")

        def objective(x_, k_):
            outputs = conv_transpose(x_, k_, strides=2, padding="same")
            return keras.ops.sum(keras.ops.cast(outputs, "float32"))

        x_gradient, k_gradient = gradients(objective, x, k)
        assert keras.backend.standardize_dtype(x_gradient.dtype) == "bfloat16"
        assert keras.backend.standardize_dtype(k_gradient.dtype) == "bfloat16"
        # Each kernel entry multiplies the inputs it reaches: at most 9 ones.
        assert 0 < float(keras.ops.max(keras.ops.cast(k_gradient, "float32"))) <= 9


class Conv2DTransposeLayerTest(TestCase):
    def test_same_as_keras_layer(self):
        data = np.random.default_rng(1).normal(size=(2, 5, 5, 3)).astype("float32")
        for kwargs in (
            {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"},
            {"filters": 2, "kernel_size": 3, "strides": 2, "activation": "tanh"},
            {"filters": 3, "kernel_size": 5, "output_padding": 1, "strides": 2},
        ):
            ours = gb.layers.Conv2DTranspose(**kwargs)
            reference = keras.layers.Conv2DTranspose(**kwargs)
            ours.build(data.shape)
            reference.build(data.shape)
            reference.set_weights(ours.get_weights())
            self.assertAllClose(ours(data), reference(data), atol=1e-5)
            config = ours.get_config()
            expected = {k: v for k, v in reference.get_config().items() if k != "name"}
            assert {k: config[k] for k in expected} == expected

    def test_layer_contract(self):
        self.run_layer_test(
            gb.layers.Conv2DTranspose,
            {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"},
            np.random.default_rng(2).normal(size=(2, 4, 4, 3)).astype("float32"),
            expected_output_shape=(2, 8, 8, 4),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=0,
        )


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX-only fast path")
def test_jax_cpu_uses_the_custom_gradient():
    import jax

    from gan_blocks.trainers import jax as jax_trainer

    x = np.ones((1, 3, 3, 2), "float32")
    k = np.ones((4, 4, 3, 2), "float32")
    jaxpr = str(jax.make_jaxpr(lambda k_: jax_trainer.conv_transpose(x, k_, 2, "same"))(k))
    assert ("custom_vjp_call" in jaxpr) == (jax.default_backend() == "cpu"), jaxpr
