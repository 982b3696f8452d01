"""`gb.export`: exported artifacts reproduce `generate`, run by their own runtimes."""

import importlib.util
import os

import keras
import numpy as np
import pytest

import gan_blocks as gb

BACKEND = keras.backend.backend()
# The Python runtime that reloads each format, independent of Keras.
RUNTIMES = {"tf_saved_model": "tensorflow", "onnx": "onnxruntime", "litert": "ai_edge_litert"}
SUFFIXES = {"tf_saved_model": "", "onnx": ".onnx", "litert": ".tflite"}


def exportable(format):
    """Skips unless this backend writes `format` and its runtime is installed."""
    if format not in gb.export.supported_formats():
        pytest.skip(f"the {BACKEND} backend cannot export {format} with what is installed")
    pytest.importorskip(RUNTIMES[format])
    if format == "onnx" and BACKEND == "tensorflow":
        pytest.importorskip("tf2onnx")


def run_artifact(format, path, feeds):
    """Runs an exported artifact on named numpy inputs; returns its named outputs."""
    if format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        return dict(zip(names, session.run(None, feeds)))
    if format == "litert":
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter(model_path=path).get_signature_runner()(**feeds)
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    return {name: value.numpy() for name, value in serve(**feeds).items()}


def export_and_run(model, tmp_path, format, feeds, **options):
    path = str(tmp_path / f"generator{SUFFIXES[format]}")
    assert gb.export.export_generator(model, path, format=format, **options) == path
    return run_artifact(format, path, feeds)


def tiny_gan(seed=0, generator_ema=0.9):
    """A GAN whose generator has batch and spectral normalization, with moved EMA weights."""
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential(
        [
            keras.Input((4,)),
            gb.layers.SpectralDense(8, seed=1),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(6, activation="tanh"),
        ]
    )
    discriminator = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    gan = gb.models.GAN(generator, discriminator, latent_dim=4, generator_ema=generator_ema)
    rng = np.random.default_rng(seed)
    for network in (gan.generator, gan.ema_generator):
        # Distinct weights per network and moving statistics far from (0, 1).
        network.set_weights([rng.normal(size=w.shape).astype("float32") for w in network.weights])
        batch_norm = network.layers[1]
        batch_norm.moving_variance.assign(rng.uniform(0.5, 2.0, (8,)).astype("float32"))
    return gan


@pytest.mark.parametrize("format", gb.export.FORMATS)
def test_exported_gan_reproduces_the_ema_generator_in_inference_mode(tmp_path, format):
    exportable(format)
    gan = tiny_gan()
    u_before = keras.ops.convert_to_numpy(gan.ema_generator.layers[0].u)
    latents = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    expected = gan.generate(latents=latents)  # EMA weights, moving statistics.
    outputs = export_and_run(gan, tmp_path, format, {"latents": latents})
    np.testing.assert_allclose(outputs["images"], expected, atol=1e-5)
    assert outputs["images"].dtype == np.float32
    if format == "onnx":  # A free (symbolic) batch dimension on every backend.
        import onnxruntime

        session = onnxruntime.InferenceSession(str(tmp_path / "generator.onnx"))
        assert isinstance(session.get_inputs()[0].shape[0], str)
    raw = gan.generate(latents=latents, use_ema=False)
    assert np.abs(outputs["images"] - raw).max() > 1e-2  # The EMA copy, not the raw one.
    again = run_artifact(
        format, str(tmp_path / f"generator{SUFFIXES[format]}"), {"latents": latents}
    )
    np.testing.assert_array_equal(again["images"], outputs["images"])  # No state updates.
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(gan.ema_generator.layers[0].u), u_before
    )


