"""The base of the adversarial models, through a newcomer's model written on it."""

import os
import re

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import mlp_discriminator, mlp_generator, numpy_weights, toy_data

PAGE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "concepts", "training-step.md")


def page_block(marker):
    """The ```python block after `<!-- marker -->` on the training-step page."""
    text = open(PAGE, encoding="utf-8").read()
    match = re.search(rf"<!-- {marker} -->\n```python\n(.*?)^```", text, re.S | re.M)
    assert match, f"no block after <!-- {marker} --> in {PAGE}"
    return match.group(1)


@pytest.fixture
def bigan_namespace():
    namespace = {}
    exec(page_block("new-model-example"), namespace)
    return namespace


def test_the_documented_new_model_trains_saves_and_previews(bigan_namespace, tmp_path):
    source = page_block("new-model-usage")
    class_lines = page_block("new-model-example").strip().count("\n") + 1
    assert class_lines <= 55, class_lines  # "about 40 lines" for the model itself.
    exec(source, bigan_namespace)
    bigan, history = bigan_namespace["bigan"], bigan_namespace["history"]
    assert sorted(history.history) == ["d_loss", "g_loss"]
    assert all(np.isfinite(v).all() for v in history.history.values())
    # Each group's optimizer stepped, with its own state (JAX threads both).
    for group in ("generator", "discriminator"):
        assert int(keras.ops.convert_to_numpy(bigan.group_optimizer(group).iterations)) == 16
    path = str(tmp_path / "bigan.keras")
    bigan.save(path)
    restored = keras.models.load_model(path, custom_objects={"BiGAN": bigan_namespace["BiGAN"]})
    for got, want in zip(numpy_weights(restored), numpy_weights(bigan)):
        np.testing.assert_array_equal(got, want)
    images, _ = restored.preview_samples(4, seed=1)
    np.testing.assert_array_equal(images, bigan.preview_samples(4, seed=1)[0])
    grid = gb.callbacks.SampleGrid(str(tmp_path / "grid"), num_samples=4)
    grid.set_model(restored)
    assert grid.samples()[0].shape == (4, 2)


def test_a_third_optimizer_group_updates_on_every_backend(bigan_namespace):
    BiGAN = bigan_namespace["BiGAN"]

    class ThreeGroupBiGAN(BiGAN):
        def optimizer_groups(self):
            return {
                "generator": self.generator.trainable_variables,
                "encoder": self.encoder.trainable_variables,
                "discriminator": self.discriminator.trainable_variables,
            }

        def update_schedule(self):
            return ["discriminator", "generator", "encoder"]

        def encoder_objective(self, images):
            return self.generator_objective(images)

        def compile(self, encoder_optimizer=None, **kwargs):
            optimizers = {
                "generator": kwargs.pop("generator_optimizer", None),
                "encoder": encoder_optimizer,
                "discriminator": kwargs.pop("discriminator_optimizer", None),
            }
            self.compile_groups(optimizers, **kwargs)

    def mlp(inputs, outputs):
        return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(outputs)])

    image, latent = keras.Input((2,)), keras.Input((2,))
    logits = mlp(4, 1)(keras.layers.Concatenate()([image, latent]))
    model = ThreeGroupBiGAN(mlp(2, 2), mlp(2, 2), keras.Model([image, latent], logits), 2)
    model.compile(encoder_optimizer=keras.optimizers.SGD(0.1))
    before = numpy_weights(model.encoder)
    history = model.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)
    assert sorted(history.history) == ["d_loss", "encoder_loss", "g_loss"]
    assert int(keras.ops.convert_to_numpy(model.group_optimizer("encoder").iterations)) == 2
    assert any(np.any(a != b) for a, b in zip(before, numpy_weights(model.encoder)))
    assert isinstance(model.optimizer, gb.models.AdversarialOptimizer)
    assert model.get_compile_config()["encoder_optimizer"]["class_name"] == "SGD"


def test_a_users_model_resumes_exactly_and_trains_compiled_as_eager(bigan_namespace):
    # The page's BiGAN, as a user would test their own model.
    BiGAN = bigan_namespace["BiGAN"]

    def model_fn(jit_compile):
        def mlp(inputs, outputs):
            return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(outputs)])

        image, latent = keras.Input((2,)), keras.Input((2,))
        logits = mlp(4, 1)(keras.layers.Concatenate()([image, latent]))
        bigan = BiGAN(mlp(2, 2), mlp(2, 2), keras.Model([image, latent], logits), 2, seed=0)
        bigan.compile(jit_compile=jit_compile)
        return bigan

    resumed = gb.testing.TestCase().run_adversarial_model_test(
        model_fn, toy_data(16), fit_kwargs={"batch_size": 4}, custom_objects={"BiGAN": BiGAN}
    )
    assert int(keras.ops.convert_to_numpy(resumed.group_optimizer("generator").iterations)) == 8


