"""StyleGAN2 building blocks: equalized layers, the mapping network, noise injection."""

import math
import os

import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.layers.equalized_activation import equalized_activation
from gan_blocks.testing import TestCase

SQRT2 = math.sqrt(2.0)


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x)).astype("float64")


def lrelu(x):
    return np.where(x >= 0, x, 0.2 * x) * SQRT2


def dense_reference(layer, x):
    """NVlabs' FullyConnectedLayer from the stored variables, in float64."""
    kernel = numpy(layer.kernel) * layer.lr_multiplier / math.sqrt(layer.kernel.shape[0])
    y = x @ kernel
    if layer.use_bias:
        y = y + numpy(layer.bias) * layer.lr_multiplier
    return lrelu(y) if layer.activation == "leaky_relu" else y


def conv_reference(layer, x):
    """Stride-1 'same' cross-correlation by explicit loops over the kernel taps."""
    k = layer.kernel_size
    fan_in = x.shape[-1] * k * k
    kernel = numpy(layer.kernel) * layer.lr_multiplier / math.sqrt(fan_in)
    pad = k // 2
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    height, width = x.shape[1:3]
    y = np.zeros(x.shape[:3] + (layer.filters,))
    for i in range(k):
        for j in range(k):
            y += np.einsum("bhwc,cf->bhwf", padded[:, i : i + height, j : j + width], kernel[i, j])
    if layer.use_bias:
        y = y + numpy(layer.bias) * layer.lr_multiplier
    return lrelu(y) if layer.activation == "leaky_relu" else y


def normalize(x):
    return x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + 1e-8)


def mapping_reference(layer, z, one_hot=None):
    x = normalize(z) if layer.normalize_latents else z
    if one_hot is not None:
        x = np.concatenate([x, normalize(dense_reference(layer.embed, one_hot))], axis=1)
    for dense in layer.dense_layers:
        x = dense_reference(dense, x)
    return x


RNG = np.random.default_rng(0)
Z = RNG.normal(size=(6, 12)).astype("float32")
LABELS = np.array([0, 2, 1, 2, 0, 1], "int32")
IMAGE = RNG.normal(size=(2, 5, 6, 4)).astype("float32")


