"""`gb.latents.project`: StyleGAN2 projection of images into W (NVlabs' projector)."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import gan_blocks as gb
from gan_blocks.latents import projection
from gan_blocks.models.stylegan2 import noise_mode_of

STEPS = 50


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def noise_layers(network):
    return [
        layer for layer in network._flatten_layers() if isinstance(layer, gb.layers.NoiseInjection)
    ]


def small_model(stylegan2_discriminator=True):
    """A tiny 8x8 StyleGAN2 whose synthesis uses its noise and stays in [-1, 1].

    Without `stylegan2_discriminator`, a discriminator with no layer "b4_fc":
    projection then matches pixels only (and runs faster).
    """
    keras.utils.set_random_seed(0)  # also for the module fixture, set up before conftest's seed
    generator = gb.architectures.stylegan2_generator(8, channels=1, preset="tiny")
    if stylegan2_discriminator:
        discriminator = gb.architectures.stylegan2_discriminator(8, channels=1, preset="tiny")
    else:
        discriminator = keras.Sequential(
            [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
        )
    model = gb.models.StyleGAN2(generator, discriminator, seed=0)
    mapping, synthesis = model.mapping_network(True), model.synthesis_network(True)
    # A trained model's W average and noise strengths; outputs scaled into [-1, 1].
    z = np.random.default_rng(5).standard_normal((256, 32)).astype("float32")
    ws = numpy(mapping(z))
    mapping.w_average.assign(ws[:, 0].mean(0))
    for layer in noise_layers(synthesis):
        layer.strength.assign(np.full(layer.strength.shape, 0.1, "float32"))
    with noise_mode_of(synthesis, "const"):
        peak = np.abs(numpy(synthesis(np.concatenate([ws, far_from_average(model, ws)])))).max()
    for name in ("b4_torgb", "b8_torgb"):
        kernel = synthesis.get_layer(name).kernel
        kernel.assign(kernel.value * (0.9 / peak))
    return model


def far_from_average(model, ws):
    """W twice as far from the W average: targets unlike the starting image."""
    average = model.w_average()
    return (average + 2.0 * (ws - average)).astype("float32")


def synthesise(model, ws):
    synthesis = model.synthesis_network(True)
    with noise_mode_of(synthesis, "const"):
        return numpy(synthesis(np.asarray(ws, "float32")))


def snapshot(model):
    return [np.array(numpy(weight)) for weight in model.weights]


@pytest.fixture(scope="module")
def projected():
    """Projects two images the model generated from known W, recording the noise."""
    model = small_model(stylegan2_discriminator=False)
    z = np.random.default_rng(1).standard_normal((2, 32)).astype("float32")
    targets = synthesise(model, far_from_average(model, numpy(model.mapping_network(True)(z))))
    before = snapshot(model)
    noise_images = []
    project_batch = projection._project_batch

    def recording(*args, **kwargs):
        result = project_batch(*args, **kwargs)
        noise_images.append(result[2])
        return result

    projection._project_batch = recording
    try:
        latents, reconstructions = gb.latents.project(
            model, targets, steps=STEPS, w_samples=256, batch_size=2
        )
    finally:
        projection._project_batch = project_batch
    return model, targets, before, latents, reconstructions, noise_images


def test_projection_reaches_a_fraction_of_the_starting_error(projected):
    model, targets, _, latents, reconstructions, _ = projected
    assert latents.shape == (2, model.num_ws, 32) and latents.dtype == np.float32
    assert reconstructions.shape == targets.shape
    start = np.broadcast_to(model.w_average(), latents.shape)
    initial = np.mean(np.square(synthesise(model, start) - targets), axis=(1, 2, 3))
    final = np.mean(np.square(reconstructions - targets), axis=(1, 2, 3))
    # Measured 0.05-0.26 of the start after 50 steps (backends and CPUs differ).
    assert np.all(final < 0.5 * initial), (final, initial)


def test_reconstructions_are_the_latents_synthesised_with_the_optimised_noise(projected):
    model, _, _, latents, reconstructions, noise_images = projected
    assert len(noise_images) == 1  # one batch of two images
    layers = noise_layers(model.synthesis_network(True))
    saved = [numpy(layer.const_noise) for layer in layers]
    try:
        for layer, noise in zip(layers, noise_images[0]):
            np.testing.assert_allclose(noise.mean(), 0.0, atol=1e-5)  # renormalised
            np.testing.assert_allclose(np.mean(noise**2), 1.0, rtol=1e-4)
            layer.const_noise.assign(noise)
        with_optimised_noise = synthesise(model, latents)
    finally:
        for layer, value in zip(layers, saved):
            layer.const_noise.assign(value)
    np.testing.assert_allclose(with_optimised_noise, reconstructions, rtol=1e-4, atol=1e-5)
    # The model keeps its own noise images: with them the same latents differ.
    assert np.abs(synthesise(model, latents) - reconstructions).max() > 1e-3


def test_the_model_is_unchanged(projected):
    model, _, before, *_ = projected
    for old, new in zip(before, snapshot(model)):
        np.testing.assert_array_equal(old, new)
    assert all(
        layer.noise_mode == "random" for layer in noise_layers(model.synthesis_network(True))
    )


def test_w_gives_one_row_per_image_and_w_plus_one_per_style(projected):
    model, targets, _, latents, *_ = projected
    np.testing.assert_array_equal(latents, np.broadcast_to(latents[:, :1], latents.shape))
    w_plus, _ = gb.latents.project(model, targets, steps=4, w_samples=16, w_plus=True, batch_size=2)
    assert w_plus.shape == latents.shape
    assert not np.allclose(w_plus, np.broadcast_to(w_plus[:, :1], w_plus.shape))


def test_features_enter_the_distance(capsys):
    model = small_model()
    targets = synthesise(model, np.broadcast_to(model.w_average(), (1, model.num_ws, 32)) + 0.5)
    calls = []
    extractor = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(4)]
    )

    def user_features(images):
        calls.append(tuple(images.shape))
        return extractor(images)

    def run(features, verbose=False):
        return gb.latents.project(
            model, targets, steps=2, w_samples=16, feature_extractor=features, verbose=verbose
        )[0]

    pixels_only = run(lambda images: ops.zeros((images.shape[0], 1)))
    with_user_features = run(user_features, verbose=True)
    # The progress lines measure the same distance, features included.
    assert "step 2/2: loss " in capsys.readouterr().out
    with_discriminator = run(None)  # the discriminator's "b4_fc" features
    assert calls and all(shape == (1, 8, 8, 1) for shape in calls)
    assert not np.allclose(with_user_features, pixels_only)
    assert not np.allclose(with_discriminator, pixels_only)
    features = projection._discriminator_features(model.discriminator)
    assert features.output_shape == model.discriminator.get_layer("b4_fc").output.shape


def test_a_discriminator_without_b4_fc_means_pixels_only():
    model = small_model(stylegan2_discriminator=False)
    assert projection._discriminator_features(model.discriminator) is None
    with pytest.raises(ValueError, match="pixel_weight=0"):
        gb.latents.project(model, np.zeros((1, 8, 8, 1)), steps=1, pixel_weight=0.0)


def test_nvlabs_schedule_and_noise_regularization():
    ramp = projection._learning_rate_ramp
    assert ramp(0.0) == 0.0 and ramp(0.5) == 1.0
    assert math.isclose(ramp(0.025), 0.5) and math.isclose(ramp(0.875), 0.5)
    ones = np.ones((16, 16, 1), "float32")
    # Correlation 1 at 16x16 and again at 8x8: 2 terms each.
    assert math.isclose(float(numpy(projection._noise_regularization([ones]))), 4.0, rel_tol=1e-6)
    checkerboard = np.indices((8, 8)).sum(0)[..., None] % 2 * 2.0 - 1.0
    assert math.isclose(
        float(numpy(projection._noise_regularization([checkerboard]))), 2.0, rel_tol=1e-6
    )


def test_clear_errors():
    model = small_model(stylegan2_discriminator=False)
    with pytest.raises(ValueError, match=r"shape \(n, 8, 8, 1\).*images\[None\]"):
        gb.latents.project(model, np.zeros((8, 8, 1)))
    with pytest.raises(ValueError, match=r"shape \(n, 8, 8, 1\).*\(2, 16, 16, 1\)"):
        gb.latents.project(model, np.zeros((2, 16, 16, 1)))
    with pytest.raises(ValueError, match=r"\[-1, 1\].*\[0, 255\]"):
        gb.latents.project(model, np.linspace(0.0, 255.0, 64).reshape(1, 8, 8, 1))
    with pytest.raises(ValueError, match="NaN"):
        gb.latents.project(model, np.full((1, 8, 8, 1), np.nan))
    with pytest.raises(ValueError, match="steps"):
        gb.latents.project(model, np.zeros((1, 8, 8, 1)), steps=0)
    dcgan = gb.models.GAN(
        gb.architectures.dcgan_generator(8, (8, 8, 1)), model.discriminator, latent_dim=8
    )
    with pytest.raises(TypeError, match="gb.models.StyleGAN2.*GAN"):
        gb.latents.project(dcgan, np.zeros((1, 8, 8, 1)))


# --------------------------------------------------------------- conditional
CLASSES = 3
CONDITIONAL_STEPS = 20


def small_conditional_model(stylegan2_discriminator=False):
    """A tiny 8x8 ConditionalStyleGAN2 (3 classes), scaled as `small_model`.

    Without `stylegan2_discriminator`, an `[images, labels]` discriminator
    with no layer "b4_fc": projection then matches pixels only (faster).
    """
    keras.utils.set_random_seed(0)
    generator = gb.architectures.stylegan2_generator(
        8, channels=1, preset="tiny", num_classes=CLASSES
    )
    if stylegan2_discriminator:
        discriminator = gb.architectures.stylegan2_discriminator(
            8, channels=1, preset="tiny", num_classes=CLASSES
        )
    else:
        images, labels = keras.Input((8, 8, 1)), keras.Input((), dtype="int32")
        hidden = keras.layers.Concatenate()(
            [keras.layers.Flatten()(images), keras.layers.Embedding(CLASSES, 4)(labels)]
        )
        discriminator = keras.Model([images, labels], keras.layers.Dense(1)(hidden))
    model = gb.models.ConditionalStyleGAN2(generator, discriminator, seed=0)
    mapping, synthesis = model.mapping_network(True), model.synthesis_network(True)
    z = np.random.default_rng(5).standard_normal((96, 32)).astype("float32")
    classes = np.arange(96) % CLASSES
    ws = numpy(mapping([z, classes]))
    mapping.w_average.assign(ws[:, 0].mean(0))
    for layer in noise_layers(synthesis):
        layer.strength.assign(np.full(layer.strength.shape, 0.1, "float32"))
    means = class_means(model, range(CLASSES), z)
    far = far_from_class_mean(ws, means[classes])
    with noise_mode_of(synthesis, "const"):
        peak = np.abs(numpy(synthesis(np.concatenate([ws, far])))).max()
    for name in ("b4_torgb", "b8_torgb"):
        kernel = synthesis.get_layer(name).kernel
        kernel.assign(kernel.value * (0.9 / peak))
    return model


def class_means(model, classes, z):
    """Each class's mean w over the z, mapped with numpy's mean: `(k, w_dim)` float64."""
    mapping = model.mapping_network(True)
    return np.stack(
        [
            numpy(mapping([z, np.full(len(z), c, "int32")]))[:, 0].astype("float64").mean(0)
            for c in classes
        ]
    )


def far_from_class_mean(ws, means):
    """W twice as far from its class's mean W (`means`: one row per w)."""
    means = np.asarray(means)[:, None, :]
    return (means + 2.0 * (ws - means)).astype("float32")