def test_compile_refuses_unknown_groups_and_shared_optimizers():
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    with pytest.raises(ValueError, match="unknown group"):
        gan.compile_groups({"critic": None})
    shared = keras.optimizers.Adam()
    gan.compile(shared, keras.optimizers.Adam())
    other = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4)
    with pytest.raises(ValueError, match="already belongs to another model"):
        other.compile(shared, keras.optimizers.Adam())
    built = keras.optimizers.Adam()
    built.build([keras.Variable(1.0)])
    with pytest.raises(ValueError, match="already built"):
        other.compile(built, keras.optimizers.Adam())


def test_predict_in_batches_matches_one_call():
    inputs = np.random.default_rng(0).normal(size=(70, 3)).astype("float32")
    out = gb.models.AdversarialModel.predict_in_batches(lambda x: x * 3.0, inputs, batch_size=32)
    np.testing.assert_allclose(out, inputs * 3.0)
    pairs = gb.models.AdversarialModel.predict_in_batches(
        lambda batch: batch[0] - batch[1], [inputs, inputs * 2], batch_size=7
    )
    np.testing.assert_allclose(pairs, -inputs)
    with pytest.raises(ValueError, match="batch_size"):
        gb.models.AdversarialModel.predict_in_batches(lambda x: x, inputs, batch_size=0)


def test_predict_in_batches_pads_the_last_batch_to_one_shape():
    inputs = np.random.default_rng(0).normal(size=(70, 3)).astype("float32")
    seen = []

    def function(batch):
        seen.append(tuple(np.shape(batch[0])) + tuple(np.shape(batch[1])))
        return batch[0] * 3.0 + batch[1]

    out = gb.models.AdversarialModel.predict_in_batches(
        function, [inputs, inputs[:, :1]], batch_size=32, pad_last_batch=True
    )
    # 70 = 32 + 32 + 6: the last 6 rows are padded to 32 and their outputs dropped.
    assert seen == [(32, 3, 32, 1)] * 3
    np.testing.assert_allclose(out, inputs * 3.0 + inputs[:, :1], rtol=1e-6)


def test_a_failed_save_keeps_the_last_good_file(tmp_path):
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    good = gan.generate(latents=np.ones((2, 4), "float32"))
    size = os.path.getsize(path)
    gan.fit(toy_data(32), batch_size=16, epochs=1, verbose=0)

    def broken_save(store):
        raise OSError("No space left on device")

    gan.discriminator.save_own_variables = broken_save  # Fails part-way through.
    for layer in gan.discriminator.layers:
        layer.save_own_variables = broken_save
    with pytest.raises(OSError, match="No space left"):
        gan.save(path)
    assert os.path.getsize(path) == size
    assert sorted(os.listdir(tmp_path)) == ["gan.keras"]  # No temporary file left.
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored.generate(latents=np.ones((2, 4), "float32")), good)
    # ModelCheckpoint saves through the same method.
    checkpoint = keras.callbacks.ModelCheckpoint(path)
    checkpoint.set_model(gan)
    with pytest.raises(OSError, match="No space left"):
        checkpoint.on_epoch_end(0, {})
    assert keras.models.load_model(path).discriminator_steps == 1


def test_saving_keeps_symlinks_cleans_stale_temporaries_and_names_the_users_path(tmp_path):
    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()
    target = tmp_path / "ckpt_001.keras"
    gan.save(str(target))
    link = tmp_path / "latest.keras"
    link.symlink_to(target.name)
    # A save killed an hour ago left its temporary file behind.
    stale = tmp_path / ".ckpt_001.keras.abc123.tmp.keras"
    stale.write_bytes(b"half a file")
    os.utime(stale, (0, 0))
    fresh = tmp_path / ".ckpt_001.keras.def456.tmp.keras"  # Maybe another process's.
    fresh.write_bytes(b"in progress")
    gan.fit(toy_data(16), batch_size=8, epochs=1, verbose=0)
    gan.save(str(link))
    assert link.is_symlink() and os.readlink(link) == target.name
    assert not stale.exists() and fresh.exists()
    latents = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(
        keras.models.load_model(str(target)).generate(latents=latents),
        gan.generate(latents=latents),
    )
    missing = str(tmp_path / "no_such_folder" / "gan.keras")
    with pytest.raises(FileNotFoundError, match=re.escape(repr(missing))):
        gan.save(missing)
