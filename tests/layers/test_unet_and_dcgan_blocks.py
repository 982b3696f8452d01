import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.testing import TestCase

RNG = np.random.default_rng(0)


class BlockTest(TestCase):
    def test_unet_down_block_contract(self):
        self.run_layer_test(
            gb.layers.UNetDownBlock,
            {"filters": 4},
            input_data=RNG.normal(size=(2, 8, 8, 3)).astype("float32"),
            expected_output_shape=(2, 4, 4, 4),
            expected_num_trainable_weights=3,
            expected_num_non_trainable_weights=2,
        )

    def test_unet_up_block_concatenates_the_skip(self):
        x = RNG.normal(size=(2, 4, 4, 6)).astype("float32")
        skip = RNG.normal(size=(2, 8, 8, 3)).astype("float32")
        self.run_layer_test(
            gb.layers.UNetUpBlock,
            {"filters": 5, "dropout": 0.5},
            input_data=[x, skip],
            expected_output_shape=(2, 8, 8, 8),
        )
        out = keras.ops.convert_to_numpy(gb.layers.UNetUpBlock(5)([x, skip]))
        self.assertAllClose(np.asarray(out)[..., 5:], skip)  # skip passes through unchanged
        assert np.all(np.asarray(out)[..., :5] >= 0)  # ReLU

    def test_unet_up_block_rejects_mismatched_skip(self):
        with pytest.raises(ValueError, match=r"\(2, 4, 4, 6\).*\(2, 6, 6, 3\)"):
            gb.layers.UNetUpBlock(5)(
                [np.zeros((2, 4, 4, 6), "float32"), np.zeros((2, 6, 6, 3), "float32")]
            )

    def test_dcgan_blocks_contract(self):
        self.run_layer_test(
            gb.layers.DCGANUpBlock,
            {"filters": 4},
            input_data=RNG.normal(size=(2, 7, 7, 8)).astype("float32"),
            expected_output_shape=(2, 14, 14, 4),
            expected_num_trainable_weights=3,
        )
        self.run_layer_test(
            gb.layers.DCGANDownBlock,
            {"filters": 4, "dropout": 0.3},
            input_data=RNG.normal(size=(2, 8, 8, 3)).astype("float32"),
            expected_output_shape=(2, 4, 4, 4),
        )

    def test_dcgan_down_block_matches_numpy(self):
        # kernel 2, stride 2, no padding needed: each output pixel is one patch.
        block = gb.layers.DCGANDownBlock(3, kernel_size=2, strides=2, batch_norm=False)
        x = RNG.normal(size=(1, 4, 4, 2)).astype("float32")
        out = keras.ops.convert_to_numpy(block(x))
        kernel = keras.ops.convert_to_numpy(block.conv.kernel)
        bias = keras.ops.convert_to_numpy(block.conv.bias)
        patches = x.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4, 5)  # (n, i, j, kh, kw, c)
        pre = np.einsum("nijhwc,hwco->nijo", patches, kernel) + bias
        self.assertAllClose(out, np.where(pre > 0, pre, 0.2 * pre), atol=1e-5)

    def test_kernel_not_divisible_by_stride_explains_checkerboard(self):
        for cls in (gb.layers.DCGANUpBlock, gb.layers.DCGANDownBlock):
            with pytest.raises(ValueError, match="checkerboard"):
                cls(8, kernel_size=3, strides=2)
