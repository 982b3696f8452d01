import keras
import numpy as np
import pytest

import gan_blocks as gb


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_builders_follow_the_rules(shape):
    generator = gb.architectures.dcgan_generator(16, shape, filters=8)
    discriminator = gb.architectures.dcgan_discriminator(shape, filters=8)
    assert generator.output_shape == (None,) + shape
    assert discriminator.output_shape == (None, 1)
    images = keras.ops.convert_to_numpy(generator(np.random.normal(size=(2, 16)).astype("float32")))
    assert np.all(np.abs(images) <= 1.0)  # tanh output
    layer_types = {type(layer) for model in (generator, discriminator) for layer in model.layers}
    assert not any("Pooling" in t.__name__ for t in layer_types)  # strided convs, no pooling
    dense = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 1  # only the projection
    blocks = [
        layer for layer in discriminator.layers if isinstance(layer, gb.layers.DCGANDownBlock)
    ]
    assert not blocks[0].batch_norm and all(block.batch_norm for block in blocks[1:])


def test_builders_reject_unsupported_shapes():
    with pytest.raises(ValueError, match="square"):
        gb.architectures.dcgan_generator(8, (28, 32, 1))
    with pytest.raises(ValueError, match="power of two"):
        gb.architectures.unet_generator((48, 48, 3))


def test_unet_depth_follows_input_and_patchgan_output():
    unet = gb.architectures.unet_generator((32, 32, 1), output_channels=3, filters=4)
    downs = [layer for layer in unet.layers if isinstance(layer, gb.layers.UNetDownBlock)]
    assert len(downs) == 5  # 32 -> 1
    assert unet.output_shape == (None, 32, 32, 3)
    discriminator = gb.architectures.patchgan_discriminator((32, 32, 1), target_channels=3)
    assert discriminator.output_shape == (None, 2, 2, 1)


def test_vae_builders_and_registry_names():
    encoder = gb.architectures.vae_encoder((28, 28, 1), 3)
    decoder = gb.architectures.vae_decoder(3, (28, 28, 1))
    assert [tuple(t.shape) for t in encoder.outputs] == [(None, 3), (None, 3)]
    assert decoder.output_shape == (None, 28, 28, 1)
    assert "unet_generator" in gb.registry.names("architecture")