@pytest.fixture(scope="module")
def conditional_model():
    return small_conditional_model()


# The shapes of the `projected` fixture's batch, so JAX compiles their ops once.
COUNT, W_SAMPLES = 2, 64


def conditional_project(model, images, labels, **kwargs):
    settings = {"steps": 1, "w_samples": W_SAMPLES, "batch_size": COUNT, **kwargs}
    return gb.latents.project(model, images, labels=labels, **settings)


def test_conditional_projection_reaches_a_fraction_of_the_starting_error(conditional_model):
    model = conditional_model
    labels = np.array([2, 0])  # mixed classes in one batch
    z = np.random.default_rng(1).standard_normal((COUNT, 32)).astype("float32")
    ws = numpy(model.mapping_network(True)([z, labels]))
    # The start points: class means of the z `project` draws first from its seed.
    z_samples = np.random.default_rng(0).standard_normal((W_SAMPLES, 32)).astype("float32")
    means = class_means(model, labels, z_samples)
    targets = synthesise(model, far_from_class_mean(ws, means))
    before = snapshot(model)
    latents, reconstructions = conditional_project(
        model, targets, labels, steps=CONDITIONAL_STEPS, seed=0
    )
    assert latents.shape == (COUNT, model.num_ws, 32) and reconstructions.shape == targets.shape
    start = np.broadcast_to(means[:, None, :], latents.shape)
    initial = np.mean(np.square(synthesise(model, start) - targets), axis=(1, 2, 3))
    final = np.mean(np.square(reconstructions - targets), axis=(1, 2, 3))
    # Measured 0.11-0.27 of the start after 20 steps (JAX, torch, TensorFlow).
    assert np.all(final < 0.5 * initial), (final, initial)
    for old, new in zip(before, snapshot(model)):
        np.testing.assert_array_equal(old, new)
    assert all(
        layer.noise_mode == "random" for layer in noise_layers(model.synthesis_network(True))
    )


