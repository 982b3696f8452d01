"""`AdaptiveAugment`: transforms against numpy references, the p update in closed form (#16)."""

import itertools

import keras
import numpy as np
import pytest

import gan_blocks as gb
from tests.layers.test_diff_augment import images, numpy_gradient


def run(layer, x):
    return np.asarray(keras.ops.convert_to_numpy(layer(x)))


def probability(layer):
    return float(keras.ops.convert_to_numpy(layer.probability))


def test_at_probability_zero_images_pass_through_exactly():
    x = images(batch=8, side=12)
    np.testing.assert_array_equal(run(gb.layers.AdaptiveAugment(seed=0), x), x)


def blit_candidates(image, limit):
    """Every flip/rotate-by-90/integer shift of `image`, borders reflected (numpy reference)."""
    side = image.shape[0]
    padded_side = side + 2 * limit
    for flip, quarter in itertools.product((False, True), range(4)):
        moved = np.rot90(np.flip(image, axis=1) if flip else image, quarter)
        padded = np.pad(moved, ((limit, limit), (limit, limit), (0, 0)), mode="reflect")
        for rows, columns in itertools.product(range(-limit, limit + 1), repeat=2):
            top, left = limit + rows, limit + columns
            assert top + side <= padded_side
            yield padded[top : top + side, left : left + side]


def test_blit_moves_whole_pixels_only():
    # At p = 1 every output is one of the 8 flips/rotations of its input,
    # shifted by whole pixels (up to 1/8 of the side) with reflected borders.
    x = images(batch=24, side=16)
    layer = gb.layers.AdaptiveAugment(initial_probability=1.0, pipeline="b", seed=1)
    out = run(layer, x)
    distinct = set()
    for image, result in zip(x, out):
        matches = [
            index
            for index, candidate in enumerate(blit_candidates(image, limit=2))
            if np.allclose(candidate, result, atol=1e-5)
        ]
        assert matches, "output is not a flip/rotation/shift of its input"
        distinct.add(matches[0])
    assert len(distinct) > 12


def test_each_transform_is_applied_with_probability_p():
    # Blit at p = 0.5 leaves an image unchanged when each of its three
    # transforms is skipped or draws the identity: x-flip (1 - p/2), 90-degree
    # rotation (1 - 3p/4), integer shift on a 16-pixel side (1 - p + p/16:
    # round(16 u) = 0 for |u| < 1/32 with u ~ U(-1/8, 1/8), 1/4 per axis).
    p = 0.5
    x = images(batch=512, side=16, channels=1)
    out = run(gb.layers.AdaptiveAugment(initial_probability=p, pipeline="b", seed=2), x)
    unchanged = np.mean([np.allclose(a, b, atol=1e-5) for a, b in zip(x, out)])
    expected = (1 - p / 2) * (1 - 3 * p / 4) * (1 - p + p / 16)
    assert abs(unchanged - expected) < 0.06, (unchanged, expected)


def test_color_is_one_affine_map_per_image():
    x = images(batch=16, side=8)
    out = run(gb.layers.AdaptiveAugment(initial_probability=1.0, pipeline="c", seed=3), x)
    residuals, changed = [], 0
    for image, result in zip(x, out):
        inputs = np.concatenate([image.reshape(-1, 3), np.ones((64, 1), "float32")], axis=1)
        solution, *_ = np.linalg.lstsq(inputs, result.reshape(-1, 3), rcond=None)
        residuals.append(np.abs(inputs @ solution - result.reshape(-1, 3)).max())
        changed += not np.allclose(result, image, atol=1e-3)
    assert max(residuals) < 1e-4
    assert changed == len(x)


def test_grayscale_color_acts_on_luma_only():
    x = images(batch=16, side=8, channels=1)
    out = run(gb.layers.AdaptiveAugment(initial_probability=1.0, pipeline="c", seed=3), x)
    for image, result in zip(x, out):  # gain * image + offset, per image.
        gain, offset = np.polyfit(image.ravel(), result.ravel(), 1)
        np.testing.assert_allclose(gain * image + offset, result, atol=1e-4)


def test_geometric_resampling_keeps_gradients_to_the_images():
    x = images(batch=4, side=12)
    weights = np.random.default_rng(1).normal(size=x.shape).astype("float32")
    layer = gb.layers.AdaptiveAugment(initial_probability=1.0, pipeline="bgc", seed=4)
    gradient = numpy_gradient(lambda v: keras.ops.multiply(layer(v), weights), x)
    assert np.all(np.isfinite(gradient)) and np.abs(gradient).mean() > 0.1
    # Geometry alone is linear in the images: the gradient is its transpose.
    geometry = gb.layers.AdaptiveAugment(initial_probability=1.0, pipeline="bg", seed=5)
    out = run(gb.layers.AdaptiveAugment(initial_probability=1.0, pipeline="bg", seed=5), x)
    gradient = numpy_gradient(lambda v: keras.ops.multiply(geometry(v), weights), x)
    np.testing.assert_allclose(
        (out * weights).sum(axis=(1, 2, 3)),
        (x * gradient).sum(axis=(1, 2, 3)),
        rtol=1e-3,
        atol=1e-3,
    )


def test_the_probability_moves_by_images_over_adjustment_images_every_interval():
    layer = gb.layers.AdaptiveAugment(adjustment_images=100, interval=2, target=0.6)
    real = np.ones((10, 1), "float32")  # sign(D(real)) = 1 > 0.6: overfitting.
    layer.update_probability(real)
    assert probability(layer) == 0.0  # Not yet: one of two steps.
    layer.update_probability(real)
    assert probability(layer) == pytest.approx(0.2)  # 20 images / 100.
    # Patch logits average per image: 3 of 4 patches positive -> 0.5 < 0.6.
    patches = np.array([[1.0, 1.0, 1.0, -1.0]] * 5, "float32").reshape(5, 2, 2, 1)
    layer.update_probability(patches)
    layer.update_probability(patches)
    assert probability(layer) == pytest.approx(0.1)
    for _ in range(10):  # Clipped at 0.
        layer.update_probability(-real)
    assert probability(layer) == 0.0
    for _ in range(40):  # And at 1.
        layer.update_probability(real)
    assert probability(layer) == 1.0


def test_config_round_trip_and_clear_errors():
    layer = gb.layers.AdaptiveAugment(
        target=0.5, adjustment_images=1000, interval=2, pipeline="bg", seed=7
    )
    clone = gb.layers.AdaptiveAugment.from_config(layer.get_config())
    assert (clone.target, clone.adjustment_images, clone.interval, clone.pipeline, clone.seed) == (
        0.5,
        1000,
        2,
        "bg",
        7,
    )
    with pytest.raises(ValueError, match=r"`target` must be a finite number in \(0.0, 1.0\).*1.5"):
        gb.layers.AdaptiveAugment(target=1.5)
    with pytest.raises(
        ValueError, match=r"letters 'b' \(blit\), 'g' \(geom\), 'c' \(color\).*'bgx'"
    ):
        gb.layers.AdaptiveAugment(pipeline="bgx")
    with pytest.raises(ValueError, match=r"initial_probability.*\[0.0, 1.0\].*2"):
        gb.layers.AdaptiveAugment(initial_probability=2)
    with pytest.raises(ValueError, match=r"1 or 3 channels.*\(2, 8, 8, 2\).*pipeline='bg'"):
        gb.layers.AdaptiveAugment()(np.zeros((2, 8, 8, 2), "float32"))
    with pytest.raises(ValueError, match=r"rank 4.*rank 2"):
        gb.layers.AdaptiveAugment()(np.zeros((2, 8), "float32"))
