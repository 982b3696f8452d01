"""`fid_inception_v3`: the TF-FID Inception network (pytorch-fid's weights) in Keras 3.

Published FIDs come from the 2015 TensorFlow Inception graph that TF-FID
shipped, which pytorch-fid ported as `pt_inception-2015-12-05-6726825d.pth`.
Its blocks differ from torchvision's and `keras.applications`' InceptionV3:
the average-pooling branches do not count padding (`count_include_pad=False`,
which is Keras' `"same"` average pooling), the last block pools its branch
with a max-pool, and the classifier has 1008 classes. This module builds that
network layer for layer under pytorch-fid's parameter names, and loads its
state dict from the `.pth` file (with torch), from an `.npz` written by
`gan-blocks convert-inception` (without torch), or from a URL.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import keras
import numpy as np

from gan_blocks.api_export import gan_blocks_export

FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
# torch.hub's convention: the file name carries the first hex digits of its SHA-256.
FID_WEIGHTS_SHA256_PREFIX = "6726825d"
FID_IMAGE_SIZE = (299, 299)
FID_OUTPUTS = ("pool", "logits", "both")
RESIZE_METHODS = ("pytorch_fid", "clean")
# Marks a model whose images are resized on the host (clean-fid's PIL resize).
HOST_RESIZE_ATTRIBUTE = "_gan_blocks_host_resize"
# Marks a model whose input is checked and prepared like the default
# InceptionV3's (values in [-1, 1], grayscale repeated to 3 channels).
INCEPTION_INPUT_ATTRIBUTE = "_gan_blocks_inception_input"


def keras_layer_name(torch_prefix: str) -> str:
    """The Keras layer name for a pytorch-fid module path (`Mixed_5b.branch1x1.conv`)."""
    return torch_prefix.replace(".", "__")


class _Builder:
    """Creates the layers with pytorch-fid's module paths as names."""

    def __init__(self) -> None:
        self.conv_prefixes: list[str] = []

    def conv(self, x, prefix: str, filters: int, kernel, strides=1, padding="valid"):
        """The BasicConv2d of torchvision: conv without bias, BatchNorm(eps=1e-3), ReLU."""
        x = keras.layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding=padding,
            use_bias=False,
            name=keras_layer_name(f"{prefix}.conv"),
        )(x)
        x = keras.layers.BatchNormalization(
            epsilon=1e-3, momentum=0.9, name=keras_layer_name(f"{prefix}.bn")
        )(x)
        self.conv_prefixes.append(prefix)
        return keras.layers.ReLU()(x)

    def average_pool(self, x):
        # Keras' "same" average pooling divides by the valid (unpadded) count:
        # F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False).
        return keras.layers.AveragePooling2D(3, strides=1, padding="same")(x)

    def inception_a(self, x, prefix: str, pool_features: int):
        branch1x1 = self.conv(x, f"{prefix}.branch1x1", 64, 1)
        branch5x5 = self.conv(x, f"{prefix}.branch5x5_1", 48, 1)
        branch5x5 = self.conv(branch5x5, f"{prefix}.branch5x5_2", 64, 5, padding="same")
        branch3x3dbl = self.conv(x, f"{prefix}.branch3x3dbl_1", 64, 1)
        branch3x3dbl = self.conv(branch3x3dbl, f"{prefix}.branch3x3dbl_2", 96, 3, padding="same")
        branch3x3dbl = self.conv(branch3x3dbl, f"{prefix}.branch3x3dbl_3", 96, 3, padding="same")
        branch_pool = self.conv(self.average_pool(x), f"{prefix}.branch_pool", pool_features, 1)
        return keras.layers.Concatenate()([branch1x1, branch5x5, branch3x3dbl, branch_pool])

    def inception_b(self, x, prefix: str):
        branch3x3 = self.conv(x, f"{prefix}.branch3x3", 384, 3, strides=2)
        branch3x3dbl = self.conv(x, f"{prefix}.branch3x3dbl_1", 64, 1)
        branch3x3dbl = self.conv(branch3x3dbl, f"{prefix}.branch3x3dbl_2", 96, 3, padding="same")
        branch3x3dbl = self.conv(branch3x3dbl, f"{prefix}.branch3x3dbl_3", 96, 3, strides=2)
        branch_pool = keras.layers.MaxPooling2D(3, strides=2)(x)
        return keras.layers.Concatenate()([branch3x3, branch3x3dbl, branch_pool])

    def inception_c(self, x, prefix: str, channels_7x7: int):
        c7 = channels_7x7
        branch1x1 = self.conv(x, f"{prefix}.branch1x1", 192, 1)
        branch7x7 = self.conv(x, f"{prefix}.branch7x7_1", c7, 1)
        branch7x7 = self.conv(branch7x7, f"{prefix}.branch7x7_2", c7, (1, 7), padding="same")
        branch7x7 = self.conv(branch7x7, f"{prefix}.branch7x7_3", 192, (7, 1), padding="same")
        dbl = self.conv(x, f"{prefix}.branch7x7dbl_1", c7, 1)
        dbl = self.conv(dbl, f"{prefix}.branch7x7dbl_2", c7, (7, 1), padding="same")
        dbl = self.conv(dbl, f"{prefix}.branch7x7dbl_3", c7, (1, 7), padding="same")
        dbl = self.conv(dbl, f"{prefix}.branch7x7dbl_4", c7, (7, 1), padding="same")
        dbl = self.conv(dbl, f"{prefix}.branch7x7dbl_5", 192, (1, 7), padding="same")
        branch_pool = self.conv(self.average_pool(x), f"{prefix}.branch_pool", 192, 1)
        return keras.layers.Concatenate()([branch1x1, branch7x7, dbl, branch_pool])

    def inception_d(self, x, prefix: str):
        branch3x3 = self.conv(x, f"{prefix}.branch3x3_1", 192, 1)
        branch3x3 = self.conv(branch3x3, f"{prefix}.branch3x3_2", 320, 3, strides=2)
        branch7x7x3 = self.conv(x, f"{prefix}.branch7x7x3_1", 192, 1)
        branch7x7x3 = self.conv(branch7x7x3, f"{prefix}.branch7x7x3_2", 192, (1, 7), padding="same")
        branch7x7x3 = self.conv(branch7x7x3, f"{prefix}.branch7x7x3_3", 192, (7, 1), padding="same")
        branch7x7x3 = self.conv(branch7x7x3, f"{prefix}.branch7x7x3_4", 192, 3, strides=2)
        branch_pool = keras.layers.MaxPooling2D(3, strides=2)(x)
        return keras.layers.Concatenate()([branch3x3, branch7x7x3, branch_pool])

    def inception_e(self, x, prefix: str, max_pool_branch: bool):
        branch1x1 = self.conv(x, f"{prefix}.branch1x1", 320, 1)
        branch3x3 = self.conv(x, f"{prefix}.branch3x3_1", 384, 1)
        branch3x3 = keras.layers.Concatenate()(
            [
                self.conv(branch3x3, f"{prefix}.branch3x3_2a", 384, (1, 3), padding="same"),
                self.conv(branch3x3, f"{prefix}.branch3x3_2b", 384, (3, 1), padding="same"),
            ]
        )
        dbl = self.conv(x, f"{prefix}.branch3x3dbl_1", 448, 1)
        dbl = self.conv(dbl, f"{prefix}.branch3x3dbl_2", 384, 3, padding="same")
        dbl = keras.layers.Concatenate()(
            [
                self.conv(dbl, f"{prefix}.branch3x3dbl_3a", 384, (1, 3), padding="same"),
                self.conv(dbl, f"{prefix}.branch3x3dbl_3b", 384, (3, 1), padding="same"),
            ]
        )
        # TF-FID's last block (pytorch-fid's FIDInceptionE_2) max-pools this branch.
        if max_pool_branch:
            pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same")(x)
        else:
            pooled = self.average_pool(x)
        branch_pool = self.conv(pooled, f"{prefix}.branch_pool", 192, 1)
        return keras.layers.Concatenate()([branch1x1, branch3x3, dbl, branch_pool])