class EqualizedLayersTest(TestCase):
    def test_effective_dense_weights_have_the_he_std(self):
        for lr in (1.0, 0.01):
            layer = gb.layers.EqualizedDense(512, lr_multiplier=lr)
            layer.build((None, 1024))
            stored = numpy(layer.kernel)
            self.assertAlmostEqual(stored.std() * lr, 1.0, delta=0.02)
            self.assertAlmostEqual(layer.weight_gain, lr / math.sqrt(1024))
            effective = stored * layer.weight_gain
            self.assertAlmostEqual(effective.std() * math.sqrt(1024), 1.0, delta=0.02)

    def test_effective_conv_weights_have_the_he_std(self):
        for lr in (1.0, 0.1):
            layer = gb.layers.EqualizedConv2D(256, 3, lr_multiplier=lr)
            layer.build((None, 8, 8, 64))
            fan_in = 64 * 9
            self.assertAlmostEqual(layer.weight_gain, lr / math.sqrt(fan_in))
            effective = numpy(layer.kernel) * layer.weight_gain
            self.assertAlmostEqual(effective.std() * math.sqrt(fan_in), 1.0, delta=0.02)

    def test_dense_output_equals_numpy_reference(self):
        x = RNG.normal(size=(4, 7)).astype("float32")
        for kwargs in (
            {"activation": None, "lr_multiplier": 1.0},
            {"activation": "leaky_relu", "lr_multiplier": 0.01, "bias_initializer": 0.5},
            {"activation": "linear", "use_bias": False, "lr_multiplier": 0.3},
        ):
            layer = gb.layers.EqualizedDense(5, **kwargs)
            layer.build((None, 7))
            if layer.use_bias:  # A non-zero bias, so that its multiplier is tested.
                layer.bias.assign(RNG.normal(size=(5,)).astype("float32"))
            self.assertAllClose(layer(x), dense_reference(layer, x), atol=1e-5, rtol=1e-5)

    def test_dense_bias_initializer_is_the_effective_bias(self):
        layer = gb.layers.EqualizedDense(3, bias_initializer=1.5, lr_multiplier=0.01)
        layer.build((None, 2))
        np.testing.assert_allclose(numpy(layer.bias), 150.0)
        out = layer(np.zeros((1, 2), "float32"))
        self.assertAllClose(out, np.full((1, 3), 1.5), atol=1e-6)

    def test_conv_output_equals_numpy_reference(self):
        for kwargs in (
            {"kernel_size": 3, "activation": "leaky_relu", "lr_multiplier": 0.5},
            {"kernel_size": 1},
            {"kernel_size": 5, "use_bias": False},
        ):
            layer = gb.layers.EqualizedConv2D(3, **kwargs)
            layer.build(IMAGE.shape)
            if layer.use_bias:
                layer.bias.assign(RNG.normal(size=(3,)).astype("float32"))
            out = layer(IMAGE)
            self.assertEqual(tuple(out.shape), (2, 5, 6, 3))
            self.assertAllClose(out, conv_reference(layer, IMAGE), atol=1e-5, rtol=1e-5)

    def test_leaky_relu_has_the_gain_sqrt_2(self):
        x = keras.ops.convert_to_tensor(np.array([-2.0, -0.5, 0.0, 1.0, 3.0], "float32"))
        np.testing.assert_allclose(
            numpy(equalized_activation(x, "leaky_relu")),
            np.array([-0.4, -0.1, 0.0, 1.0, 3.0]) * SQRT2,
            rtol=1e-6,
        )
        np.testing.assert_array_equal(numpy(equalized_activation(x, None)), numpy(x))
        np.testing.assert_array_equal(numpy(equalized_activation(x, "linear")), numpy(x))

    def test_layer_contracts(self):
        self.run_layer_test(
            gb.layers.EqualizedDense,
            {"units": 3, "activation": "leaky_relu", "lr_multiplier": 0.1},
            input_data=Z,
            expected_output_shape=(6, 3),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=0,
        )
        self.run_layer_test(
            gb.layers.EqualizedConv2D,
            {"filters": 2, "kernel_size": 3, "use_bias": False},
            input_data=IMAGE,
            expected_output_shape=(2, 5, 6, 2),
            expected_num_trainable_weights=1,
            expected_num_non_trainable_weights=0,
        )

    def test_bad_arguments_raise(self):
        for cls, kwargs in (
            (gb.layers.EqualizedDense, {"units": 3}),
            (gb.layers.EqualizedConv2D, {"filters": 3, "kernel_size": 3}),
        ):
            with pytest.raises(ValueError, match="Received: activation='relu'"):
                cls(**kwargs, activation="relu")
            with pytest.raises(ValueError, match="lr_multiplier=0"):
                cls(**kwargs, lr_multiplier=0)
        with pytest.raises(ValueError, match="odd `kernel_size`.*kernel_size=4"):
            gb.layers.EqualizedConv2D(3, 4)
        with pytest.raises(ValueError, match="channels-last"):
            gb.layers.EqualizedConv2D(3, 3)(Z)