def test_the_export_formats_of_each_backend():
    assert gb.export.check_export_format("onnx", "tensorflow") == "onnx"
    if importlib.util.find_spec("jax2onnx") is None:
        with pytest.raises(ImportError, match="pip install jax2onnx"):
            gb.export.check_export_format("onnx", "jax")
    else:
        assert gb.export.check_export_format("onnx", "jax") == "onnx"
    with pytest.raises(ValueError, match="tensorflow, torch backends can"):
        gb.export.check_export_format("litert", "jax")
    with pytest.raises(ValueError, match="Unknown export format 'mp4'"):
        gb.export.check_export_format("mp4")
    assert set(gb.export.supported_formats()) <= set(gb.export.FORMATS)
    assert "litert" not in gb.export.supported_formats("jax")
    if importlib.util.find_spec("torch_xla") is None and importlib.util.find_spec("tensorflow"):
        # The message names the backends that can export it with what is installed.
        with pytest.raises(
            ImportError, match=r"load it with KERAS_BACKEND=tensorflow \(tensorflow"
        ):
            gb.export.check_export_format("tf_saved_model", "torch")


def test_a_fixed_batch_size_is_the_inputs_batch_dimension():
    assert tuple(gb.export.inference_network(tiny_gan()).inputs[0].shape) == (None, 4)
    assert tuple(gb.export.inference_network(tiny_gan(), batch_size=3).inputs[0].shape) == (3, 4)


@pytest.mark.large
@pytest.mark.parametrize("format", gb.export.FORMATS)
def test_a_fixed_batch_size_is_exported_in_every_format(tmp_path, format):
    exportable(format)
    gan = tiny_gan()
    latents = np.random.default_rng(14).normal(size=(3, 4)).astype("float32")
    outputs = export_and_run(gan, tmp_path, format, {"latents": latents}, batch_size=3)
    np.testing.assert_allclose(outputs["images"], gan.generate(latents=latents), atol=1e-5)
    if format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(tmp_path / "generator.onnx"))
        assert session.get_inputs()[0].shape == [3, 4]


def mixed_precision_gan():
    keras.utils.set_random_seed(2)
    generator = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(32, activation="tanh", dtype="mixed_bfloat16")]
    )
    discriminator = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    return gb.models.GAN(generator, discriminator, latent_dim=16)


def test_a_mixed_bfloat16_generator_exports_its_float32_computation(tmp_path):
    gan = mixed_precision_gan()
    dense = gan.generator.layers[0]
    latents = np.random.default_rng(3).normal(size=(8, 16)).astype("float32")
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in (dense.kernel, dense.bias))
    expected = np.tanh(latents.astype("float64") @ kernel + bias)  # float32 weights, exactly.
    half = np.asarray(keras.ops.convert_to_numpy(gan.generate(latents=latents)), "float32")
    assert np.abs(half - expected).max() > 1e-3  # bfloat16 differs: the check below can fail.
    served = gb.export.inference_network(gan)
    assert served.layers[-1].networks[0].layers[0].compute_dtype == "float32"
    assert dense.compute_dtype == "bfloat16"  # The trained model is left alone.
    images = keras.ops.convert_to_numpy(served(latents)["images"])
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, expected, atol=1e-5)
    format = next((f for f in gb.export.FORMATS if f in gb.export.supported_formats()), None)
    if format is not None:
        exportable(format)
        outputs = export_and_run(gan, tmp_path, format, {"latents": latents})
        np.testing.assert_allclose(outputs["images"], expected, atol=1e-5)


def conditional_gan():
    keras.utils.set_random_seed(4)
    z, y = keras.Input((4,)), keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([z, keras.layers.Embedding(3, 4)(y)])
    generator = keras.Model([z, y], keras.layers.Dense(2, activation="tanh")(h))
    x, c = keras.Input((2,)), keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([x, keras.layers.Embedding(3, 4)(c)])
    discriminator = keras.Model([x, c], keras.layers.Dense(1)(h))
    return gb.models.ConditionalGAN(generator, discriminator, 4, num_classes=3)


@pytest.mark.parametrize("format", gb.export.FORMATS)
def test_exported_conditional_gan_takes_class_labels(tmp_path, format):
    exportable(format)
    cgan = conditional_gan()
    latents = np.random.default_rng(5).normal(size=(6, 4)).astype("float32")
    labels = np.array([0, 1, 2, 2, 1, 0], "int32")
    outputs = export_and_run(cgan, tmp_path, format, {"latents": latents, "labels": labels})
    expected = cgan.generate(latents=latents, labels=labels)
    np.testing.assert_allclose(outputs["images"], expected, atol=1e-5)
    other = cgan.generate(latents=latents, labels=(labels + 1) % 3)
    assert np.abs(outputs["images"] - other).max() > 1e-3


