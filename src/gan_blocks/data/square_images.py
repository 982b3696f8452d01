"""Decoding of one image file to a square uint8 array: mode conversion, crop, LANCZOS resize."""

from __future__ import annotations

import io

import numpy as np

CROPS = ("center", "none")
CHANNELS = (1, 3)
FILTER = "lanczos"  # the name written to dataset.json "filter"
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def _has_alpha(image) -> bool:
    return image.mode in ALPHA_MODES or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )


def _from_wide_integers(image):
    """16-bit and 32-bit grayscale to 8 bits: x * 255 / 65535 (values <= 255 in "I"/"F" stay)."""
    from PIL import Image

    values = np.asarray(image, dtype=np.float64)
    if image.mode in SIXTEEN_BIT_MODES or values.max(initial=0) > 255:
        values = np.clip(values, 0, 65535) * (255 / 65535)
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")


def convert_mode(image, channels: int):
    """Converts a PIL image of any mode to "L" (`channels=1`) or "RGB" (`channels=3`).

    Transparent images (RGBA, LA, PA, palette or RGB with a transparent colour)
    are composited over black, so a transparent pixel becomes black whatever
    colour it stores; 16-bit grayscale is scaled by 255 / 65535; CMYK, YCbCr,
    palette and 1-bit images use Pillow's own conversion (no ICC profile).

    Args:
        image: A `PIL.Image.Image`.
        channels: 1 (grayscale) or 3 (RGB).

    Returns:
        A `PIL.Image.Image` in mode "L" or "RGB".

    Example:
    >>> from PIL import Image
    >>> from gan_blocks.data.square_images import convert_mode
    >>> half_transparent_white = Image.new("RGBA", (2, 2), (255, 255, 255, 128))
    >>> convert_mode(half_transparent_white, channels=3).getpixel((0, 0))
    (128, 128, 128)
    """
    from PIL import Image

    mode = "L" if channels == 1 else "RGB"
    if image.mode in SIXTEEN_BIT_MODES + ("I", "F"):
        image = _from_wide_integers(image)
    elif _has_alpha(image):
        image = image.convert("RGBA")
        black = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, image).convert("RGB")
    return image if image.mode == mode else image.convert(mode)


def to_square(image, resolution: int, crop: str = "center"):
    """Crops (or not) and resizes a PIL image to `resolution` x `resolution` with LANCZOS.

    `crop="center"` cuts the largest centred square (the left/top border gets
    the smaller half of an odd difference) and resizes it, keeping the aspect
    ratio; `crop="none"` resizes the whole image, stretching non-square ones.

    Args:
        image: A `PIL.Image.Image`.
        resolution: Side of the output in pixels.
        crop: `"center"` or `"none"`.

    Returns:
        A `PIL.Image.Image` of size `(resolution, resolution)`.

    Example:
    >>> from PIL import Image
    >>> from gan_blocks.data.square_images import to_square
    >>> to_square(Image.new("RGB", (30, 20)), 8).size
    (8, 8)
    """
    from PIL import Image

    if crop == "center":
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution), Image.Resampling.LANCZOS)
    return image


def decode_square_image(
    data: bytes, resolution: int, channels: int = 3, crop: str = "center"
) -> tuple[np.ndarray, bool]:
    """Decodes an encoded image (PNG, JPEG, WebP, BMP, GIF, TIFF) to a square uint8 array.

    The EXIF orientation is applied first (a phone photo comes out upright),
    a GIF gives its first frame; then `convert_mode` and `to_square`.

    Args:
        data: The file's bytes.
        resolution: Side of the output in pixels.
        channels: 1 (grayscale) or 3 (RGB).
        crop: `"center"` or `"none"` (see `to_square`).

    Returns:
        `(array, upscaled)`: uint8 `(resolution, resolution, channels)`, and
        whether the (cropped) source was smaller than `resolution` on a side.

    Raises:
        OSError, ValueError, SyntaxError, ...: whatever Pillow raises for a
            corrupt or unsupported file.

    Example:
    >>> import io
    >>> from PIL import Image
    >>> from gan_blocks.data.square_images import decode_square_image
    >>> encoded = io.BytesIO()
    >>> Image.new("L", (40, 20), 200).save(encoded, format="PNG")
    >>> array, upscaled = decode_square_image(encoded.getvalue(), 16, channels=3)
    >>> array.shape, array.dtype.name, int(array.min()), upscaled
    ((16, 16, 3), 'uint8', 200, False)
    """
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        image = ImageOps.exif_transpose(opened)
        upscaled = min(image.size) < resolution
        image = to_square(convert_mode(image, channels), resolution, crop)
        array = np.asarray(image, dtype=np.uint8)
    if channels == 1:
        array = array[..., None]
    return array, upscaled