class MappingNetworkTest(TestCase):
    def test_output_equals_numpy_reference(self):
        layer = gb.layers.MappingNetwork(w_dim=8, num_layers=3, lr_multiplier=0.01)
        w = layer(Z)
        self.assertEqual(tuple(w.shape), (6, 8))
        for dense in layer.dense_layers:  # Non-zero biases, scaled by the multiplier.
            dense.bias.assign(RNG.normal(size=(8,)).astype("float32") * 10)
        expected = mapping_reference(layer, Z.astype("float64"))
        self.assertAllClose(layer(Z), expected, atol=1e-5, rtol=1e-4)
        # The input is normalized: scaling z changes nothing.
        self.assertAllClose(layer(Z * 7.0), expected, atol=1e-5, rtol=1e-4)

    def test_without_normalization(self):
        layer = gb.layers.MappingNetwork(w_dim=4, num_layers=2, normalize_latents=False)
        layer.build(Z.shape)
        expected = mapping_reference(layer, Z.astype("float64") * 3.0)
        self.assertAllClose(layer(Z * 3.0), expected, atol=1e-5, rtol=1e-4)

    def test_conditional_output_equals_numpy_reference(self):
        layer = gb.layers.MappingNetwork(
            w_dim=8, num_layers=2, num_classes=3, embed_dim=5, num_ws=4
        )
        w = layer([Z, LABELS])
        self.assertEqual(tuple(w.shape), (6, 4, 8))
        layer.embed.bias.assign(RNG.normal(size=(5,)).astype("float32"))
        one_hot = np.eye(3)[LABELS]
        expected = mapping_reference(layer, Z.astype("float64"), one_hot)
        expected = np.repeat(expected[:, None], 4, axis=1)
        for labels in (LABELS, LABELS[:, None], one_hot.astype("float32")):
            self.assertAllClose(layer([Z, labels]), expected, atol=1e-5, rtol=1e-4)
        # The labels matter.
        assert not np.allclose(numpy(layer([Z, (LABELS + 1) % 3])), expected, atol=1e-3)

    def test_w_average_follows_the_closed_form(self):
        beta = 0.9
        layer = gb.layers.MappingNetwork(w_dim=4, num_layers=2, w_avg_beta=beta, num_ws=3)
        w = numpy(layer(Z))[:, 0]
        np.testing.assert_array_equal(numpy(layer.w_average), np.zeros(4))
        layer(Z, training=True, update_average=False)
        np.testing.assert_array_equal(numpy(layer.w_average), np.zeros(4))
        layer(Z, training=True)
        first = (1 - beta) * w.mean(axis=0)
        np.testing.assert_allclose(numpy(layer.w_average), first, rtol=1e-5, atol=1e-7)
        layer(Z, training=False)
        np.testing.assert_allclose(numpy(layer.w_average), first, rtol=1e-5, atol=1e-7)
        layer(Z[:3], update_average=True)  # An explicit update outside training.
        second = first + (1 - beta) * (w[:3].mean(axis=0) - first)
        np.testing.assert_allclose(numpy(layer.w_average), second, rtol=1e-5, atol=1e-7)

    def test_truncate(self):
        layer = gb.layers.MappingNetwork(w_dim=4, num_layers=1, num_ws=5)
        w = layer(Z)
        layer.w_average.assign(np.arange(4, dtype="float32"))
        average = np.broadcast_to(np.arange(4.0), (6, 5, 4))
        self.assertAllClose(layer.truncate(w, 0.0), average)
        self.assertAllClose(layer.truncate(w, 1.0), w)
        half = numpy(layer.truncate(w, 0.5, cutoff=2))
        expected = numpy(w).copy()
        expected[:, :2] = 0.5 * (expected[:, :2] + average[:, :2])
        np.testing.assert_allclose(half, expected, rtol=1e-6, atol=1e-6)
        flat = numpy(w)[:, 0]
        self.assertAllClose(layer.truncate(flat, 0.0), average[:, 0])
        with pytest.raises(ValueError, match="cutoff=None for 2-D w"):
            layer.truncate(flat, 0.5, cutoff=2)

    def test_layer_contract(self):
        self.run_layer_test(
            gb.layers.MappingNetwork,
            {"w_dim": 4, "num_layers": 2, "num_classes": 3, "num_ws": 2},
            input_data=[Z, LABELS],
            expected_output_shape=(6, 2, 4),
            expected_num_trainable_weights=6,
            expected_num_non_trainable_weights=1,
        )

    def test_compiled_fit_updates_w_average(self):
        z = keras.Input((12,))
        mapping = gb.layers.MappingNetwork(w_dim=4, num_layers=2, w_avg_beta=0.5)
        model = keras.Model(z, keras.layers.Dense(1)(mapping(z)))
        model.compile(optimizer="adam", loss="mse", jit_compile="auto")
        trainable_before = [numpy(v) for v in mapping.trainable_variables]
        model.fit(Z, np.ones((6, 1), "float32"), batch_size=3, epochs=1, verbose=0)
        average = numpy(mapping.w_average)
        assert np.all(np.isfinite(average)) and np.any(average != 0), average
        # The trainable weights learned too, and inference leaves the average alone.
        assert any(
            not np.array_equal(a, numpy(v))
            for a, v in zip(trainable_before, mapping.trainable_variables)
        )
        model.predict(Z, verbose=0)
        np.testing.assert_array_equal(numpy(mapping.w_average), average)

    def test_mixed_precision(self):
        layer = gb.layers.MappingNetwork(
            w_dim=4, num_layers=2, num_classes=3, dtype="mixed_float16"
        )
        w = layer([Z, LABELS], training=True)
        self.assertEqual(keras.backend.standardize_dtype(w.dtype), "float16")
        self.assertEqual(keras.backend.standardize_dtype(layer.w_average.dtype), "float32")
        assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in layer.weights)
        assert np.all(np.isfinite(numpy(layer.w_average))) and np.any(numpy(layer.w_average))
        conv = gb.layers.EqualizedConv2D(2, 3, activation="leaky_relu", dtype="mixed_float16")
        self.assertEqual(keras.backend.standardize_dtype(conv(IMAGE).dtype), "float16")

    def test_errors(self):
        conditional = gb.layers.MappingNetwork(w_dim=4, num_layers=1, num_classes=3)
        with pytest.raises(ValueError, match="num_classes=3: call it on"):
            conditional(Z)
        with pytest.raises(ValueError, match=r"Class labels must be integers in \[0, 3\)"):
            conditional([Z, np.array([0, 1, 3, 0, 0, 0])])
        with pytest.raises(ValueError, match="labels of shape"):
            conditional([Z, np.zeros((6, 2), "int32")])
        unconditional = gb.layers.MappingNetwork(w_dim=4, num_layers=1)
        with pytest.raises(ValueError, match="unconditional"):
            unconditional([Z, LABELS])
        with pytest.raises(ValueError, match=r"\(batch, z_dim\)"):
            unconditional(Z[:, :, None])
        with pytest.raises(ValueError, match="w_avg_beta=1.5"):
            gb.layers.MappingNetwork(w_avg_beta=1.5)
        with pytest.raises(ValueError, match="num_layers=0"):
            gb.layers.MappingNetwork(num_layers=0)


