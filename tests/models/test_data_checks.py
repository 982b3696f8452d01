"""What `fit` refuses, warns about and accepts before (and while) training (issue #14)."""

import warnings

import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.models.input_checks import final_activation
from tests.models.helpers import mlp_discriminator, mlp_generator, toy_data
from tests.models.test_conditional_gan import conditional_players


def generator_ending_in(activation, latent_dim=4, output_dim=2):
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(output_dim, activation=activation),
        ]
    )


def user_warnings(record, fragment):
    return [w for w in record if issubclass(w.category, UserWarning) and fragment in str(w.message)]


class Batches(keras.utils.PyDataset):
    """Fixed batches, in order (fit(..., shuffle=False))."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return self.batches[index]


# ------------------------------------------------------------ the generator
def test_final_activation_of_sequential_functional_and_nested_models():
    assert final_activation(generator_ending_in("tanh")) == "tanh"
    assert final_activation(generator_ending_in("sigmoid")) == "sigmoid"
    assert final_activation(generator_ending_in(None)) == "linear"
    activation_layer = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4), keras.layers.Activation("tanh")]
    )
    assert final_activation(activation_layer) == "tanh"
    inputs = keras.Input((4,))
    images = keras.layers.Reshape((2, 2, 1))(keras.ops.sigmoid(keras.layers.Dense(4)(inputs)))
    assert final_activation(keras.Model(inputs, images)) == "sigmoid"
    nested = keras.Sequential(
        [keras.Input((4,)), generator_ending_in("tanh"), keras.layers.Flatten()]
    )
    assert final_activation(nested) == "tanh"
    assert final_activation(gb.architectures.dcgan_generator(8, (16, 16, 1), filters=4)) == "tanh"
    assert final_activation(keras.Sequential([keras.Input((4,)), keras.layers.ReLU()])) is None


def test_a_linear_generator_trains_on_unbounded_points_without_a_word():
    gan = gb.models.GAN(generator_ending_in(None), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    points = np.random.default_rng(0).uniform(-6, 6, (64, 2)).astype("float32")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = gan.fit(points, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])
    assert not user_warnings(record, "range")


def test_a_tanh_generator_refuses_data_outside_and_warns_once_on_0_1_images():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    gan.compile()
    with pytest.raises(ValueError, match=r"range over \[-6.*ends in tanh.*\[-1, 1\]"):
        gan.fit(np.full((8, 2), -6.0, "float32"), verbose=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        gan.fit(toy_data(64) * 0.5 + 0.5, batch_size=16, epochs=2, verbose=0)
    (warning,) = user_warnings(record, "no negative values")
    assert "ends in tanh" in str(warning.message) and "images * 2.0 - 1.0" in str(warning.message)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        gan.fit(toy_data(64), batch_size=16, epochs=1, verbose=0)
    assert not user_warnings(record, "no negative values")


def test_a_sigmoid_generator_takes_0_1_data_and_refuses_minus_1_1():
    gan = gb.models.GAN(generator_ending_in("sigmoid"), mlp_discriminator(), latent_dim=4)
    gan.compile()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        gan.fit(toy_data(32) * 0.5 + 0.5, batch_size=16, verbose=0)
    assert not user_warnings(record, "range")
    with pytest.raises(ValueError, match=r"ends in sigmoid.*\[0, 1\].*images / 255.0"):
        gan.fit(toy_data(32), verbose=0)
    with pytest.raises(ValueError, match=r"integer dtype uint8.*sigmoid.*/ 255.0"):
        gan.fit(np.full((8, 2), 255, "uint8"), verbose=0)


def test_compile_warns_about_a_discriminator_ending_in_a_sigmoid():
    discriminator = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")]
    )
    gan = gb.models.GAN(mlp_generator(), discriminator, latent_dim=4)
    with pytest.warns(UserWarning, match="discriminator ends in a sigmoid.*takes logits"):
        gan.compile()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4).compile()
    assert not user_warnings(record, "sigmoid")


def image_network(activation, inputs=1):
    images = [keras.Input((8, 8, 1)) for _ in range(inputs)]
    x = images[0] if inputs == 1 else keras.layers.Concatenate()(images)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation=activation)(x)
    return keras.Model(images[0] if inputs == 1 else images, outputs)


def test_pix2pix_checks_targets_against_its_generator_and_sources_for_nan_only():
    p2p = gb.models.Pix2Pix(image_network("sigmoid"), image_network(None, inputs=2))
    p2p.compile()
    rng = np.random.default_rng(0)
    sources = rng.uniform(0, 255, (4, 8, 8, 1)).astype("float32")  # Any finite sources.
    targets = rng.uniform(0, 1, (4, 8, 8, 1)).astype("float32")
    with pytest.warns(UserWarning, match=r"source images range over .*scale both the same way"):
        history = p2p.fit(sources, targets, batch_size=2, verbose=0)  # trains, with a word
    assert np.isfinite(history.history["g_loss"][0])
    with pytest.raises(ValueError, match=r"target images range over.*ends in sigmoid"):
        p2p.fit(sources, targets * 2 - 1, verbose=0)
    sources[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="source images contain NaN"):
        p2p.fit(sources, targets, verbose=0)


def test_cycle_gan_checks_each_domain_against_the_generator_producing_it():
    cyc = gb.models.CycleGAN(
        image_network("tanh"),  # generator_ab produces B images in [-1, 1]
        image_network("sigmoid"),  # generator_ba produces A images in [0, 1]
        image_network(None),
        image_network(None),
        pool_size=2,
        seed=0,
    )
    cyc.compile()
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (4, 8, 8, 1)).astype("float32")
    b = rng.uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
    assert np.isfinite(cyc.fit(gb.data.unpaired(a, b, 2, seed=0), verbose=0).history["d_loss"][0])
    with pytest.raises(ValueError, match=r"domain-A images range over.*ends in sigmoid"):
        cyc.fit(gb.data.unpaired(b, b, 2, seed=0), verbose=0)
    with pytest.raises(ValueError, match=r"domain-B images range over.*ends in tanh"):
        cyc.fit(gb.data.unpaired(a, b * 3, 2, seed=0), verbose=0)


# ------------------------------------------------------------------ labels
def make_cgan():
    generator, discriminator = conditional_players()
    cgan = gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3, seed=0)
    cgan.compile()
    return cgan


def test_labels_must_be_whole_class_ids_or_one_hot_rows_of_num_classes():
    cgan = make_cgan()
    images = toy_data(32)
    labels = np.arange(32) % 3
    with pytest.raises(ValueError, match=r"integers in \[0, 3\).*non-integer label 2.7"):
        cgan.fit(images, np.full(32, 2.7), verbose=0)
    with pytest.raises(ValueError, match=r"one-hot rows of width 3.*one-hot labels of width 5"):
        cgan.fit(images, np.eye(5)[labels], verbose=0)
    with pytest.raises(ValueError, match="not one-hot"):
        cgan.fit(images, np.eye(3)[labels] * 0.5, verbose=0)
    # Floats holding integers, and one-hot rows, train.
    assert np.isfinite(cgan.fit(images, labels.astype("float32"), verbose=0).history["d_loss"][0])
    one_hot = cgan.fit(images, np.eye(3, dtype="float32")[labels], batch_size=8, verbose=0)
    assert np.isfinite(one_hot.history["g_loss"][0])


def test_players_taking_one_hot_rows_train_on_ids_or_one_hot_labels():
    def player(inputs, units, activation=None):
        main, label = keras.Input((inputs,)), keras.Input((3,))
        h = keras.layers.Concatenate()([main, keras.layers.Dense(4)(label)])
        return keras.Model([main, label], keras.layers.Dense(units, activation=activation)(h))

    cgan = gb.models.ConditionalGAN(player(4, 2, "tanh"), player(2, 1), 4, num_classes=3)
    cgan.compile()
    images, labels = toy_data(32), np.arange(32) % 3
    for given in (labels, np.eye(3, dtype="float32")[labels]):
        assert np.isfinite(cgan.fit(images, given, batch_size=8, verbose=0).history["d_loss"][0])
    assert cgan.generate(labels=[0, 1, 2], seed=0).shape == (3, 2)


def test_every_label_of_a_numpy_array_is_checked():
    cgan = make_cgan()
    labels = np.arange(6000) % 3
    labels[5000] = 3  # Beyond the first 4,096 rows.
    with pytest.raises(ValueError, match=r"num_classes=3.*labels in \[0, 3\]"):
        cgan.fit(toy_data(6000), labels, verbose=0)


def test_a_bad_label_in_a_later_batch_raises_the_label_error_on_every_backend():
    cgan = make_cgan()
    images, labels = toy_data(32), np.arange(32) % 3
    batches = [(images[i : i + 8], labels[i : i + 8].copy()) for i in range(0, 32, 8)]
    batches[2][1][5] = 7
    with pytest.raises(ValueError, match=r"num_classes=3.*the label 7 .*batch 3\)"):
        cgan.fit(Batches(batches), shuffle=False, verbose=0)
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in cgan.weights)
    batches[2][1][5] = 1  # The record is reset for the next fit.
    assert np.isfinite(cgan.fit(Batches(batches), verbose=0).history["d_loss"][0])


def test_a_bad_label_in_a_later_tf_data_batch_raises_the_label_error():
    tf = pytest.importorskip("tensorflow")
    cgan = make_cgan()
    labels = (np.arange(32) % 3).astype("float32")
    labels[29] = 2.5
    dataset = tf.data.Dataset.from_tensor_slices((toy_data(32), labels)).batch(8)
    with pytest.raises(ValueError, match=r"num_classes=3.*the label 2.5 .*batch 4\)"):
        cgan.fit(dataset, verbose=0)


def test_saving_a_conditional_gan_keeps_the_file_layout():
    cgan = make_cgan()
    record = cgan.label_check
    assert any(v is record for v in cgan.non_trainable_variables)  # Threaded by JAX's step.
    assert all(w is not record for w in cgan.weights)  # Not written to files.


# ------------------------------------------------------------ NaN and empty
def test_nan_or_inf_anywhere_in_a_numpy_array_is_refused():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    gan.compile()
    for value in (np.nan, np.inf):
        images = toy_data(6000)
        images[5000, 1] = value  # Beyond the first 4,096 rows.
        with pytest.raises(ValueError, match="contain NaN or infinite values.*row 5000"):
            gan.fit(images, verbose=0)
    encoder_inputs = keras.Input((2, 2, 1))
    h = keras.layers.Flatten()(encoder_inputs)
    encoder = keras.Model(encoder_inputs, [keras.layers.Dense(2)(h), keras.layers.Dense(2)(h)])
    latents = keras.Input((2,))
    decoder = keras.Model(latents, keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4)(latents)))
    vae = gb.models.VAE(encoder, decoder, reconstruction="gaussian")
    vae.compile()
    images = np.zeros((5000, 2, 2, 1), "float32")
    images[4999] = np.nan
    with pytest.raises(ValueError, match="contain NaN"):
        vae.fit(images, verbose=0)
    with pytest.raises(ValueError, match="empty array"):
        vae.fit(images[:0], verbose=0)


def test_empty_data_raises_a_clear_error_on_every_backend():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    gan.compile()
    with pytest.raises(ValueError, match=r"empty array: x has shape \(0, 2\)"):
        gan.fit(np.zeros((0, 2), "float32"), verbose=0)
    with pytest.raises(ValueError, match="PyDataset|no batches"):
        gan.fit(Batches([]), verbose=0)
    cgan = make_cgan()
    with pytest.raises(ValueError, match=r"empty array: y has shape \(0,\)"):
        cgan.fit(toy_data(8), np.zeros((0,), "int32"), verbose=0)


def test_an_empty_tf_data_dataset_raises_a_clear_error():
    tf = pytest.importorskip("tensorflow")
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    gan.compile()
    empty = tf.data.Dataset.from_tensor_slices(toy_data(4)).batch(8, drop_remainder=True)
    with pytest.raises(ValueError, match="empty tf.data.Dataset"):
        gan.fit(empty, verbose=0)


def test_batches_of_dicts_get_the_tuple_layout_and_the_fix():
    # tensorflow-datasets without as_supervised yields {"image": ..., "label": ...}.
    import tensorflow as tf

    images, labels = toy_data(16), np.arange(16) % 3
    records = {"image": images, "label": labels}
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    cgan = gb.models.ConditionalGAN(*conditional_players(), latent_dim=4, num_classes=3, seed=0)
    cgan.compile()
    for data in (
        tf.data.Dataset.from_tensor_slices(records).batch(8),
        Batches([{"image": images[:8], "label": labels[:8]}]),
        records,
    ):
        for model in (gan, cgan):
            with pytest.raises(ValueError, match=r"dicts \(keys \['image', 'label'\]\)") as error:
                model.fit(data, epochs=1, verbose=0)
            assert "as_supervised=True" in str(error.value)
            assert "d['image'], d['label']" in str(error.value)


def test_wrong_image_layouts_get_the_fix_in_the_message():
    def players(channels):
        generator = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(8 * 8 * channels, activation="tanh"),
                keras.layers.Reshape((8, 8, channels)),
            ]
        )
        discriminator = keras.Sequential(
            [keras.Input((8, 8, channels)), keras.layers.Flatten(), keras.layers.Dense(1)]
        )
        return generator, discriminator

    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 3)).astype("float32")
    cases = [
        (1, images[..., 0], r"\(16, 8, 8\)\. Add the channel axis: `images\[\.\.\., None\]`"),
        (3, np.transpose(images, (0, 3, 1, 2)), r"np\.transpose\(images, \(0, 2, 3, 1\)\)"),
    ]
    for channels, data, message in cases:
        gan = gb.models.GAN(*players(channels), latent_dim=4, seed=0)
        gan.compile()
        with pytest.raises(ValueError, match=message):
            gan.fit(data, batch_size=8, epochs=1, verbose=0)
    gan = gb.models.GAN(*players(3), latent_dim=4, seed=0)
    gan.compile()
    with pytest.raises(ValueError, match=r"shape \(16, 8, 8, 1\)\.$"):  # no fix to suggest
        gan.fit(images[..., :1], batch_size=8, epochs=1, verbose=0)


def test_a_list_of_per_image_arrays_and_string_arrays_get_the_fix():
    # Were "received a batch of shape (2,)" and "Invalid dtype: str32" (issue #31, item 14).
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    with pytest.raises(ValueError, match=r"list of 8 arrays of shape \(2,\).*np\.stack\(x\)"):
        gan.fit([np.zeros((2,), "float32") for _ in range(8)], batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"array of strings \(dtype <U1\).*load_img"):
        gan.fit(np.array([["a", "b"]] * 8), batch_size=4, verbose=0)


def test_generate_refuses_empty_labels_and_more_samples_than_memory():
    # Were a complaint about num_samples and a raw allocation error (issue #31, item 12).
    cgan = gb.models.ConditionalGAN(*conditional_players(), 4, num_classes=3, seed=0)
    with pytest.raises(ValueError, match=r"`labels` holds no entries.*classes 0\.\.2"):
        cgan.generate(labels=[])
    with pytest.raises(ValueError, match=r"num_samples=100000000000.*GiB.*in chunks"):
        cgan.generate(num_samples=10**11)


def test_the_memory_check_adds_image_and_latent_sizes():
    # 10,000 samples of 64x64x3 images and 128-d latents need 0.5 GB; multiplying
    # the two shapes (a first version) asked for 63 GB and refused a FID-sized run.
    from gan_blocks.models.batch_helpers import check_output_fits_in_memory

    check_output_fits_in_memory(10_000, (64, 64, 3), (128,))
    # 2**40 samples x (3 + 5) float32 values = 2**45 bytes (a product would say 61440 GiB).
    with pytest.raises(ValueError, match=r"would need 32768\.0 GiB"):
        check_output_fits_in_memory(2**40, (3,), (5,))


@pytest.mark.parametrize("jit_compile", [True, False])
def test_a_generator_whose_batches_change_channels_gets_the_shape_error(jit_compile):
    # TensorFlow traced one step for both batches (channels relaxed to None),
    # and the 3-channel batch reached XLA as a matrix-size error (issue #31, item 14).
    generator = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8 * 8, activation="tanh"),
            keras.layers.Reshape((8, 8, 1)),
        ]
    )
    discriminator = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )
    gan = gb.models.GAN(generator, discriminator, latent_dim=4, seed=0)
    gan.compile(jit_compile=jit_compile)

    def batches():
        yield (np.zeros((4, 8, 8, 1), "float32"),)
        yield (np.zeros((4, 8, 8, 3), "float32"),)

    with pytest.raises(ValueError, match=r"images .*shape \(batch, 8, 8, 1\).*\(4, 8, 8, 3\)"):
        gan.fit(batches(), epochs=1, steps_per_epoch=2, verbose=0)


@pytest.mark.parametrize("bad_batch", [0, 1])
def test_a_fit_that_raises_leaves_the_model_usable(tmp_path, bad_batch):
    # Keras' JAX fit empties the variables while it trains; a fit refused in
    # its first step (or a later one) left them empty: generate and save then
    # failed with "'NoneType' object is not callable".
    keras.utils.set_random_seed(0)
    generator = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Reshape((4, 4, 1)),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    gan = gb.models.GAN(generator, discriminator, latent_dim=4, seed=0)
    gan.compile(jit_compile=False)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 4, 4, 1)).astype("float32")
    gan.fit(images, batch_size=4, epochs=1, verbose=0)
    trained = gan.generate(3, seed=1)

    def batches():
        for index in range(2):
            yield (images[:4] if index != bad_batch else images[:4, :2, :2],)

    with pytest.raises(ValueError, match=r"shape \(batch, 4, 4, 1\)"):
        gan.fit(batches(), epochs=1, steps_per_epoch=2, verbose=0)
    samples = gan.generate(3, seed=1)
    if bad_batch == 0:  # No step ran: the weights are those of the first fit.
        np.testing.assert_array_equal(samples, trained)
    else:  # One step ran and is kept.
        assert np.all(np.isfinite(samples)) and not np.array_equal(samples, trained)
    gan.save(str(tmp_path / "gan.keras"))
    loaded = keras.models.load_model(str(tmp_path / "gan.keras"))
    np.testing.assert_array_equal(loaded.generate(3, seed=1), samples)
    gan.fit(images, batch_size=4, epochs=1, verbose=0)
    assert np.all(np.isfinite(gan.generate(3, seed=1)))
