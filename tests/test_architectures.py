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


def test_discriminator_features_feed_a_linear_classifier():
    images, labels = gb.data.load_digits_images(image_size=28, with_labels=True)
    discriminator = gb.architectures.dcgan_discriminator((28, 28, 1), filters=16)
    extractor = gb.architectures.discriminator_features(discriminator, grid=4)
    assert extractor.output_shape == (None, 16 * 16 + 32 * 16)
    # Shared weights: the extractor reads the discriminator's own layers.
    assert {id(w) for w in extractor.weights} <= {id(w) for w in discriminator.weights}
    features = keras.ops.convert_to_numpy(extractor.predict(images, verbose=0))
    classifier = keras.Sequential([keras.Input(features.shape[1:]), keras.layers.Dense(10)])
    classifier.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    mean, std = features[:1400].mean(0), features[:1400].std(0) + 1e-6
    classifier.fit((features[:1400] - mean) / std, labels[:1400], epochs=20, verbose=0)
    accuracy = classifier.evaluate((features[1400:] - mean) / std, labels[1400:], verbose=0)[1]
    assert accuracy > 0.8, accuracy
    with pytest.raises(ValueError, match="DCGANDownBlock"):
        gb.architectures.discriminator_features(keras.Sequential([keras.Input((2,))]))
