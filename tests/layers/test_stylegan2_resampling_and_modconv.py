"""StyleGAN2's FIR resampling, modulated convolution and ToRGB against numpy references."""

import os

import keras
import numpy as np
import pytest
import scipy.signal

import gan_blocks as gb
from gan_blocks.testing import TestCase


def fir_reference(x, taps, up, down, pad_before, pad_after, axis):
    """NVlabs' upfirdn along one axis of float64 `x`, via `scipy.signal.upfirdn`.

    NVlabs inserts zeros, pads by (pad_before, pad_after), correlates with the
    flipped filter (a true convolution) and keeps every `down`-th sample: that
    is the full convolution shifted by `len(taps) - 1 - pad_before`.
    """
    x = np.moveaxis(x, axis, 0)
    full = scipy.signal.upfirdn(taps, x, up=up, down=1, axis=0)
    valid = x.shape[0] * up + pad_before + pad_after - len(taps) + 1
    indices = len(taps) - 1 - pad_before + down * np.arange((valid - 1) // down + 1)
    front = max(-indices.min(), 0)
    full = np.pad(
        full, [(front, max(indices.max() + front + 1 - full.shape[0], 0))] + [(0, 0)] * (x.ndim - 1)
    )
    return np.moveaxis(full[indices + front], 0, axis)


def resample_reference(x, taps, up=1, down=1, extra=0):
    """NVlabs' `upsample2d` (up > 1) or `downsample2d` of NHWC `x`, padded `extra` more per side."""
    taps = np.asarray(taps, "float64") / np.sum(taps)
    size = len(taps)
    if up > 1:
        before, after = (size + up - 1) // 2, (size - up) // 2
        taps = taps * up  # gain up**2 split over the two axes
    else:
        before, after = (size - down + 1) // 2, (size - down) // 2
    out = np.asarray(x, "float64")
    for axis in (1, 2):
        out = fir_reference(out, taps, up, down, before + extra, after + extra, axis)
    return out


def modulated_conv_reference(layer, x, w):
    """Per-sample modulated kernels and a sliding-window convolution, sample by sample."""
    affine_kernel, affine_bias = (
        np.asarray(keras.ops.convert_to_numpy(v), "float64")
        for v in (layer.affine_kernel, layer.affine_bias)
    )
    kernel = np.asarray(keras.ops.convert_to_numpy(layer.kernel), "float64")
    size, _, channels, filters = kernel.shape
    styles = np.asarray(w, "float64") @ affine_kernel / np.sqrt(w.shape[1]) + affine_bias
    outputs = []
    for n in range(x.shape[0]):
        weight = kernel / np.sqrt(channels * size * size) * styles[n][None, None, :, None]
        if layer.demodulate:
            weight = weight / np.sqrt(np.sum(weight**2, axis=(0, 1, 2)) + 1e-8)
        if layer.upsample:
            image = resample_reference(x[n : n + 1], layer.resample_filter, up=2, extra=size // 2)[
                0
            ]
        else:
            image = np.pad(
                np.asarray(x[n], "float64"), ((size // 2,) * 2, (size // 2,) * 2, (0, 0))
            )
        windows = np.lib.stride_tricks.sliding_window_view(image, (size, size), axis=(0, 1))
        outputs.append(np.einsum("hwcij,ijcf->hwf", windows, weight))
    out = np.stack(outputs)
    if layer.use_bias:
        out = out + np.asarray(keras.ops.convert_to_numpy(layer.bias), "float64")
    if layer.activation == "leaky_relu":
        out = np.where(out >= 0, out, 0.2 * out) * np.sqrt(2.0)
    return out


def randomize(layer, rng):
    """Non-trivial values for every variable (the initial bias 0 / affine bias 1 hide bugs)."""
    for variable in layer.trainable_variables:
        variable.assign(rng.normal(size=variable.shape).astype("float32"))


def gradients(layer, x, w):
    """Gradients of `sum(layer([x, w])**2)` w.r.t. x, w and the trainable variables."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def loss(variables, x, w):
            out, _ = layer.stateless_call(variables, [], [x, w])
            return keras.ops.sum(out**2)

        values = [v.value for v in layer.trainable_variables]
        grad_vars, grad_x, grad_w = jax.grad(loss, argnums=(0, 1, 2))(values, x, w)
        return [grad_x, grad_w, *grad_vars]
    if backend == "tensorflow":
        import tensorflow as tf

        x, w = tf.constant(x), tf.constant(w)
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            value = tf.reduce_sum(layer([x, w]) ** 2)
        return tape.gradient(value, [x, w, *layer.trainable_variables])
    import torch

    x, w = (torch.tensor(t, requires_grad=True) for t in (x, w))
    for v in layer.trainable_variables:
        v.value.grad = None
    (layer([x, w]) ** 2).sum().backward()
    return [x.grad, w.grad, *(v.value.grad for v in layer.trainable_variables)]


class ResamplingTest(TestCase):
    def test_upsample_matches_scipy_reference(self):
        rng = np.random.default_rng(0)
        for shape, factor, taps in [
            ((2, 4, 4, 1), 2, (1, 3, 3, 1)),
            ((1, 5, 7, 3), 2, (1, 3, 3, 1)),
            ((2, 3, 6, 4), 4, (1, 3, 3, 1)),
            ((1, 4, 5, 2), 2, (1, 2, 1)),
            ((1, 3, 3, 2), 3, (1, 1)),
        ]:
            with self.subTest(shape=shape, factor=factor, taps=taps):
                x = rng.normal(size=shape).astype("float32")
                y = gb.layers.Upsample2D(factor, filter=taps)(x)
                self.assertEqual(
                    tuple(y.shape), (shape[0], shape[1] * factor, shape[2] * factor, shape[3])
                )
                expected = resample_reference(x, taps, up=factor)
                self.assertAllClose(y, expected, atol=1e-5, rtol=1e-5)

    def test_upsample_keeps_a_constant_away_from_borders(self):
        y = keras.ops.convert_to_numpy(gb.layers.Upsample2D()(np.ones((1, 6, 6, 1), "float32")))
        self.assertAllClose(y[0, 2:-2, 2:-2, 0], np.ones((8, 8)))

    def test_downsample_matches_scipy_reference(self):
        rng = np.random.default_rng(1)
        for shape, factor, taps in [
            ((2, 8, 8, 1), 2, (1, 3, 3, 1)),
            ((1, 6, 10, 3), 2, (1, 3, 3, 1)),
            ((2, 9, 6, 2), 3, (1, 3, 3, 1)),
            ((1, 8, 4, 5), 4, (1, 2, 1)),
            ((1, 4, 4, 2), 2, (1,)),
        ]:
            with self.subTest(shape=shape, factor=factor, taps=taps):
                x = rng.normal(size=shape).astype("float32")
                y = gb.layers.Downsample2D(factor, filter=taps)(x)
                self.assertEqual(
                    tuple(y.shape), (shape[0], shape[1] // factor, shape[2] // factor, shape[3])
                )
                expected = resample_reference(x, taps, down=factor)
                self.assertAllClose(y, expected, atol=1e-5, rtol=1e-5)

    def test_resampling_layer_checks(self):
        x = np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype("float32")
        for cls, shape in (
            (gb.layers.Upsample2D, (2, 16, 16, 3)),
            (gb.layers.Downsample2D, (2, 4, 4, 3)),
        ):
            with self.subTest(cls=cls.__name__):
                self.run_layer_test(
                    cls,
                    {"factor": 2, "filter": (1, 2, 1)},
                    input_data=x,
                    expected_output_shape=shape,
                    expected_num_trainable_weights=0,
                    run_training_check=False,
                )

    def test_resampling_errors(self):
        with self.assertRaisesRegex(ValueError, r"divisible by factor=2.*\(1, 7, 8, 3\)"):
            gb.layers.Downsample2D()(np.zeros((1, 7, 8, 3), "float32"))
        with self.assertRaisesRegex(ValueError, "divisible by factor=4"):
            gb.layers.Downsample2D(4).compute_output_shape((None, 8, 6, 3))
        with self.assertRaisesRegex(ValueError, r"Received: filter=\[1, -1\]"):
            gb.layers.Upsample2D(filter=[1, -1])
        with self.assertRaisesRegex(ValueError, "Received: filter='abc'"):
            gb.layers.Downsample2D(filter="abc")
        with self.assertRaisesRegex(ValueError, "Received: factor=0"):
            gb.layers.Upsample2D(0)


class ModulatedConv2DTest(TestCase):
    def test_matches_per_sample_reference(self):
        rng = np.random.default_rng(3)
        x = rng.normal(size=(3, 5, 6, 4)).astype("float32")
        w = rng.normal(size=(3, 7)).astype("float32")
        for upsample in (False, True):
            for demodulate in (True, False):
                for fused in (False, True):
                    kwargs = dict(
                        upsample=upsample,
                        demodulate=demodulate,
                        fused_modconv=fused,
                        activation="leaky_relu",
                    )
                    with self.subTest(**kwargs):
                        layer = gb.layers.ModulatedConv2D(5, **kwargs)
                        layer([x, w])
                        randomize(layer, rng)
                        out = layer([x, w])
                        expected = modulated_conv_reference(layer, x, w)
                        self.assertEqual(tuple(out.shape), expected.shape)
                        self.assertAllClose(out, expected, atol=1e-5, rtol=1e-5)

    def test_demodulated_output_has_unit_scale_per_filter(self):
        # With demodulation, scaling w's styles by a constant changes nothing.
        rng = np.random.default_rng(4)
        x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
        w = rng.normal(size=(2, 6)).astype("float32")
        layer = gb.layers.ModulatedConv2D(4, use_bias=False)
        layer([x, w])
        layer.affine_bias.assign(np.zeros(3, "float32"))
        self.assertAllClose(layer([x, w]), layer([x, 3.0 * w]), atol=1e-5, rtol=1e-5)

    def test_fused_and_non_fused_gradients_agree_and_are_finite(self):
        rng = np.random.default_rng(5)
        x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
        w = rng.normal(size=(2, 6)).astype("float32")
        results = []
        for fused in (False, True):
            layer = gb.layers.ModulatedConv2D(4, upsample=True, fused_modconv=fused)
            layer([x, w])
            randomize(layer, np.random.default_rng(6))
            grads = [keras.ops.convert_to_numpy(g) for g in gradients(layer, x, w)]
            self.assertLen(grads, 6)
            for grad in grads:
                self.assertTrue(np.all(np.isfinite(grad)))
                self.assertGreater(float(np.abs(grad).max()), 0.0)
            results.append(grads)
        for a, b in zip(*results):
            self.assertAllClose(a, b, atol=1e-4, rtol=1e-4)

    def test_layer_checks(self):
        rng = np.random.default_rng(7)
        data = [
            rng.normal(size=(2, 4, 4, 3)).astype("float32"),
            rng.normal(size=(2, 5)).astype("float32"),
        ]
        for kwargs, shape in [
            ({"filters": 4, "upsample": True, "activation": "leaky_relu"}, (2, 8, 8, 4)),
            ({"filters": 2, "fused_modconv": True, "resample_filter": (1, 2, 1)}, (2, 4, 4, 2)),
        ]:
            with self.subTest(**kwargs):
                self.run_layer_test(
                    gb.layers.ModulatedConv2D,
                    kwargs,
                    input_data=data,
                    expected_output_shape=shape,
                    expected_num_trainable_weights=4,
                )
        self.run_layer_test(
            gb.layers.ToRGB,
            {"channels": 3},
            input_data=data,
            expected_output_shape=(2, 4, 4, 3),
            expected_num_trainable_weights=4,
        )

    def test_get_config_round_trips(self):
        layer = gb.layers.ModulatedConv2D(
            6,
            kernel_size=1,
            demodulate=False,
            upsample=True,
            use_bias=False,
            activation="leaky_relu",
            fused_modconv=True,
            resample_filter=(1, 2, 1),
        )
        config = layer.get_config()
        self.assertEqual(config["resample_filter"], (1.0, 2.0, 1.0))
        self.assertEqual(gb.layers.ModulatedConv2D.from_config(config).get_config(), config)
        rgb = gb.layers.ToRGB(4, fused_modconv=True)
        config = rgb.get_config()
        self.assertNotIn("kernel_size", config)
        revived = gb.layers.ToRGB.from_config(config)
        self.assertEqual((revived.channels, revived.fused_modconv), (4, True))
        self.assertEqual(revived.get_config(), config)

    def test_to_rgb_matches_reference(self):
        rng = np.random.default_rng(8)
        x = rng.normal(size=(3, 4, 5, 6)).astype("float32")
        w = rng.normal(size=(3, 8)).astype("float32")
        for fused in (False, True):
            with self.subTest(fused=fused):
                layer = gb.layers.ToRGB(fused_modconv=fused)
                layer([x, w])
                self.assertEqual(
                    (layer.kernel_size, layer.demodulate, layer.activation), (1, False, None)
                )
                randomize(layer, rng)
                self.assertAllClose(
                    layer([x, w]), modulated_conv_reference(layer, x, w), atol=1e-5, rtol=1e-5
                )

    def test_keras_file_round_trip_of_a_generator_block(self):
        rng = np.random.default_rng(9)
        image = keras.Input((4, 4, 3))
        latent = keras.Input((6,))
        features = gb.layers.ModulatedConv2D(4, upsample=True, activation="leaky_relu")(
            [image, latent]
        )
        features = gb.layers.ModulatedConv2D(4, fused_modconv=True)([features, latent])
        rgb = gb.layers.ToRGB()([features, latent])
        skip = gb.layers.Upsample2D()(image)
        out = gb.layers.Downsample2D(filter=(1, 2, 1))(rgb + skip)
        model = keras.Model([image, latent], out)
        for layer in model.layers:
            randomize(layer, rng)
        data = [
            rng.normal(size=(2, 4, 4, 3)).astype("float32"),
            rng.normal(size=(2, 6)).astype("float32"),
        ]
        expected = keras.ops.convert_to_numpy(model(data))
        self.assertEqual(expected.shape, (2, 4, 4, 3))
        path = os.path.join(self.get_temp_dir(), "block.keras")
        model.save(path)
        restored = keras.models.load_model(path)
        self.assertAllClose(restored(data), expected, atol=0.0, rtol=0.0)

    def test_mixed_precision_runs_and_keeps_float32_variables(self):
        rng = np.random.default_rng(10)
        x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
        w = rng.normal(size=(2, 5)).astype("float32")
        for fused in (False, True):
            layer = gb.layers.ModulatedConv2D(
                4, upsample=True, fused_modconv=fused, dtype="mixed_float16"
            )
            out = layer([x, w])
            self.assertEqual(keras.backend.standardize_dtype(out.dtype), "float16")
            self.assertTrue(
                np.all(np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))))
            )
            self.assertTrue(all(v.dtype == "float32" for v in layer.weights))
            reference = modulated_conv_reference(layer, x, w)
            self.assertAllClose(keras.ops.cast(out, "float32"), reference, atol=2e-2, rtol=2e-2)

    def test_errors(self):
        x = np.zeros((2, 4, 4, 3), "float32")
        with self.assertRaisesRegex(ValueError, "Received: activation='relu'"):
            gb.layers.ModulatedConv2D(4, activation="relu")
        with self.assertRaisesRegex(ValueError, r"w of shape \(batch, w_dim\).*\(2, 3, 5\)"):
            gb.layers.ModulatedConv2D(4)([x, np.zeros((2, 3, 5), "float32")])
        with self.assertRaisesRegex(ValueError, r"w of shape \(batch, w_dim\).*\(5,\)"):
            gb.layers.ModulatedConv2D(4)([x, np.zeros((5,), "float32")])
        with self.assertRaisesRegex(ValueError, r"x of shape \(batch, height, width, channels\)"):
            gb.layers.ModulatedConv2D(4)(
                [np.zeros((2, 4, 3), "float32"), np.zeros((2, 5), "float32")]
            )
        with self.assertRaisesRegex(ValueError, "list"):
            gb.layers.ModulatedConv2D(4)(x)
        with self.assertRaisesRegex(ValueError, "odd `kernel_size`.*Received: kernel_size=2"):
            gb.layers.ModulatedConv2D(4, kernel_size=2)
        with self.assertRaisesRegex(ValueError, "Received: resample_filter=\\(\\)"):
            gb.layers.ModulatedConv2D(4, resample_filter=())
        with self.assertRaisesRegex(ValueError, "ToRGB fixes demodulate"):
            gb.layers.ToRGB(demodulate=True)
        with self.assertRaisesRegex(ValueError, "Received: channels=0"):
            gb.layers.ToRGB(0)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="TorchDynamo tracing")
def test_resampling_networks_trace_as_one_graph_under_torch_compile():
    # Two causes of graph breaks, one each: numpy filter taps (traced as
    # tensors, so `tap != 1.0` was a data-dependent branch) and
    # `keras.ops.pad` (its new operation's name bumps a global counter, which
    # ended the graph at the next layer call).
    import torch

    def two_of(make_layer):
        images, styles = keras.Input((8, 8, 4)), keras.Input((8,))
        x = images
        for _ in range(2):
            layer = make_layer()
            x = layer([x, styles]) if isinstance(layer, gb.layers.ModulatedConv2D) else layer(x)
        return keras.Model([images, styles], x)

    networks = {
        "Upsample2D": two_of(gb.layers.Upsample2D),
        "Downsample2D": two_of(gb.layers.Downsample2D),
        "ModulatedConv2D(upsample=True)": two_of(
            lambda: gb.layers.ModulatedConv2D(4, 3, upsample=True)
        ),
        "ReflectionPadding2D": two_of(lambda: gb.layers.ReflectionPadding2D(1)),
        "stylegan2 synthesis": gb.architectures.stylegan2_generator(8, 1, preset="tiny").get_layer(
            "synthesis"
        ),
    }
    rng = np.random.default_rng(0)
    for name, network in networks.items():
        inputs = [
            keras.ops.convert_to_tensor(rng.normal(size=(2, *t.shape[1:])).astype("float32"))
            for t in network.inputs
        ]

        def call(*tensors, network=network):
            return network(list(tensors) if len(tensors) > 1 else tensors[0])

        call(*inputs)
        torch._dynamo.reset()
        explanation = torch._dynamo.explain(call)(*inputs)
        assert explanation.graph_break_count == 0, (name, explanation.break_reasons)