def _build(output: str, resize: bool) -> keras.Model:
    builder = _Builder()
    inputs = keras.Input((None, None, 3), name="images")
    x = inputs
    if resize:
        # pytorch-fid: F.interpolate(bilinear, align_corners=False) of [0, 1]
        # images, then 2x - 1; resizing is affine-equivariant, so resizing the
        # [-1, 1] images directly is the same.
        x = keras.layers.Resizing(*FID_IMAGE_SIZE, interpolation="bilinear", name="resize")(x)
    x = builder.conv(x, "Conv2d_1a_3x3", 32, 3, strides=2)
    x = builder.conv(x, "Conv2d_2a_3x3", 32, 3)
    x = builder.conv(x, "Conv2d_2b_3x3", 64, 3, padding="same")
    x = keras.layers.MaxPooling2D(3, strides=2)(x)
    x = builder.conv(x, "Conv2d_3b_1x1", 80, 1)
    x = builder.conv(x, "Conv2d_4a_3x3", 192, 3)
    x = keras.layers.MaxPooling2D(3, strides=2)(x)
    x = builder.inception_a(x, "Mixed_5b", 32)
    x = builder.inception_a(x, "Mixed_5c", 64)
    x = builder.inception_a(x, "Mixed_5d", 64)
    x = builder.inception_b(x, "Mixed_6a")
    x = builder.inception_c(x, "Mixed_6b", 128)
    x = builder.inception_c(x, "Mixed_6c", 160)
    x = builder.inception_c(x, "Mixed_6d", 160)
    x = builder.inception_c(x, "Mixed_6e", 192)
    x = builder.inception_d(x, "Mixed_7a")
    x = builder.inception_e(x, "Mixed_7b", max_pool_branch=False)
    x = builder.inception_e(x, "Mixed_7c", max_pool_branch=True)
    pool = keras.layers.GlobalAveragePooling2D(name="pool3")(x)
    classifier = keras.layers.Dense(1008, name="fc")
    logits = classifier(pool)  # built even when only pool3 is returned, to load its weights
    outputs = {"pool": pool, "logits": logits, "both": [pool, logits]}[output]
    model = keras.Model(inputs, outputs, name=f"fid_inception_v3_{output}")
    model._gan_blocks_conv_prefixes = builder.conv_prefixes
    model._gan_blocks_classifier = classifier
    return model