@pytest.mark.parametrize("format", gb.export.FORMATS)
def test_an_sngan_generator_exports_with_a_free_batch(tmp_path, format):
    # Its residual blocks upsample by nearest neighbours: with a free batch axis
    # the LiteRT converter once fell back to a Flex convolution the interpreter
    # cannot run.
    exportable(format)
    keras.utils.set_random_seed(3)
    generator = gb.architectures.sngan_generator(8, (16, 16, 3), filters=4)
    discriminator = gb.architectures.sngan_discriminator((16, 16, 3), filters=4)
    gan = gb.models.GAN(generator, discriminator, latent_dim=8)
    path = str(tmp_path / f"generator{SUFFIXES[format]}")
    gb.export.export_generator(gan, path, format=format)
    for batch in (3, 5):
        latents = np.random.default_rng(batch).normal(size=(batch, 8)).astype("float32")
        outputs = run_artifact(format, path, {"latents": latents})
        np.testing.assert_allclose(outputs["images"], gan.generate(latents=latents), atol=1e-5)


def stylegan2(conditional):
    keras.utils.set_random_seed(6)
    classes = {"num_classes": 3} if conditional else {}
    generator = gb.architectures.stylegan2_generator(8, 1, preset="tiny", **classes)
    discriminator = gb.architectures.stylegan2_discriminator(8, 1, preset="tiny", **classes)
    model_class = gb.models.ConditionalStyleGAN2 if conditional else gb.models.StyleGAN2
    model = model_class(generator, discriminator, seed=0)
    rng = np.random.default_rng(7)
    network = model.ema_generator
    mapping = network.get_layer("mapping")
    mapping.w_average.assign(rng.normal(size=mapping.w_average.shape).astype("float32"))
    for weight in network.weights:  # Noise strengths start at zero: make the noise count.
        if "strength" in weight.path:
            weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return model


def first_format():
    for format in ("onnx", "tf_saved_model", "litert"):
        if format in gb.export.supported_formats():
            return format
    pytest.skip(f"the {BACKEND} backend exports no format with what is installed")


@pytest.mark.parametrize(
    "conditional",
    [
        pytest.param(False, marks=pytest.mark.large),
        # A StyleGAN2 builds slowly in eager JAX; TF and torch run the exported graph.
        pytest.param(True, marks=[pytest.mark.large] if BACKEND == "jax" else []),
    ],
    ids=["unconditional", "conditional"],
)
def test_exported_stylegan2_truncates_in_w_with_const_noise(tmp_path, conditional):
    format = first_format()
    exportable(format)
    model = stylegan2(conditional)
    latents = np.random.default_rng(8).normal(size=(3, model.latent_shape[0])).astype("float32")
    feeds = {"latents": latents}
    labels = {}
    if conditional:
        feeds["labels"] = labels["labels"] = np.array([2, 0, 1], "int32")
    options = {"truncation_psi": 0.6, "truncation_cutoff": 2, "noise_mode": "const"}
    expected = model.generate(latents=latents, **labels, **options)
    outputs = export_and_run(model, tmp_path, format, feeds, truncation=0.6, truncation_cutoff=2)
    np.testing.assert_allclose(outputs["images"], expected, atol=1e-5)
    untruncated = model.generate(latents=latents, **labels, noise_mode="const")
    assert np.abs(outputs["images"] - untruncated).max() > 1e-3
    no_noise = gb.export.inference_network(
        model, truncation=0.6, truncation_cutoff=2, noise_mode="none"
    )
    served = no_noise([latents, feeds["labels"]] if conditional else latents)
    expected = model.generate(latents=latents, **labels, **{**options, "noise_mode": "none"})
    np.testing.assert_allclose(keras.ops.convert_to_numpy(served["images"]), expected, atol=1e-5)


