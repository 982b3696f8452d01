"""One argument rule everywhere: numpy integers accepted; bools, NaN, fractions and junk refused."""

import numpy as np
import pytest

import gan_blocks as gb
from tests.models.helpers import mlp_discriminator, mlp_generator


def small_gan():
    return gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: gb.layers.ImagePool(np.int64(3)),
        lambda: gb.layers.AdaptiveAugment(interval=np.int32(2)),
        lambda: gb.layers.MinibatchStdDev(group_size=np.int64(2)),
        lambda: gb.architectures.sngan_discriminator((16, 16, 3), num_classes=np.int64(10)),
        lambda: gb.losses.R1Penalty(gamma=np.float32(1.0), every=np.int64(4)),
    ],
)
def test_numpy_numbers_are_accepted(build):
    build()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: gb.layers.ImagePool(True), "`pool_size` must be an int >= 0"),
        (lambda: gb.layers.ImagePool(2.5), "`pool_size` must be an int >= 0"),
        (
            lambda: gb.layers.AdaptiveAugment(adjustment_images=float("nan")),
            "`adjustment_images` must be a finite number > 0",
        ),
        (lambda: gb.layers.AdaptiveAugment(target=1.0), r"`target` must be .* in \(0.0, 1.0\)"),
        (lambda: gb.layers.AdaptiveAugment(interval=True), "`interval` must be an int >= 1"),
        (lambda: gb.layers.DiffAugment(policy=""), "names no augmentation"),
        (lambda: gb.layers.DiffAugment(policy=" , "), "names no augmentation"),
        (lambda: gb.losses.R1Penalty(gamma=float("nan")), "`gamma` must be a finite number"),
        (lambda: gb.losses.GradientPenalty(weight=-1.0), "`weight` must be a finite number"),
        (lambda: gb.layers.ResidualUpBlock(True), "`filters` must be an int >= 1"),
    ],
)
def test_bad_arguments_are_refused_by_name(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("value", ["yes", "Auto", "false", "true", 1, None])
def test_jit_compile_takes_true_false_or_auto_only(value):
    # "false" is truthy: accepting it compiled (29 s of torch.compile, issue #31).
    with pytest.raises(ValueError, match='`jit_compile` must be True, False or "auto"'):
        small_gan().compile(jit_compile=value)


def test_jit_compile_accepts_its_three_values():
    for value in (True, False, "auto"):
        gan = small_gan()
        gan.compile(jit_compile=value)
        assert gan.get_compile_config()["jit_compile"] == value


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_samples": 2.7}, "`num_samples` must be an int >= 1"),
        ({"num_samples": 0}, "`num_samples` must be an int >= 1"),
        ({"latents": np.zeros((0, 4), "float32")}, "holds no rows"),
        ({"num_samples": 2, "seed": -1}, "`seed` must be an int >= 0"),
        ({"num_samples": 2, "seed": 2**40}, r"`seed` must be an int in \[0, 2\*\*31\)"),
    ],
)
def test_generate_refuses_bad_requests(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_gan().generate(**kwargs)


def test_generate_accepts_numpy_counts_and_seeds():
    gan = small_gan()
    images = gan.generate(np.int64(3), seed=np.int64(5))
    assert images.shape == (3, 2) and np.isfinite(images).all()
    np.testing.assert_array_equal(gan.generate(3, seed=5), images)
