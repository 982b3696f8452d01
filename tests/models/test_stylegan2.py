"""StyleGAN2: builders, style mixing, truncation in W, regularizers, exact resume."""

import keras
import numpy as np
import pytest
from keras import ops

import gan_blocks as gb


def players(resolution=8, channels=1):
    generator = gb.architectures.stylegan2_generator(resolution, channels, preset="tiny")
    discriminator = gb.architectures.stylegan2_discriminator(resolution, channels, preset="tiny")
    return generator, discriminator


def images(n=16, resolution=8, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, resolution, resolution, channels)).astype("float32")


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_builders_follow_the_nvlabs_layout():
    generator, discriminator = players(16, 3)
    assert generator.output_shape == (None, 16, 16, 3)
    assert discriminator.output_shape == (None, 1)
    # Two styles per resolution 4, 8, 16; widths min(256 // res, 32).
    assert generator.get_layer("synthesis").input_shape == (None, 6, 32)
    assert gb.architectures.stylegan2_num_ws(1024) == 18
    assert generator.get_layer("mapping").num_layers == 2
    paper = gb.architectures.stylegan2_generator(8, preset="paper256", channel_max=16, w_dim=8)
    assert paper.get_layer("mapping").num_layers == 8
    assert paper.get_layer("synthesis").get_layer("b8_conv1").filters == 16
    with pytest.raises(ValueError, match="power-of-two"):
        gb.architectures.stylegan2_generator(24)
    with pytest.raises(ValueError, match="preset"):
        gb.architectures.stylegan2_discriminator(8, preset="ffhq")
    with pytest.raises(ValueError, match="mapping"):
        gb.models.StyleGAN2(gb.architectures.dcgan_generator(8, (8, 8, 1)), discriminator)


def test_fused_modconv_generator_renders_the_same_images():
    # The grouped per-sample convolution is another computation of the same
    # function: with the same weights it must give the same images.
    plain = gb.architectures.stylegan2_generator(8, 2, preset="tiny")
    fused = gb.architectures.stylegan2_generator(8, 2, preset="tiny", fused_modconv=True)
    synthesis = fused.get_layer("synthesis")
    assert synthesis.get_layer("b8_conv0").fused_modconv
    assert synthesis.get_layer("b8_torgb").get_config()["fused_modconv"]
    assert not plain.get_layer("synthesis").get_layer("b8_conv0").fused_modconv
    fused.set_weights(plain.get_weights())
    z = np.random.default_rng(0).normal(size=(3, 32)).astype("float32")
    with gb.models.stylegan2.noise_mode_of(plain.get_layer("synthesis"), "const"):
        with gb.models.stylegan2.noise_mode_of(synthesis, "const"):
            expected = numpy(plain(z, training=False))
            np.testing.assert_allclose(numpy(fused(z, training=False)), expected, atol=1e-5)


def test_style_mixing_probability_zero_is_the_unmixed_generator():
    model = gb.models.StyleGAN2(*players(), style_mixing=0.0, seed=0)
    z = np.random.default_rng(0).normal(size=(4, 32)).astype("float32")
    mixed = numpy(model.styles(z, training=True))
    plain = numpy(model.generator.get_layer("mapping")(z, training=False))
    np.testing.assert_array_equal(mixed, plain)


def test_style_mixing_probability_one_swaps_the_rows_after_a_crossover():
    model = gb.models.StyleGAN2(*players(), style_mixing=1.0, seed=3)
    mapping = model.generator.get_layer("mapping")
    z = np.random.default_rng(1).normal(size=(4, 32)).astype("float32")
    own = numpy(mapping(z, training=False))
    for _ in range(3):
        mixed = numpy(model.styles(z, training=True))
        same = np.all(np.isclose(mixed, own), axis=(0, 2))  # per style row
        crossover = int(np.argmin(same))
        assert 1 <= crossover < model.num_ws
        assert same[:crossover].all() and not same[crossover:].any()


def test_truncation_psi_zero_gives_the_w_average_image_and_cutoff_keeps_fine_styles():
    model = gb.models.StyleGAN2(*players(), seed=0, ema_half_life=None)
    mapping = model.generator.get_layer("mapping")
    mapping.w_average.assign(np.linspace(-1, 1, 32).astype("float32"))
    out = model.generate(4, seed=0, truncation_psi=0.0, noise_mode="const")
    average_ws = np.tile(numpy(mapping.w_average)[None, None], (1, model.num_ws, 1))
    want = numpy(model.generator.get_layer("synthesis")(average_ws, training=False))
    for image in out:
        np.testing.assert_allclose(image, want[0], rtol=1e-5, atol=1e-6)
    z = np.random.default_rng(0).normal(size=(2, 32)).astype("float32")
    ws = numpy(mapping(z))
    cut = numpy(mapping.truncate(ws, 0.0, cutoff=2))
    np.testing.assert_allclose(cut[:, :2], np.broadcast_to(numpy(mapping.w_average), (2, 2, 32)))
    np.testing.assert_array_equal(cut[:, 2:], ws[:, 2:])
    partial = model.generate(latents=z, truncation_psi=0.0, truncation_cutoff=2, noise_mode="none")
    assert not np.allclose(partial[0], partial[1])
    with pytest.raises(ValueError, match="truncation_cutoff"):
        model.generate(2, truncation_cutoff=99)


