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


@pytest.mark.parametrize(
    "augmentation",
    [
        lambda: gb.layers.DiffAugment("color,translation,cutout", seed=1),
        lambda: gb.layers.AdaptiveAugment(initial_probability=1.0, pipeline="bgc", seed=1),
    ],
    ids=["diff_augment", "adaptive_augment"],
)
def test_augmentation_transforms_source_and_image_alike(augmentation):
    # A translation of the image but not of its source misaligned the pairs
    # the conditional discriminator judges (issue #31, item 4).
    p2p = make_pix2pix(seed=0, augmentation=augmentation())
    source = np.random.default_rng(0).uniform(-1, 1, (6, 16, 16, 3)).astype("float32")
    first_source, first_image = p2p.augment_together(source, source.copy())
    first_source = keras.ops.convert_to_numpy(first_source)
    assert np.abs(first_source - source).max() > 0.1  # augmented ...
    np.testing.assert_allclose(keras.ops.convert_to_numpy(first_image), first_source, atol=1e-6)
    # ... with fresh transforms at the next call.
    second_source, _ = p2p.augment_together(source, source.copy())
    assert np.abs(keras.ops.convert_to_numpy(second_source) - first_source).max() > 0.1


def test_an_augmented_pix2pix_trains_with_aligned_pairs():
    class PairDistance(keras.layers.Layer):
        """Logit = mean |source - image|: 0 exactly when the pair is aligned."""

        def call(self, inputs):
            source, image = inputs
            return keras.ops.mean(keras.ops.abs(source - image), axis=(1, 2, 3))[:, None]

    source_input, image_input = keras.Input((16, 16, 3)), keras.Input((16, 16, 3))
    distance = PairDistance()([source_input, image_input])
    logits = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)(distance)
    discriminator = keras.Model([source_input, image_input], logits)
    generator = gb.architectures.unet_generator((16, 16, 3), output_channels=3, filters=8)
    p2p = gb.models.Pix2Pix(
        generator, discriminator, augmentation=gb.layers.DiffAugment("translation,cutout", seed=2)
    )
    p2p.compile(
        discriminator_optimizer=keras.optimizers.SGD(0.0),
        regularizers={"discriminator": [RealPairDistance(name="real_pair_distance")]},
    )
    source = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    history = p2p.fit(source, source, batch_size=4, epochs=2, verbose=0, shuffle=False)
    # The real pairs (target == source) reached the discriminator aligned,
    # while the augmentation did change them (cutout alone moves the mean).
    assert history.history["real_pair_distance"] == [0.0, 0.0], history.history
    unaligned = keras.ops.mean(
        discriminator([p2p.augment(source), keras.ops.convert_to_tensor(source)])  # one side
    )
    assert float(keras.ops.convert_to_numpy(unaligned)) > 0.05


class RealPairDistance(gb.losses.Regularizer):
    """Logs the discriminator's mean logit on the real pairs (its weight is 0 here)."""

    def compute(self, context):
        # The discriminator as the loss sees it: augmented and conditioned on the source.
        return keras.ops.mean(context.network(context.real_images))