def clean_resize(images: np.ndarray, size: tuple[int, int] = FID_IMAGE_SIZE) -> np.ndarray:
    """clean-fid's resize ("clean" mode): PIL bicubic with antialiasing, per channel, in float.

    Images in [-1, 1] are mapped to [0, 255] (clean-fid's input range),
    each channel resized as a 32-bit float PIL image with `Image.BICUBIC`
    (antialiased when shrinking), clipped to [0, 255] and mapped back. No
    quantisation to uint8 after resizing, as clean-fid.

    Args:
        images: `(n, height, width, channels)` array in [-1, 1].
        size: `(height, width)` of the output.

    Returns:
        Float32 array `(n, *size, channels)` in [-1, 1].
    """
    from PIL import Image

    height, width = size
    pixels = (np.asarray(images, dtype="float32") + 1.0) * 127.5
    out = np.empty((len(pixels), height, width, pixels.shape[-1]), dtype="float32")
    for index, image in enumerate(pixels):
        for channel in range(image.shape[-1]):
            # A float32 array is a 32-bit float ("F") image.
            resized = Image.fromarray(np.ascontiguousarray(image[..., channel])).resize(
                (width, height), resample=Image.BICUBIC
            )
            out[index, ..., channel] = np.asarray(resized).clip(0, 255)
    return out / 127.5 - 1.0


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str) -> str:
    try:
        path = keras.utils.get_file(origin=url, cache_subdir="models")
    except Exception as error:
        raise OSError(
            f"Could not download the FID Inception weights from {url} ({error}). Offline: "
            "copy pt_inception-2015-12-05-6726825d.pth from a machine that has it (pytorch-fid "
            "caches it in ~/.cache/torch/hub/checkpoints/), or its .npz conversion "
            "(`gan-blocks convert-inception FILE.pth OUT.npz`), and pass its path as `weights`."
        ) from error
    name = os.path.basename(url)
    if FID_WEIGHTS_SHA256_PREFIX in name and not _sha256(path).startswith(
        FID_WEIGHTS_SHA256_PREFIX
    ):
        raise ValueError(
            f"The downloaded file {path} does not have the SHA-256 of pytorch-fid's weights "
            f"(expected a digest starting {FID_WEIGHTS_SHA256_PREFIX}); delete it and retry."
        )
    return path