class NoiseInjectionTest(TestCase):
    def _layer(self, **kwargs):
        layer = gb.layers.NoiseInjection(**kwargs)
        layer.build(IMAGE.shape)
        layer.strength.assign(np.array([0.5, -1.0, 2.0, 0.0], "float32"))
        return layer

    def test_zero_strength_at_init_is_the_identity(self):
        layer = gb.layers.NoiseInjection(seed=3)
        np.testing.assert_array_equal(numpy(layer(IMAGE)), IMAGE)
        self.assertEqual(len(layer.trainable_weights), 1)
        np.testing.assert_array_equal(numpy(layer.strength), np.zeros(4))

    def test_none_is_the_identity(self):
        layer = self._layer(noise_mode="none")
        np.testing.assert_array_equal(numpy(layer(IMAGE)), IMAGE)

    def test_const_is_the_same_for_every_call_and_sample(self):
        layer = self._layer(noise_mode="const", seed=5)
        first, second = numpy(layer(IMAGE)), numpy(layer(IMAGE))
        np.testing.assert_array_equal(first, second)
        noise = (first - IMAGE) / np.array([0.5, -1.0, 2.0, 1.0])
        np.testing.assert_allclose(noise[0, ..., :3], noise[1, ..., :3], atol=1e-5)
        np.testing.assert_allclose(noise[..., 3], 0.0, atol=1e-6)
        const = np.random.default_rng(5).standard_normal((5, 6, 1))
        np.testing.assert_allclose(numpy(layer.const_noise), const, rtol=1e-6)
        np.testing.assert_allclose(noise[0, ..., :3], np.repeat(const, 3, -1), atol=1e-5)

    def test_random_differs_between_calls_and_samples(self):
        layer = self._layer(seed=0)
        first, second = numpy(layer(IMAGE)), numpy(layer(IMAGE))
        assert not np.allclose(first, second)
        noise = (first - IMAGE)[..., 0] / 0.5
        assert not np.allclose(noise[0], noise[1])
        # One noise image per sample, scaled per channel.
        np.testing.assert_allclose((first - IMAGE)[..., 1], -noise, atol=1e-5)
        np.testing.assert_allclose((first - IMAGE)[..., 2], 2.0 * noise, atol=1e-5)
        assert 0.5 < noise.std() < 1.5

    def test_noise_mode_can_be_changed_and_is_saved(self):
        layer = self._layer(seed=1)
        layer.noise_mode = "const"
        np.testing.assert_array_equal(numpy(layer(IMAGE)), numpy(layer(IMAGE)))
        config = layer.get_config()
        self.assertEqual(config["noise_mode"], "const")
        self.assertEqual(gb.layers.NoiseInjection.from_config(config).get_config(), config)
        layer.noise_mode = "none"
        np.testing.assert_array_equal(numpy(layer(IMAGE)), IMAGE)

    def test_layer_contract(self):
        self.run_layer_test(
            gb.layers.NoiseInjection,
            {"noise_mode": "const", "seed": 2},
            input_data=IMAGE,
            expected_output_shape=IMAGE.shape,
            expected_num_trainable_weights=1,
            expected_num_non_trainable_weights=1,
        )

    def test_random_noise_trains_in_a_compiled_fit(self):
        inputs = keras.Input(IMAGE.shape[1:])
        noise = gb.layers.NoiseInjection(seed=0)
        model = keras.Model(inputs, noise(inputs))
        model.compile(optimizer="sgd", loss="mse", jit_compile="auto")
        target = IMAGE + np.ones_like(IMAGE)
        model.fit(IMAGE, target, batch_size=1, epochs=2, verbose=0)
        strength = numpy(noise.strength)
        assert np.all(np.isfinite(strength)) and np.any(strength != 0)

    def test_mixed_precision(self):
        for mode in ("random", "const"):
            layer = gb.layers.NoiseInjection(noise_mode=mode, dtype="mixed_float16")
            out = layer(IMAGE)
            self.assertEqual(keras.backend.standardize_dtype(out.dtype), "float16")
            assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in layer.weights)

    def test_errors(self):
        with pytest.raises(ValueError, match="Received: noise_mode='fixed'"):
            gb.layers.NoiseInjection(noise_mode="fixed")
        layer = gb.layers.NoiseInjection()
        with pytest.raises(ValueError, match="Received: noise_mode=None"):
            layer.noise_mode = None
        with pytest.raises(ValueError, match="static height, width"):
            layer(keras.Input((None, None, 3)))
        with pytest.raises(ValueError, match="static height, width"):
            gb.layers.NoiseInjection()(Z)


