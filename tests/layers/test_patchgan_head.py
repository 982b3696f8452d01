import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.testing import TestCase
from gan_blocks.trainers import input_gradients


class PatchGANHeadTest(TestCase):
    def test_layer_contract(self):
        self.run_layer_test(
            gb.layers.PatchGANHead,
            {"filters": 4, "num_layers": 2, "normalization": "batch"},
            input_data=np.random.default_rng(0).normal(size=(2, 32, 32, 6)).astype("float32"),
            expected_output_shape=(2, 6, 6, 1),
        )

    def test_256_input_gives_30x30_logits(self):
        head = gb.layers.PatchGANHead(filters=2, num_layers=3, normalization="instance")
        self.assertEqual(tuple(head(np.zeros((1, 256, 256, 6), "float32")).shape), (1, 30, 30, 1))
        self.assertEqual(head.compute_output_shape((None, 256, 256, 6)), (None, 30, 30, 1))

    def test_receptive_field_closed_form(self):
        expected = {1: 16, 2: 34, 3: 70, 4: 142}
        for layers, field in expected.items():
            self.assertEqual(gb.layers.PatchGANHead(num_layers=layers).receptive_field, field)

    def test_receptive_field_empirically(self):
        for layers, size in ((2, 64), (3, 128)):
            head = gb.layers.PatchGANHead(filters=2, num_layers=layers, normalization=None)
            x = np.random.default_rng(1).normal(size=(1, size, size, 3)).astype("float32")
            out_size = head(x).shape[1]
            center = out_size // 2
            gradient = input_gradients(
                lambda t, head=head, center=center: head(t)[:, center, center, 0], x
            )
            nonzero = np.abs(keras.ops.convert_to_numpy(gradient))[0].sum(-1) > 0
            rows = np.where(nonzero.any(1))[0]
            cols = np.where(nonzero.any(0))[0]
            self.assertEqual(rows.max() - rows.min() + 1, head.receptive_field)
            self.assertEqual(cols.max() - cols.min() + 1, head.receptive_field)

    def test_spectral_variant_and_bad_normalization(self):
        head = gb.layers.PatchGANHead(filters=2, num_layers=1, normalization="spectral")
        self.assertEqual(tuple(head(np.zeros((1, 16, 16, 3), "float32")).shape), (1, 6, 6, 1))
        with pytest.raises(ValueError, match="normalization='layer'"):
            gb.layers.PatchGANHead(normalization="layer")


def test_too_small_input_raises_clear_error():
    with pytest.raises(ValueError, match="num_layers=3.*larger inputs"):
        gb.layers.PatchGANHead(filters=2, num_layers=3)(np.zeros((1, 16, 16, 3), "float32"))


@pytest.mark.parametrize("normalization", ["batch", "spectral"])
def test_state_updates_only_when_training(normalization):
    # BatchNorm moving statistics / spectral `u` vectors: `training` reaches the
    # sub-layers through a direct call, an enclosing model and `stateless_call`.
    head = gb.layers.PatchGANHead(filters=2, num_layers=1, normalization=normalization)
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, head(inputs))

    def state():
        return [keras.ops.convert_to_numpy(v) for v in head.non_trainable_variables]

    def changed(before, after):
        return any(not np.array_equal(b, a) for b, a in zip(before, after))

    assert state()
    for call, training in [
        (lambda t: head(x, training=t), (False, True)),
        (lambda t: model(x, training=t), (False, True)),
    ]:
        for flag in training:
            before = state()
            call(flag)
            assert changed(before, state()) == flag
    before = state()
    head(x)
    model(x)
    assert not changed(before, state())
    trainable = [v.value for v in head.trainable_variables]
    non_trainable = [v.value for v in head.non_trainable_variables]
    for flag in (False, True):
        _, updated = head.stateless_call(trainable, non_trainable, x, training=flag)
        new = [keras.ops.convert_to_numpy(v) for v in updated]
        assert changed([keras.ops.convert_to_numpy(v) for v in non_trainable], new) == flag