def test_noise_modes_make_generation_deterministic_or_random():
    model = gb.models.StyleGAN2(*players(), seed=0)
    for layer in gb.models.stylegan2._noise_layers(model.ema_generator):
        layer.strength.assign(np.ones(layer.strength.shape, "float32"))
    z = np.random.default_rng(0).normal(size=(2, 32)).astype("float32")
    const = [model.generate(latents=z, noise_mode="const") for _ in range(2)]
    np.testing.assert_array_equal(const[0], const[1])
    random = [model.generate(latents=z, noise_mode="random") for _ in range(2)]
    assert not np.allclose(random[0], random[1])
    none = model.generate(latents=z, noise_mode="none")
    assert not np.allclose(none, const[0])
    assert all(
        layer.noise_mode == "random"
        for layer in gb.models.stylegan2._noise_layers(model.ema_generator)
    )
    with pytest.raises(ValueError, match="noise_mode"):
        model.generate(2, noise_mode="fixed")


def test_ema_half_life_decay_ramps_up_with_the_images_seen():
    model = gb.models.StyleGAN2(*players(), ema_half_life=1000.0, ema_rampup=0.05, seed=0)
    model.compile()
    model._images_per_step = 8
    optimizer = model.optimizer
    for steps, half_life in ((10, 10 * 8 * 0.05), (10_000, 1000.0)):
        optimizer.iterations.assign(steps)
        np.testing.assert_allclose(
            float(numpy(model.ema_decay())), 0.5 ** (8 / half_life), rtol=1e-6
        )


def test_default_compile_is_the_stylegan2_recipe():
    model = gb.models.StyleGAN2(*players(32), seed=0)
    model.compile()
    r1, path_length = model.regularizers["discriminator"][0], model.regularizers["generator"][0]
    assert (r1.every, r1.gamma) == (16, pytest.approx(0.01))
    assert (path_length.every, path_length.weight, path_length.batch_shrink) == (4, 2.0, 2)
    generator_optimizer = model.generator_optimizer
    assert generator_optimizer.beta_1 == 0.0
    np.testing.assert_allclose(float(generator_optimizer.learning_rate), 0.0025 * 0.8, rtol=1e-6)
    np.testing.assert_allclose(generator_optimizer.beta_2, 0.99**0.8)


def stylegan2_fn(jit_compile):
    """StyleGAN2 with ADA, EMA, lazy R1 and path length every 2nd step: all its state."""
    model = gb.models.StyleGAN2(
        *players(),
        ema_half_life=100.0,
        augmentation=gb.layers.AdaptiveAugment(initial_probability=0.2, interval=1, seed=1),
        seed=0,
    )
    model.compile(
        regularizers={
            "discriminator": [gb.losses.R1Penalty(gamma=0.1, every=2)],
            "generator": [gb.losses.PathLengthPenalty(every=2)],
        },
        jit_compile=jit_compile,
    )
    return model


def test_trains_and_resumes_exactly_with_every_state():
    resumed = gb.testing.TestCase().run_adversarial_model_test(
        stylegan2_fn, images(16), fit_kwargs={"batch_size": 8}, check_compiled=False
    )
    mean = resumed.regularizer_state.of(resumed.regularizers["generator"][0])["mean"]
    assert float(numpy(mean)) > 0.0  # The path-length mean was trained and restored.
    assert np.any(resumed.w_average() != 0.0)


@pytest.mark.large
def test_compiled_step_equals_eager():
    # TensorFlow's XLA draws other numbers than its eager kernels (see
    # gb.testing.TestCase.run_adversarial_model_test); JAX and torch compare.
    gb.testing.TestCase().run_adversarial_model_test(
        stylegan2_fn, images(16), fit_kwargs={"batch_size": 8}, check_compiled=True
    )


@pytest.mark.large
def test_mixed_bfloat16_trains_without_nan():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = gb.models.StyleGAN2(*players(), seed=0)
        model.compile()
        history = model.fit(images(16), batch_size=8, epochs=2, verbose=0).history
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for name, values in history.items():
        assert np.all(np.isfinite(values)), name
    assert np.isfinite(model.generate(2, seed=0)).all()


