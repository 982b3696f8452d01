import keras
import numpy as np
import pytest

import gan_blocks as gb


def conditional_players(num_classes=3, label_shape=()):
    z, y = keras.Input((4,)), keras.Input(label_shape, dtype="int32")
    e = keras.layers.Flatten()(keras.layers.Embedding(num_classes, 4)(y))
    h = keras.layers.Dense(16, activation="relu")(keras.layers.Concatenate()([z, e]))
    generator = keras.Model([z, y], keras.layers.Dense(2, activation="tanh")(h))
    x, c = keras.Input((2,)), keras.Input(label_shape, dtype="int32")
    e = keras.layers.Flatten()(keras.layers.Embedding(num_classes, 4)(c))
    h = keras.layers.Dense(16)(keras.layers.Concatenate()([x, e]))
    discriminator = keras.Model([x, c], keras.layers.Dense(1)(keras.layers.LeakyReLU(0.2)(h)))
    return generator, discriminator


def data(n=32):
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (n, 2)).astype("float32"), rng.integers(0, 3, n)


@pytest.mark.parametrize("label_shape", [(), (1,)])
def test_fit_on_images_and_labels_and_generate_by_label(label_shape, tmp_path):
    generator, discriminator = conditional_players(label_shape=label_shape)
    cgan = gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3, seed=0)
    cgan.compile(loss="hinge")
    images, labels = data()
    history = cgan.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    out = cgan.generate(labels=[0, 1, 2, 2], seed=0)
    assert out.shape == (4, 2)
    # Labels drive the output: same latents, different labels, different images.
    z = np.repeat(np.random.default_rng(0).normal(size=(1, 4)).astype("float32"), 3, 0)
    by_label = cgan.generate(latents=z, labels=[0, 1, 2])
    assert not np.allclose(by_label[0], by_label[1])
    # The label layouts fit takes: (n, 1) ids and one-hot rows give the same images.
    np.testing.assert_array_equal(cgan.generate(latents=z, labels=[[0], [1], [2]]), by_label)
    np.testing.assert_array_equal(cgan.generate(latents=z, labels=np.eye(3)), by_label)
    with pytest.raises(ValueError, match="one-hot labels of width 4"):
        cgan.generate(latents=z[:2], labels=np.eye(4)[:2])
    with pytest.raises(ValueError, match=r"Received shape \(1, 3, 3\)"):
        cgan.generate(latents=z, labels=np.eye(3)[None])
    path = str(tmp_path / "cgan.keras")
    cgan.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored.generate(latents=z, labels=[0, 1, 2]), by_label)


def test_fit_on_a_dataset_of_pairs():
    tf = pytest.importorskip("tensorflow")
    generator, discriminator = conditional_players()
    cgan = gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3)
    cgan.compile()
    images, labels = data()
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    assert np.isfinite(cgan.fit(dataset, verbose=0).history["g_loss"][0])


def test_labels_out_of_range_raise():
    generator, discriminator = conditional_players()
    cgan = gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3)
    cgan.compile()
    images, _ = data(8)
    with pytest.raises(ValueError, match=r"\[0, 3\).*\[0, 7\]"):
        cgan.fit(images, np.arange(8), verbose=0)
    with pytest.raises(ValueError, match="num_classes=3"):
        cgan.generate(labels=[3])
    with pytest.raises(ValueError, match="needs class labels"):
        cgan.fit(images, verbose=0)
    with pytest.raises(ValueError, match="num_classes=1"):
        gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=1)


def test_conditional_gan_resumes_exactly_and_trains_compiled_as_eager():
    def model_fn(jit_compile):
        generator, discriminator = conditional_players()
        cgan = gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3, seed=0)
        cgan.compile(loss="hinge", jit_compile=jit_compile)
        return cgan

    gb.testing.TestCase().run_adversarial_model_test(
        model_fn, data(16), fit_kwargs={"batch_size": 4}
    )