def read_torch_state_dict(path: str) -> dict[str, np.ndarray]:
    """Reads pytorch-fid's `.pth` state dict as numpy arrays (needs torch)."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"Reading {path!r} (a PyTorch file) needs torch. Without torch: convert it once "
            "where torch is installed, `gan-blocks convert-inception FILE.pth OUT.npz`, and "
            "pass the .npz."
        ) from error
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # Unpickling, zip and format errors alike.
        raise ValueError(_not_a_state_dict(path, error)) from error
    if not isinstance(state, dict) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        raise ValueError(_not_a_state_dict(path, f"it holds a {type(state).__name__}"))
    return {key: value.detach().cpu().numpy() for key, value in state.items()}


def _not_a_state_dict(path: str, reason: Any) -> str:
    first_line = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason)
    return (
        f"The weights are not pytorch-fid's FID Inception: {path!r} holds no state dict of "
        f"arrays ({first_line}). Pass pt_inception-2015-12-05-6726825d.pth, its .npz "
        f"conversion (gan-blocks convert-inception), or the URL {FID_WEIGHTS_URL}."
    )


def read_state_dict(weights: str) -> dict[str, np.ndarray]:
    """pytorch-fid parameter arrays from a `.pth`, a converted `.npz` or a URL."""
    if weights.startswith(("http://", "https://")):
        weights = _download(weights)
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"No FID Inception weights file at {weights!r}. Pass pytorch-fid's "
            f"pt_inception-2015-12-05-6726825d.pth, its .npz conversion, or the URL "
            f"{FID_WEIGHTS_URL}."
        )
    if weights.endswith(".npz"):
        try:
            with np.load(weights, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except Exception as error:  # Not a zip of arrays, or arrays needing pickle.
            raise ValueError(_not_a_state_dict(weights, error)) from error
    return read_torch_state_dict(weights)


def load_state_dict(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Sets a `fid_inception_v3` model's weights from pytorch-fid's state dict.

    Raises:
        ValueError: A parameter is missing, left over or of the wrong shape.
    """
    used = set()

    def take(key: str, shape: tuple[int, ...]) -> np.ndarray:
        if key not in state:
            raise ValueError(
                f"The FID Inception weights lack {key!r}: not pytorch-fid's "
                "pt_inception-2015-12-05 state dict?"
            )
        value = np.asarray(state[key], dtype="float32")
        if value.shape != shape:
            raise ValueError(f"{key!r} has shape {value.shape}; expected {shape}.")
        used.add(key)
        return value

    for prefix in model._gan_blocks_conv_prefixes:
        conv = model.get_layer(keras_layer_name(f"{prefix}.conv"))
        kh, kw, cin, cout = conv.kernel.shape
        weight = take(f"{prefix}.conv.weight", (cout, cin, kh, kw))
        conv.kernel.assign(np.transpose(weight, (2, 3, 1, 0)))
        bn = model.get_layer(keras_layer_name(f"{prefix}.bn"))
        bn.set_weights(
            [take(f"{prefix}.bn.{name}", (cout,)) for name in ("weight", "bias")]
            + [take(f"{prefix}.bn.{name}", (cout,)) for name in ("running_mean", "running_var")]
        )
        used.add(f"{prefix}.bn.num_batches_tracked")
    if "fc.weight" in state:
        model._gan_blocks_classifier.set_weights(
            [take("fc.weight", (1008, 2048)).T, take("fc.bias", (1008,))]
        )
    left_over = sorted(key for key in state if key not in used and not key.startswith("fc."))
    if left_over:
        raise ValueError(
            f"The weights hold parameters the FID Inception does not have: {left_over[:5]}"
            f"{' ...' if len(left_over) > 5 else ''}. Not pytorch-fid's FID Inception?"
        )


def state_dict_from_model(model: keras.Model) -> dict[str, np.ndarray]:
    """The inverse of `load_state_dict`: pytorch-fid's names and layouts."""
    state: dict[str, np.ndarray] = {}
    for prefix in model._gan_blocks_conv_prefixes:
        conv = model.get_layer(keras_layer_name(f"{prefix}.conv"))
        kernel = keras.ops.convert_to_numpy(conv.kernel)
        state[f"{prefix}.conv.weight"] = np.transpose(kernel, (3, 2, 0, 1))
        gamma, beta, mean, variance = model.get_layer(
            keras_layer_name(f"{prefix}.bn")
        ).get_weights()
        state.update(
            {
                f"{prefix}.bn.weight": gamma,
                f"{prefix}.bn.bias": beta,
                f"{prefix}.bn.running_mean": mean,
                f"{prefix}.bn.running_var": variance,
            }
        )
    kernel, bias = model._gan_blocks_classifier.get_weights()
    state["fc.weight"], state["fc.bias"] = kernel.T, bias
    return state


