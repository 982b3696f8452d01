"""`gb.data.outline_pairs`: the outline is the foreground's outer 8-neighbour contour."""

import numpy as np
import pytest

import gan_blocks as gb


def test_outlines_equal_a_binary_dilation_minus_the_foreground():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(0)
    images = np.where(rng.random((5, 12, 12, 1)) > 0.8, 1.0, -1.0).astype("float32")
    images[0] = -1.0  # an empty image has an empty outline
    outlines, targets = gb.data.outline_pairs(images)
    for image, outline in zip(images[..., 0], outlines[..., 0]):
        foreground = image > 0
        # Outside the image is background: dilate on a padded canvas, then crop.
        dilated = ndimage.binary_dilation(np.pad(foreground, 1), structure=np.ones((3, 3)))
        expected = dilated[1:-1, 1:-1] & ~foreground
        np.testing.assert_array_equal(outline > 0, expected)
    assert set(np.unique(outlines)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(targets, images)


def test_padding_centres_the_images_on_background():
    digits = np.full((2, 28, 28), -1.0, "float32")
    digits[:, 10:18, 12:16] = 0.5
    outlines, targets = gb.data.outline_pairs(digits, image_size=32)
    assert outlines.shape == targets.shape == (2, 32, 32, 1)
    np.testing.assert_array_equal(targets[:, 2:30, 2:30, 0], digits)
    assert (targets[:, :2] == -1).all() and (targets[:, 30:] == -1).all()
    # The 8x4 bar's outline is the 10x6 ring around it: 60 - 32 = 28 pixels.
    assert ((outlines > 0).sum(axis=(1, 2, 3)) == 28).all()


@pytest.mark.parametrize(
    "images, options, message",
    [
        (np.zeros((2, 8, 8, 3)), {}, "grayscale"),
        (np.zeros((8, 8)), {}, "grayscale"),
        (np.full((2, 8, 8, 1), 255.0), {}, r"\[-1, 1\]"),
        (np.zeros((2, 8, 8, 1)), {"image_size": 6}, "image_size"),
    ],
)
def test_bad_input_is_refused(images, options, message):
    with pytest.raises(ValueError, match=message):
        gb.data.outline_pairs(images, **options)
