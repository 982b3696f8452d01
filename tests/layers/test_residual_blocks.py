"""SN-GAN / BigGAN layers against numpy references and closed forms."""

import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.testing import TestCase

RNG = np.random.default_rng(0)


def numpy_of(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def conv_same(x, kernel, bias=None):
    """A stride-1 'same' convolution in numpy (odd kernels), channels last."""
    kh, kw = kernel.shape[:2]
    padded = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    height, width = x.shape[1:3]
    out = np.zeros(x.shape[:3] + (kernel.shape[-1],))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum(
                "bhwc,cf->bhwf", padded[:, i : i + height, j : j + width], kernel[i, j]
            )
    return out if bias is None else out + bias


def upsample(x):
    return x.repeat(2, axis=1).repeat(2, axis=2)


def average_pool(x):
    b, h, w, c = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def relu(x):
    return np.maximum(x, 0.0)


def randomize_statistics(norm):
    """Non-trivial moving statistics, so inference-mode batch norm is a real check."""
    norm.moving_mean.assign(RNG.normal(size=norm.moving_mean.shape).astype("float32"))
    norm.moving_variance.assign(RNG.uniform(0.5, 2.0, norm.moving_variance.shape).astype("float32"))


def inference_batch_norm(x, norm, gamma=None, beta=None):
    mean, variance = numpy_of(norm.moving_mean), numpy_of(norm.moving_variance)
    y = (x - mean) / np.sqrt(variance + norm.epsilon)
    if gamma is None and norm.scale:
        gamma, beta = numpy_of(norm.gamma), numpy_of(norm.beta)
    return y if gamma is None else y * gamma + beta


def conv_of(layer, training=False):
    kernel = (
        layer.normalized_kernel(training) if hasattr(layer, "normalized_kernel") else layer.kernel
    )
    return numpy_of(kernel), numpy_of(layer.bias)


class ResidualBlockTest(TestCase):
    def test_up_block_contract(self):
        self.run_layer_test(
            gb.layers.ResidualUpBlock,
            {"filters": 4},
            input_data=RNG.normal(size=(2, 5, 5, 6)).astype("float32"),
            expected_output_shape=(2, 10, 10, 4),
            # 2 norms' gamma/beta, 2 convs and the 1x1 shortcut's kernel/bias.
            expected_num_trainable_weights=10,
            expected_num_non_trainable_weights=4,
        )

    def test_conditional_up_block_contract(self):
        self.run_layer_test(
            gb.layers.ResidualUpBlock,
            {"filters": 3, "conditional_classes": 4, "spectral": True},
            input_data=[RNG.normal(size=(2, 4, 4, 3)).astype("float32"), np.array([0, 3])],
            expected_output_shape=(2, 8, 8, 3),
            expected_num_trainable_weights=8,  # no shortcut conv: channels match
        )

    def test_down_block_contract(self):
        self.run_layer_test(
            gb.layers.ResidualDownBlock,
            {"filters": 4, "preactivation": False},
            input_data=RNG.normal(size=(2, 8, 8, 3)).astype("float32"),
            expected_output_shape=(2, 4, 4, 4),
            expected_num_trainable_weights=6,
            expected_num_non_trainable_weights=3,  # each spectral conv's u
        )

    def test_up_block_matches_numpy(self):
        x = RNG.normal(size=(2, 3, 3, 5)).astype("float32")
        block = gb.layers.ResidualUpBlock(4)
        block(x)
        for norm in (block.norm_1, block.norm_2):
            randomize_statistics(norm)
            norm.gamma.assign(RNG.normal(size=norm.gamma.shape).astype("float32"))
            norm.beta.assign(RNG.normal(size=norm.beta.shape).astype("float32"))
        got = numpy_of(block(x, training=False))
        h = relu(inference_batch_norm(x.astype("float64"), block.norm_1))
        h = conv_same(upsample(h), *conv_of(block.conv_1))
        h = relu(inference_batch_norm(h, block.norm_2))
        h = conv_same(h, *conv_of(block.conv_2))
        skip = conv_same(upsample(x.astype("float64")), *conv_of(block.shortcut))
        np.testing.assert_allclose(got, h + skip, rtol=1e-4, atol=1e-4)

    def test_conditional_up_block_uses_each_examples_class(self):
        x = RNG.normal(size=(3, 2, 2, 2)).astype("float32")
        labels = np.array([2, 0, 2])
        block = gb.layers.ResidualUpBlock(2, conditional_classes=3, spectral=True)
        block([x, labels])
        for norm in (block.norm_1, block.norm_2):
            randomize_statistics(norm.norm)
            norm.gamma.assign(RNG.normal(size=(3, 2)).astype("float32"))
            norm.beta.assign(RNG.normal(size=(3, 2)).astype("float32"))
        got = numpy_of(block([x, labels], training=False))

        def conditional(h, norm):
            gamma = numpy_of(norm.gamma)[labels][:, None, None]
            beta = numpy_of(norm.beta)[labels][:, None, None]
            return inference_batch_norm(h, norm.norm, gamma, beta)

        h = relu(conditional(x.astype("float64"), block.norm_1))
        h = conv_same(upsample(h), *conv_of(block.conv_1))
        h = relu(conditional(h, block.norm_2))
        h = conv_same(h, *conv_of(block.conv_2))
        assert block.shortcut is None  # 2 -> 2 channels: identity shortcut
        np.testing.assert_allclose(got, h + upsample(x), rtol=1e-4, atol=1e-4)

    def test_down_block_matches_numpy(self):
        x = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
        for preactivation in (True, False):
            block = gb.layers.ResidualDownBlock(4, preactivation=preactivation)
            block(x, training=True)  # one power-iteration update of each u
            got = numpy_of(block(x, training=False))
            x64 = x.astype("float64")
            h = relu(x64) if preactivation else x64
            h = conv_same(h, *conv_of(block.conv_1))
            h = average_pool(conv_same(relu(h), *conv_of(block.conv_2)))
            shortcut = conv_of(block.shortcut)
            skip = (
                average_pool(conv_same(x64, *shortcut))
                if preactivation
                else conv_same(average_pool(x64), *shortcut)
            )
            np.testing.assert_allclose(got, h + skip, rtol=1e-4, atol=1e-4)

    def test_down_block_identity_shortcut_without_a_change_of_shape(self):
        block = gb.layers.ResidualDownBlock(3, downsample=False, spectral=False)
        x = RNG.normal(size=(2, 4, 4, 3)).astype("float32")
        block(x)
        assert block.shortcut is None
        for conv in (block.conv_1, block.conv_2):
            conv.kernel.assign(np.zeros(conv.kernel.shape, "float32"))
        np.testing.assert_allclose(numpy_of(block(x)), x, atol=1e-6)

    def test_bad_inputs_are_named(self):
        with pytest.raises(ValueError, match="conditional_classes=3.*\\[x, labels\\]"):
            gb.layers.ResidualUpBlock(4, conditional_classes=3)(np.zeros((1, 2, 2, 4), "float32"))
        with pytest.raises(ValueError, match="unconditional"):
            gb.layers.ResidualUpBlock(4)([np.zeros((1, 2, 2, 4), "float32"), np.zeros(1)])
        with pytest.raises(ValueError, match="4-D images"):
            gb.layers.ResidualDownBlock(4)(np.zeros((1, 8, 4), "float32"))
        with pytest.raises(ValueError, match="filters"):
            gb.layers.ResidualUpBlock(0)


class ConditionalBatchNormalizationTest(TestCase):
    def test_contract(self):
        self.run_layer_test(
            gb.layers.ConditionalBatchNormalization,
            {"num_classes": 3},
            input_data=[RNG.normal(size=(4, 3, 3, 2)).astype("float32"), np.array([0, 1, 2, 1])],
            expected_output_shape=(4, 3, 3, 2),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=2,
        )

    def test_training_mode_normalizes_then_applies_each_class_gain_and_bias(self):
        x = RNG.normal(2.0, 3.0, size=(6, 4, 4, 3)).astype("float32")
        labels = np.array([0, 1, 2, 1, 0, 4])
        layer = gb.layers.ConditionalBatchNormalization(5)
        layer([x, labels])
        gamma = RNG.normal(size=(5, 3)).astype("float32")
        beta = RNG.normal(size=(5, 3)).astype("float32")
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        got = numpy_of(layer([x, labels[:, None]], training=True))
        x64 = x.astype("float64")
        mean, variance = x64.mean(axis=(0, 1, 2)), x64.var(axis=(0, 1, 2))
        normalized = (x64 - mean) / np.sqrt(variance + layer.epsilon)
        want = normalized * gamma[labels][:, None, None] + beta[labels][:, None, None]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        # The statistics are the batch's, shared by all classes: a class with
        # gain 1 and bias 0 sees plain batch norm.
        layer.gamma.assign(np.ones((5, 3), "float32"))
        layer.beta.assign(np.zeros((5, 3), "float32"))
        got = numpy_of(layer([x, labels], training=True))
        np.testing.assert_allclose(got, normalized, rtol=1e-4, atol=1e-4)

    def test_works_on_dense_features(self):
        layer = gb.layers.ConditionalBatchNormalization(2)
        out = layer([RNG.normal(size=(4, 5)).astype("float32"), np.array([0, 1, 1, 0])])
        assert tuple(out.shape) == (4, 5)

    def test_needs_labels(self):
        with pytest.raises(ValueError, match=r"\[x, labels\]"):
            gb.layers.ConditionalBatchNormalization(3)(np.zeros((2, 4), "float32"))
        with pytest.raises(ValueError, match="num_classes"):
            gb.layers.ConditionalBatchNormalization(0)


class ProjectionDiscriminatorOutputTest(TestCase):
    def test_contract(self):
        self.run_layer_test(
            gb.layers.ProjectionDiscriminatorOutput,
            {"num_classes": 4},
            input_data=[RNG.normal(size=(3, 6)).astype("float32"), np.array([0, 3, 1])],
            expected_output_shape=(3, 1),
            expected_num_trainable_weights=3,  # w, b, embeddings
            expected_num_non_trainable_weights=2,  # the two u vectors
        )

    def test_plain_projection_equals_the_closed_form(self):
        h = RNG.normal(size=(5, 6)).astype("float32")
        labels = np.array([0, 3, 1, 3, 2])
        head = gb.layers.ProjectionDiscriminatorOutput(4, spectral=False)
        got = numpy_of(head([h, labels]))
        w, b = numpy_of(head.linear.kernel), numpy_of(head.linear.bias)
        embeddings = numpy_of(head.embedding.embeddings)
        want = h @ w + b + np.sum(embeddings[labels] * h, axis=1, keepdims=True)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

    def test_spectral_projection_divides_by_the_singular_values(self):
        h = RNG.normal(size=(5, 6)).astype("float32")
        labels = np.array([0, 3, 1, 3, 2])
        head = gb.layers.ProjectionDiscriminatorOutput(4)
        for _ in range(50):  # let the power iterations converge
            head([h, labels], training=True)
        got = numpy_of(head([h, labels]))
        w, b = numpy_of(head.linear.kernel), numpy_of(head.linear.bias)
        embeddings = numpy_of(head.embedding.kernel)
        w = w / np.linalg.norm(w)
        embeddings = embeddings / np.linalg.svd(embeddings, compute_uv=False)[0]
        want = h @ w + b + np.sum(embeddings[labels] * h, axis=1, keepdims=True)
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)

    def test_bad_labels_are_refused_when_called_directly(self):
        head = gb.layers.ProjectionDiscriminatorOutput(10)
        h = RNG.normal(size=(2, 6)).astype("float32")
        for labels, received in [
            ([-1, 0], r"labels in \[-1, 0\]"),
            ([2.7, 1.0], r"the non-integer label 2\.7"),
            ([15, 3], r"labels in \[3, 15\]"),
            (np.eye(10)[[1, 2]], r"labels of shape \(2, 10\).*class ids of shape \(batch,\)"),
        ]:
            with pytest.raises(ValueError, match=r"num_classes=10\. Received " + received):
                head([h, np.asarray(labels, "float32")])
        # Whole-number floats, ids of shape (batch, 1) and a traced call are fine.
        np.testing.assert_allclose(
            numpy_of(head([h, np.array([[3.0], [9.0]], "float32")])),
            numpy_of(head([h, np.array([3, 9])])),
        )
        features, ids = keras.Input((6,)), keras.Input((), dtype="int32")
        model = keras.Model([features, ids], head([features, ids]))
        self.assertEqual(model.predict([h, np.array([3, 9])], verbose=0).shape, (2, 1))

    def test_needs_pooled_features(self):
        with pytest.raises(ValueError, match=r"\(batch, features\)"):
            gb.layers.ProjectionDiscriminatorOutput(3)(
                [np.zeros((2, 4, 4, 3), "float32"), np.zeros(2, "int32")]
            )