def test_conditional_stylegan2_trains_on_labels_and_generates_each_class(tmp_path):
    generator = gb.architectures.stylegan2_generator(8, 1, preset="tiny", num_classes=3)
    discriminator = gb.architectures.stylegan2_discriminator(8, 1, preset="tiny", num_classes=3)
    assert generator.input_shape == [(None, 32), (None,)]
    model = gb.models.ConditionalStyleGAN2(generator, discriminator, seed=0)
    assert model.num_classes == 3
    model.compile()
    history = model.fit(images(16), np.arange(16) % 3, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"]).all()
    z = np.repeat(np.random.default_rng(0).normal(size=(1, 32)).astype("float32"), 3, axis=0)
    out = model.generate(latents=z, labels=[0, 1, 2], noise_mode="const")
    assert not np.allclose(out[0], out[1])  # The label reaches the image.
    with pytest.raises(ValueError, match="label"):
        model.generate(labels=[0, 3])
    path = str(tmp_path / "conditional.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        loaded.generate(latents=z, labels=[0, 1, 2], noise_mode="const"), out
    )
    with pytest.raises(ValueError, match="num_classes"):
        gb.models.ConditionalStyleGAN2(*players(), seed=0)


def test_synthesize_renders_given_styles_and_noise_layers_differ():
    model = gb.models.StyleGAN2(*players(16), seed=0)
    z = np.random.default_rng(0).normal(size=(3, 32)).astype("float32")
    ws = numpy(model.mapping_network(use_ema=True)(z))
    np.testing.assert_allclose(
        model.synthesize(ws), model.generate(latents=z, noise_mode="const"), atol=1e-6
    )
    with pytest.raises(ValueError, match="W latents"):
        model.synthesize(ws[:, :2])
    buffers = [
        numpy(layer.const_noise)
        for layer in gb.models.stylegan2._noise_layers(model.generator)
        if layer.const_noise.shape[0] == 16
    ]
    assert len(buffers) == 2 and not np.allclose(buffers[0], buffers[1])


def test_many_images_are_generated_compiled_and_equal_the_eager_ones():
    # 2+ batches run compiled (gb.backend.compiled_inference), fewer eagerly;
    # both are the same function of the current weights, labels included.
    from gan_blocks.models.styled_generation import runs_compiled

    assert runs_compiled(8, 4) and not runs_compiled(7, 4)
    model = gb.models.StyleGAN2(*players(), seed=0)
    z = np.random.default_rng(1).normal(size=(9, 32)).astype("float32")
    settings = dict(noise_mode="const", truncation_psi=0.7, use_ema=False)
    eager = np.concatenate([model.generate(latents=z[i : i + 3], **settings) for i in (0, 3, 6)])
    compiled = model.generate(latents=z, batch_size=4, **settings)  # 4 + 4 + 1 padded
    np.testing.assert_allclose(compiled, eager, atol=1e-5)
    # Later weights are used (the variables are not baked into the graph).
    synthesis = model.synthesis_network()
    kernel = synthesis.get_layer("b8_torgb").trainable_weights[0]
    kernel.assign(kernel * 2.0)
    again = model.generate(latents=z, batch_size=4, **settings)
    assert not np.allclose(again, compiled)
    np.testing.assert_allclose(again[:3], model.generate(latents=z[:3], **settings), atol=1e-5)
    ws = model.styles(z, training=False)
    one_by_one = [model.synthesize(numpy(ws)[i : i + 3], use_ema=False) for i in (0, 3, 6)]
    np.testing.assert_allclose(
        model.synthesize(ws, batch_size=4, use_ema=False), np.concatenate(one_by_one), atol=1e-5
    )
    # Conditional: the labels reach the compiled generator.
    generator = gb.architectures.stylegan2_generator(8, 1, preset="tiny", num_classes=3)
    discriminator = gb.architectures.stylegan2_discriminator(8, 1, preset="tiny", num_classes=3)
    conditional = gb.models.ConditionalStyleGAN2(generator, discriminator, seed=0)
    labels = np.arange(9) % 3
    compiled = conditional.generate(labels=labels, latents=z, batch_size=4, noise_mode="const")
    eager = [
        conditional.generate(labels=labels[i : i + 3], latents=z[i : i + 3], noise_mode="const")
        for i in (0, 3, 6)
    ]
    np.testing.assert_allclose(compiled, np.concatenate(eager), atol=1e-5)


def test_a_smaller_last_batch_trains_with_both_regularizers():
    # 20 images at batch 8: TensorFlow traces one graph for any batch size
    # (its batch axis is unknown), which the path-length draw must handle.
    model = gb.models.StyleGAN2(*players(), seed=0)
    model.compile(
        regularizers={
            "generator": [gb.losses.PathLengthPenalty(every=1)],
            "discriminator": [gb.losses.R1Penalty(gamma=0.01, every=1)],
        }
    )
    history = model.fit(images(20), batch_size=8, epochs=2, verbose=0).history
    assert history["path_length_penalty"][-1] > 0.0
    for name, values in history.items():
        assert np.all(np.isfinite(values)), (name, values)
    assert int(model.generator_optimizer.iterations) == 6
    # A last batch of 2, smaller than the minibatch-stddev group of 4.
    history = model.fit(images(18), batch_size=8, epochs=1, verbose=0).history
    assert all(np.all(np.isfinite(values)) for values in history.values()), history