def test_conditional_start_is_the_class_mean_of_w(conditional_model):
    model, mapping = conditional_model, conditional_model.mapping_network(True)
    z = np.random.default_rng(3).standard_normal((W_SAMPLES, 32)).astype("float32")
    means = class_means(model, range(CLASSES), z)
    # Step 0 of NVlabs' schedule has learning rate 0: one step returns the start.
    labels = [2, 0]
    latents, _ = conditional_project(model, np.zeros((COUNT, 8, 8, 1), "float32"), labels, seed=3)
    np.testing.assert_allclose(
        latents, np.broadcast_to(means[labels][:, None], latents.shape), rtol=1e-5, atol=1e-6
    )
    # The unconditional rule would start every image at the global W average.
    assert not np.allclose(means, model.w_average(), atol=1e-3)
    # The spread around each class mean: NVlabs' formula, for the classes asked.
    expected = []
    for c in (0, 2):
        w = numpy(mapping([z, np.full(W_SAMPLES, c)]))[:, 0].astype("float64")
        expected.append(np.sqrt(np.sum(np.square(w - w.mean(0))) / W_SAMPLES))
    got_means, got_spreads = projection._class_w_statistics(
        mapping, lambda ids: ids, np.array([0, 2]), 32, W_SAMPLES, np.random.default_rng(3)
    )
    np.testing.assert_allclose(got_means, means[[0, 2]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_spreads, expected, rtol=1e-5)


def test_conditional_label_forms_agree(conditional_model):
    images = np.zeros((COUNT, 8, 8, 1), "float32")
    ids = conditional_project(conditional_model, images, [2, 0])[0]
    for labels in (
        np.array([[2], [0]]),
        np.eye(CLASSES, dtype="float32")[[2, 0]],  # one-hot rows
        ops.convert_to_tensor([2.0, 0.0]),  # a backend tensor of whole floats
    ):
        np.testing.assert_array_equal(
            conditional_project(conditional_model, images, labels)[0], ids
        )


def test_conditional_features_get_the_labels_where_b4_fc_needs_them(conditional_model):
    # StyleGAN2's conditional discriminator: labels enter after "b4_fc", at its head.
    discriminator = gb.architectures.stylegan2_discriminator(
        8, channels=1, preset="tiny", num_classes=CLASSES
    )
    assert len(projection._discriminator_features(discriminator).inputs) == 1
    # A discriminator whose "b4_fc" sees the labels: the features need them.
    images, labels = keras.Input((8, 8, 1)), keras.Input((), dtype="int32")
    hidden = keras.layers.Concatenate()(
        [keras.layers.Flatten()(images), keras.layers.Embedding(CLASSES, 4)(labels)]
    )
    features = keras.layers.Dense(4, name="b4_fc")(hidden)
    discriminator = keras.Model([images, labels], keras.layers.Dense(1)(features))
    assert len(projection._discriminator_features(discriminator).inputs) == 2
    model, original = conditional_model, conditional_model.discriminator
    model.discriminator = discriminator
    try:
        # Features alone (pixel_weight=0): this fails unless the labels reach "b4_fc".
        latents, _ = conditional_project(
            model, np.zeros((COUNT, 8, 8, 1), "float32"), [0, 2], steps=2, pixel_weight=0.0
        )
    finally:
        model.discriminator = original
    assert latents.shape == (COUNT, model.num_ws, 32) and np.isfinite(latents).all()


def test_conditional_label_errors(conditional_model, projected):
    model, images = conditional_model, np.zeros((2, 8, 8, 1), "float32")
    with pytest.raises(ValueError, match=r"needs `labels`.*\[0, 3\).*labels=None"):
        gb.latents.project(model, images, steps=1)
    with pytest.raises(ValueError, match=r"2 images but 3 labels"):
        gb.latents.project(model, images, steps=1, labels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"\[0, 3\).*labels in \[0, 3\]"):
        gb.latents.project(model, images, steps=1, labels=[0, 3])
    with pytest.raises(ValueError, match=r"\[0, 3\).*labels in \[-1, 0\]"):
        gb.latents.project(model, images, steps=1, labels=[-1, 0])
    with pytest.raises(ValueError, match=r"non-integer label 0.5"):
        gb.latents.project(model, images, steps=1, labels=[0.5, 1.0])
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2\)"):
        gb.latents.project(model, images, steps=1, labels=np.zeros((2, 2, 2), "int32"))
    unconditional = projected[0]
    with pytest.raises(ValueError, match=r"StyleGAN2 is unconditional.*labels.*None"):
        gb.latents.project(unconditional, images, steps=1, labels=[0, 1])
