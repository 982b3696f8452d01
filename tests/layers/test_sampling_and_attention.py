import keras
import numpy as np

import gan_blocks as gb
from gan_blocks.testing import TestCase


class SamplingAndAttentionTest(TestCase):
    def test_reparameterized_sampling_statistics(self):
        mean = np.full((200000, 2), [1.0, -2.0], "float32")
        log_var = np.full((200000, 2), [np.log(4.0), np.log(0.25)], "float32")
        z = keras.ops.convert_to_numpy(gb.layers.ReparameterizedSampling(seed=0)([mean, log_var]))
        np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.02)
        np.testing.assert_allclose(z.var(0), [4.0, 0.25], rtol=0.02)
        self.run_layer_test(
            gb.layers.ReparameterizedSampling,
            {"seed": 1},
            input_data=[mean[:4], log_var[:4]],
            expected_output_shape=(4, 2),
            run_saving_check=False,
        )

    def test_minibatch_std_dev_matches_numpy(self):
        x = np.random.default_rng(0).normal(size=(4, 3, 3, 2)).astype("float32")
        out = keras.ops.convert_to_numpy(gb.layers.MinibatchStdDev(group_size=2)(x))
        grouped = x.reshape(2, 2, 3, 3, 2)  # sample i in group i % 2
        std = np.sqrt(grouped.var(0) + 1e-8).mean(axis=(1, 2, 3))
        expected = np.array([std[i % 2] for i in range(4)])
        self.assertAllClose(out[..., :2], x)
        self.assertAllClose(
            out[..., 2], np.broadcast_to(expected[:, None, None], (4, 3, 3)), atol=1e-5
        )
        self.run_layer_test(
            gb.layers.MinibatchStdDev,
            {"group_size": 2},
            input_data=x,
            expected_output_shape=(4, 3, 3, 3),
            expected_num_trainable_weights=0,
        )

    def test_self_attention_starts_as_identity_and_matches_numpy(self):
        x = np.random.default_rng(0).normal(size=(2, 3, 3, 8)).astype("float32")
        layer = gb.layers.SelfAttention2D(reduction=4)
        self.assertAllClose(layer(x), x)
        layer.gamma.assign(0.5)
        wq, wk, wv = (
            keras.ops.convert_to_numpy(c.kernel)[0, 0]
            for c in (layer.query, layer.key, layer.value)
        )
        flat = x.reshape(2, 9, 8)
        scores = (flat @ wq) @ (flat @ wk).transpose(0, 2, 1)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        expected = x + 0.5 * (weights @ (flat @ wv)).reshape(x.shape)
        self.assertAllClose(layer(x), expected, atol=1e-5)
        self.run_layer_test(
            gb.layers.SelfAttention2D,
            {"reduction": 4},
            input_data=x,
            expected_output_shape=x.shape,
            expected_num_trainable_weights=4,
        )