@gan_blocks_export()
def fid_inception_v3(
    weights: str | dict[str, Any] | None = FID_WEIGHTS_URL,
    output: str = "pool",
    resize: str | None = "pytorch_fid",
) -> keras.Model:
    """The TF-FID Inception network, for FIDs comparable with papers.

    Builds, in Keras 3 (TensorFlow, JAX and torch backends), the 2015
    TensorFlow Inception graph that TF-FID and pytorch-fid use, layer for
    layer as pytorch-fid's `FIDInceptionA/C/E_1/E_2` blocks: average-pool
    branches that do not count padding, a max-pool branch in the last
    block, a 1008-class classifier. With pytorch-fid's weights its pool3
    features equal pytorch-fid's to float32 round-off (the test suite checks
    the network against pytorch-fid's block code with random weights on every
    backend), so an FID over 50k images computed with it is comparable with
    published pytorch-fid numbers, and close to (not bit-equal with) TF-FID's:
    pytorch-fid documents that its resize differs slightly from TF 1's.

    The model takes channels-last images in [-1, 1] of any size (3 channels;
    the `gb.metrics` metrics repeat grayscale ones) and resizes them to
    299x299 as pytorch-fid does: bilinear, `align_corners=False`, no
    antialiasing (`resize="pytorch_fid"`). `resize="clean"` is clean-fid's
    resize (PIL bicubic with antialiasing, `clean_resize`): it runs on the
    host, so the model itself expects 299x299 images and the `gb.metrics`
    metrics resize before calling it. `resize=None` expects 299x299 input.

    Pass it to any metric: `gb.metrics.FrechetDistance(feature_extractor=
    gb.metrics.fid_inception_v3("pt_inception-2015-12-05-6726825d.pth"))`.

    Args:
        weights: pytorch-fid's weights: the URL (default; downloaded once
            into the Keras cache, `~/.keras/models`, and checked against the
            SHA-256 prefix in its name), the path of the `.pth` file (read
            with torch), the path of an `.npz` written by `gan-blocks
            convert-inception` (no torch needed), a dict of arrays keyed as
            pytorch-fid's state dict, or `None` for random weights.
        output: `"pool"` (2048-d pool3 features, for FID, KID, precision/
            recall), `"logits"` (1008 classes, for the Inception Score with
            `from_logits=True`) or `"both"`.
        resize: `"pytorch_fid"`, `"clean"` or `None` (no resize).

    Returns:
        A `keras.Model`.

    Raises:
        OSError: The weights cannot be downloaded (offline), with what to do.
        ValueError: The weights are not pytorch-fid's FID Inception.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> model = gb.metrics.fid_inception_v3(weights=None)  # random: a shape check only
    >>> model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0).shape
    (2, 2048)
    """
    if output not in FID_OUTPUTS:
        raise ValueError(f"`output` must be one of {FID_OUTPUTS}. Received: output={output!r}")
    if resize not in (*RESIZE_METHODS, None):
        raise ValueError(
            f"`resize` must be one of {RESIZE_METHODS} or None. Received: resize={resize!r}"
        )
    model = _build(output, resize == "pytorch_fid")
    if weights is not None:
        state = dict(weights) if isinstance(weights, dict) else read_state_dict(os.fspath(weights))
        load_state_dict(model, state)
    setattr(model, INCEPTION_INPUT_ATTRIBUTE, True)
    model._gan_blocks_resize = {
        "pytorch_fid": "pytorch_fid: bilinear, align_corners=False, no antialiasing, to 299x299",
        "clean": "clean (clean-fid): PIL bicubic, antialiased, per channel in float, on the host",
        None: "none (expects 299x299)",
    }[resize]
    # gb.metrics resize on the host before calling the model.
    setattr(model, HOST_RESIZE_ATTRIBUTE, resize == "clean")
    model._gan_blocks_weights = (
        "random" if weights is None else "state dict" if isinstance(weights, dict) else str(weights)
    )
    return model
