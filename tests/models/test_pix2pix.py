import keras
import numpy as np
import pytest

import gan_blocks as gb


def make_pix2pix(**kwargs):
    generator = gb.architectures.unet_generator((16, 16, 3), output_channels=3, filters=8)
    discriminator = gb.architectures.patchgan_discriminator((16, 16, 3), filters=8, num_layers=1)
    return gb.models.Pix2Pix(generator, discriminator, **kwargs)


def pairs(n=8):
    source = np.random.default_rng(0).uniform(-1, 1, (n, 16, 16, 3)).astype("float32")
    return source, -source


def test_fit_logs_terms_and_l1_pulls_towards_target():
    p2p = make_pix2pix(l1_weight=100.0, seed=0)
    p2p.compile(keras.optimizers.Adam(2e-3, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    source, target = pairs()
    history = p2p.fit(source, target, batch_size=4, epochs=6, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "l1_loss"}
    l1 = history.history["l1_loss"]
    assert l1[-1] < l1[0], l1
    # g_loss is adversarial + l1_weight * l1 >= 100 * l1 (adversarial >= 0 for BCE).
    assert history.history["g_loss"][-1] >= 100 * l1[-1] - 1e-3
    out = p2p.translate(source[:2])
    assert out.shape == (2, 16, 16, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(p2p(source[:2])), out, rtol=1e-5)


def test_pix2pix_resumes_exactly_and_trains_compiled_as_eager():
    def model_fn(jit_compile):
        p2p = make_pix2pix(seed=0, generator_ema=0.9)
        p2p.compile(jit_compile=jit_compile)
        return p2p

    source, target = pairs()
    restored = gb.testing.TestCase().run_adversarial_model_test(
        model_fn,
        (source, target),
        fit_kwargs={"batch_size": 4},
        # torch.compile of the U-Net costs ~40 s on 2 cores: eager only there.
        check_compiled=keras.backend.backend() != "torch",
    )
    assert isinstance(restored, gb.models.Pix2Pix)
    assert restored.l1_weight == 100.0
    assert int(keras.ops.convert_to_numpy(restored.discriminator_optimizer.iterations)) == 4


def test_pairs_from_a_dataset_and_errors():
    tf = pytest.importorskip("tensorflow")
    p2p = make_pix2pix()
    p2p.compile()
    source, target = pairs()
    dataset = tf.data.Dataset.from_tensor_slices((source, target)).batch(4)
    assert np.isfinite(p2p.fit(dataset, verbose=0).history["l1_loss"][0])
    with pytest.raises(ValueError, match="target images range"):
        p2p.fit(source, (target + 1) * 127.5, verbose=0)
    with pytest.raises(ValueError, match="needs \\(source, target\\)"):
        p2p.fit(source, verbose=0)
    with pytest.raises(ValueError, match="l1_weight"):
        make_pix2pix(l1_weight=-1.0)


def test_generate_takes_source_images_and_warns_on_the_old_latents_keyword():
    p2p = make_pix2pix(seed=0)
    source, _ = pairs(2)
    expected = p2p.translate(source)
    np.testing.assert_array_equal(p2p.generate(source_images=source), expected)
    with pytest.warns(DeprecationWarning, match="source_images"):
        np.testing.assert_array_equal(p2p.generate(latents=source), expected)
    with pytest.raises(ValueError, match="needs source images"):
        p2p.generate(4)