class SaveLoadTest(TestCase):
    def test_model_with_every_layer_reloads_exactly(self):
        z = keras.Input((12,))
        labels = keras.Input((), dtype="int32")
        mapping = gb.layers.MappingNetwork(w_dim=8, num_layers=2, num_classes=3)
        w = mapping([z, labels])
        x = gb.layers.EqualizedDense(4 * 4 * 3, activation="leaky_relu")(w)
        x = keras.layers.Reshape((4, 4, 3))(x)
        x = gb.layers.EqualizedConv2D(5, 3, lr_multiplier=0.5)(x)
        noise = gb.layers.NoiseInjection(noise_mode="const", seed=7)
        x = noise(x)
        model = keras.Model([z, labels], x)
        noise.strength.assign(np.linspace(-1.0, 1.0, 5).astype("float32"))
        mapping([Z, LABELS], training=True)  # A non-zero w_average.
        expected = numpy(model([Z, LABELS]))
        path = os.path.join(self.get_temp_dir(), "m.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
        np.testing.assert_array_equal(numpy(restored([Z, LABELS])), expected)
        layers = {type(layer).__name__: layer for layer in restored.layers}
        self.assertEqual(layers["NoiseInjection"].noise_mode, "const")
        np.testing.assert_array_equal(
            numpy(layers["MappingNetwork"].w_average), numpy(mapping.w_average)
        )
        assert np.any(numpy(mapping.w_average))
