import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.testing import TestCase
from gan_blocks.trainers import input_gradients

IMAGES = np.random.default_rng(0).normal(size=(2, 5, 4, 3)).astype("float32")


class ReflectionPadding2DTest(TestCase):
    def test_layer_contract(self):
        self.run_layer_test(
            gb.layers.ReflectionPadding2D,
            {"padding": 2},
            input_data=IMAGES,
            expected_output_shape=(2, 9, 8, 3),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
        )

    def test_matches_numpy_reflect(self):
        for padding, pairs in (
            (1, ((1, 1), (1, 1))),
            ((2, 3), ((2, 2), (3, 3))),
            (((0, 4), (3, 1)), ((0, 4), (3, 1))),
        ):
            layer = gb.layers.ReflectionPadding2D(padding)
            expected = np.pad(IMAGES, ((0, 0), *pairs, (0, 0)), mode="reflect")
            self.assertAllClose(layer(IMAGES), expected, atol=0.0, rtol=0.0)
            self.assertEqual(layer.compute_output_shape(IMAGES.shape), expected.shape)
            self.assertEqual(layer.get_config()["padding"], pairs)

    def test_symbolic_unknown_sides_and_mixed_precision(self):
        output = gb.layers.ReflectionPadding2D(1)(keras.KerasTensor((None, None, None, 3)))
        self.assertEqual(tuple(output.shape), (None, None, None, 3))
        for policy in ("mixed_bfloat16", "mixed_float16"):
            output = gb.layers.ReflectionPadding2D(1, dtype=policy)(IMAGES)
            self.assertEqual(keras.backend.standardize_dtype(output.dtype), policy.split("_")[1])

    def test_gradient_folds_back_onto_the_reflected_pixels(self):
        # Each output pixel is an input pixel, so d(sum(output))/d(input) counts
        # how often every input pixel appears: np.pad of ones, folded back.
        x = np.zeros((1, 4, 4, 1), "float32")
        gradient = input_gradients(lambda t: keras.ops.sum(gb.layers.ReflectionPadding2D(1)(t)), x)
        expected = np.array([1, 2, 2, 1], "float32")  # interior rows 1, 2 are mirrored once
        expected = np.outer(expected, expected)[None, :, :, None]
        self.assertAllClose(gradient, expected)


def test_padding_must_be_smaller_than_the_side():
    with pytest.raises(ValueError, match=r"cannot reflect 4 pixels of a width of 4"):
        gb.layers.ReflectionPadding2D((1, 4))(IMAGES)
    with pytest.raises(ValueError, match="cannot reflect 5 pixels of a height of 5"):
        keras.Sequential([keras.Input((5, 4, 3)), gb.layers.ReflectionPadding2D(((0, 5), (0, 0)))])


@pytest.mark.parametrize("padding", [-1, 1.5, (1, 2, 3), ((1, 2), 3), True])
def test_bad_padding_names_what_was_received(padding):
    with pytest.raises(ValueError, match=r"Received: padding="):
        gb.layers.ReflectionPadding2D(padding)


def test_rank_is_checked():
    with pytest.raises(ValueError, match="4-D channels-last"):
        gb.layers.ReflectionPadding2D(1)(IMAGES[0])