@pytest.mark.large
@pytest.mark.parametrize("format", gb.export.FORMATS)
def test_exported_stylegan2_in_every_format(tmp_path, format):
    exportable(format)
    model = stylegan2(conditional=True)
    latents = np.random.default_rng(9).normal(size=(4, model.latent_shape[0])).astype("float32")
    labels = np.array([0, 1, 2, 0], "int32")
    expected = model.generate(
        latents=latents, labels=labels, truncation_psi=0.7, noise_mode="const"
    )
    outputs = export_and_run(
        model, tmp_path, format, {"latents": latents, "labels": labels}, truncation=0.7
    )
    np.testing.assert_allclose(outputs["images"], expected, atol=1e-5)


def test_translators_and_vae_parts_are_served_as_their_inference_calls():
    keras.utils.set_random_seed(10)
    images = np.random.default_rng(11).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")

    def translator():
        return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 3, padding="same")])

    def critic():
        return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(1, 4, strides=4)])

    source, target = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    pair = keras.layers.Concatenate()([source, target])
    pair_critic = keras.Model([source, target], keras.layers.Conv2D(1, 4, strides=4)(pair))
    pix2pix = gb.models.Pix2Pix(translator(), pair_critic)
    served = gb.export.inference_network(pix2pix)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(served(images)["images"]), pix2pix.translate(images), atol=1e-5
    )
    cycle = gb.models.CycleGAN(translator(), translator(), critic(), critic())
    for direction in ("a_to_b", "b_to_a"):
        served = gb.export.inference_network(cycle, direction=direction)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(served(images)["images"]),
            cycle.translate(images, direction),
            atol=1e-5,
        )

    vae = gb.models.VAE(
        gb.architectures.vae_encoder((8, 8, 1), 2), gb.architectures.vae_decoder(2, (8, 8, 1))
    )
    latents = np.random.default_rng(12).normal(size=(3, 2)).astype("float32")
    decoded = gb.export.inference_network(vae)(latents)["images"]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(decoded), vae.decode(latents), atol=1e-5)
    pixels = np.random.default_rng(13).uniform(0, 1, (3, 8, 8, 1)).astype("float32")
    encoded = gb.export.inference_network(vae, part="encoder")(pixels)
    for name, expected in zip(("z_mean", "z_log_var"), vae.encode(pixels)):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(encoded[name]), expected, atol=1e-5)


def test_bad_requests_are_refused_with_what_to_do(tmp_path):
    gan = tiny_gan()
    path = str(tmp_path / "g.onnx")
    with pytest.raises(ValueError, match="Unknown export format 'mp4'"):
        gb.export.export_generator(gan, path, format="mp4")
    with pytest.raises(TypeError, match="received a Sequential.*model.export"):
        gb.export.inference_network(gan.generator)
    with pytest.raises(ValueError, match="truncated_normal"):
        gb.export.inference_network(gan, truncation=0.5)
    with pytest.raises(ValueError, match="nothing random"):
        gb.export.inference_network(gan, noise_mode="random")
    with pytest.raises(ValueError, match="only a VAE has parts"):
        gb.export.inference_network(gan, part="encoder")
    with pytest.raises(ValueError, match="only a CycleGAN"):
        gb.export.inference_network(gan, direction="b_to_a")
    with pytest.raises(ValueError, match="batch_size"):
        gb.export.inference_network(gan, batch_size=0)
    with pytest.raises(ValueError, match="never built"):
        gb.export.float32_clone(keras.Sequential([keras.layers.Dense(2)]))
    if "litert" in gb.export.supported_formats():
        with pytest.raises(ValueError, match="ending in '.tflite'"):
            gb.export.export_generator(gan, str(tmp_path / "g.onnx"), format="litert")
    missing = str(tmp_path / "no" / "such" / "folder" / "g.onnx")
    if "onnx" in gb.export.supported_formats():
        with pytest.raises(FileNotFoundError, match="does not exist"):
            gb.export.export_generator(gan, missing, format="onnx")
    assert not os.path.exists(missing)
