"""`MappingNetwork`: StyleGAN2's MLP from latent codes z to intermediate latents w."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks import backend
from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.equalized_dense import EqualizedDense
from gan_blocks.layers.paired_inputs import is_pair
from gan_blocks.validation import check_int, check_number

EPSILON = 1e-8


def _normalize_2nd_moment(x: Any) -> Any:
    """`x * rsqrt(mean(x**2, axis=1) + 1e-8)`, computed in float32 (NVlabs)."""
    x32 = ops.cast(x, "float32")
    scale = ops.rsqrt(ops.mean(ops.square(x32), axis=1, keepdims=True) + EPSILON)
    return ops.cast(x32 * scale, x.dtype)


@gan_blocks_export()
class MappingNetwork(keras.layers.Layer):
    """Maps latent codes `z` (and optional class labels) to StyleGAN's `w`.

    As NVlabs' `MappingNetwork` (stylegan2-ada-pytorch): `z` is normalized to
    a unit second moment, `x * rsqrt(mean(x**2) + 1e-8)` per sample; class
    labels, as one-hot rows, go through an `EqualizedDense(embed_dim)` and
    the same normalization and are concatenated to `z`; then `num_layers`
    `EqualizedDense(w_dim, activation="leaky_relu", lr_multiplier=...)`
    layers give `w`.

    The non-trainable float32 variable `w_average` (zeros at first) follows
    the running mean of `w` over training batches,
    `w_average += (1 - w_avg_beta) * (mean_batch(w) - w_average)`, without
    gradient. It is the centre of the truncation trick (`truncate`) and of
    StyleGAN2's path-length and style-mixing bookkeeping. The update is an
    `assign`, so it also happens in a compiled (JAX stateless) `fit`.

    Args:
        w_dim: Size of `w` (and of every hidden layer).
        num_layers: Number of `EqualizedDense` layers after the embedding (>= 1).
        lr_multiplier: Learning-rate multiplier of those layers (StyleGAN: 0.01).
        num_classes: Number of classes of a conditional network, or `None`.
        embed_dim: Size of the label embedding; defaults to `w_dim`.
        num_ws: When an int, `w` is repeated into `(batch, num_ws, w_dim)`,
            one copy per synthesis-layer input (as NVlabs broadcasts it).
        w_avg_beta: Decay of the running average `w_average`, in `[0, 1]`.
        normalize_latents: Whether to normalize `z` (the label embedding is
            always normalized, as in NVlabs' code).
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `z` of shape `(batch, z_dim)`, or `[z, labels]` when
            `num_classes` is set, with integer class ids of shape `(batch,)` or
            `(batch, 1)`, or float one-hot rows of shape `(batch, num_classes)`.
        training: Whether the call is a training step; by default it updates
            `w_average`.
        update_average: Whether to update `w_average`; `None` means `training`.

    Returns:
        `w` of shape `(batch, w_dim)`, or `(batch, num_ws, w_dim)`.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> mapping = gb.layers.MappingNetwork(w_dim=8, num_layers=2, num_ws=3)
    >>> w = mapping(np.ones((4, 16), "float32"), training=True)
    >>> tuple(w.shape)
    (4, 3, 8)
    >>> bool(keras.ops.all(mapping.truncate(w, psi=0.0) == mapping.w_average))
    True

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020; Karras et al., "Training Generative Adversarial
        Networks with Limited Data", NeurIPS 2020 (stylegan2-ada-pytorch).
    """

    def __init__(
        self,
        w_dim: int = 512,
        num_layers: int = 8,
        lr_multiplier: float = 0.01,
        num_classes: int | None = None,
        embed_dim: int | None = None,
        num_ws: int | None = None,
        w_avg_beta: float = 0.995,
        normalize_latents: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.w_dim = check_int("w_dim", w_dim, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.lr_multiplier = check_number(
            "lr_multiplier", lr_multiplier, minimum=0.0, exclusive=True
        )
        self.num_classes = (
            None if num_classes is None else check_int("num_classes", num_classes, minimum=1)
        )
        self.embed_dim = None if embed_dim is None else check_int("embed_dim", embed_dim, minimum=1)
        self.num_ws = None if num_ws is None else check_int("num_ws", num_ws, minimum=1)
        self.w_avg_beta = check_number("w_avg_beta", w_avg_beta, minimum=0.0, maximum=1.0)
        self.normalize_latents = bool(normalize_latents)
        self.embed = None
        if self.num_classes is not None:
            self.embed = EqualizedDense(
                self.w_dim if self.embed_dim is None else self.embed_dim,
                dtype=self.dtype_policy,
                name="embed",
            )
        self.dense_layers = [
            EqualizedDense(
                self.w_dim,
                activation="leaky_relu",
                lr_multiplier=self.lr_multiplier,
                dtype=self.dtype_policy,
                name=f"dense_{index}",
            )
            for index in range(self.num_layers)
        ]
        self.w_average = None

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # The structure is checked here, before Keras builds the layer.
        if self.num_classes is not None and not is_pair(inputs):
            raise ValueError(
                f"This MappingNetwork has num_classes={self.num_classes}: call it on "
                "[z, labels]. Received only one input; pass class ids of shape "
                "(batch,) as the second input (or build it with num_classes=None)."
            )
        if self.num_classes is None and is_pair(inputs):
            raise ValueError(
                "This MappingNetwork is unconditional (num_classes=None): call it on z "
                "alone. Received [z, labels]; build it with num_classes=... to use labels."
            )
        return super().__call__(inputs, *args, **kwargs)

    def build(self, input_shape: Any) -> None:
        z_shape = tuple(input_shape[0] if self.num_classes is not None else input_shape)
        if len(z_shape) != 2 or z_shape[-1] is None:
            raise ValueError(
                "MappingNetwork expects latent codes z of shape (batch, z_dim). "
                f"Received z of shape {z_shape}."
            )
        features = z_shape[-1]
        if self.embed is not None:
            self.embed.build((None, self.num_classes))
            features += self.embed.units
        for layer in self.dense_layers:
            layer.build((None, features))
            features = layer.units
        self.w_average = self.add_weight(
            shape=(self.w_dim,),
            initializer="zeros",
            trainable=False,
            autocast=False,
            dtype="float32",
            name="w_average",
        )
        self.built = True

    def _one_hot(self, labels: Any, training: bool) -> Any:
        if not training:
            # Called directly (inference): values exist, check them. A model's
            # training step checks its labels itself, without a host copy.
            self._check_labels(backend.concrete_values(labels))
        shape = tuple(labels.shape)
        if len(shape) == 2 and shape[-1] == self.num_classes and self.num_classes > 1:
            return labels  # one-hot rows
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(
                f"MappingNetwork takes class ids of shape (batch,) or (batch, 1), or "
                f"one-hot rows of shape (batch, {self.num_classes}). Received labels of "
                f"shape {shape}."
            )
        ids = ops.reshape(ops.cast(labels, "int32"), (-1,))
        return ops.one_hot(ids, self.num_classes)

    def _check_labels(self, labels: Any) -> None:
        from gan_blocks.models.input_checks import check_labels

        if labels is not None:
            check_labels(labels, self.num_classes)

    def call(self, inputs: Any, training: bool = False, update_average: bool | None = None) -> Any:
        if self.num_classes is not None:
            z, labels = inputs
        else:
            z, labels = inputs, None
        z = ops.cast(z, self.compute_dtype)
        x = _normalize_2nd_moment(z) if self.normalize_latents else z
        if labels is not None:
            one_hot = ops.cast(self._one_hot(labels, training), self.compute_dtype)
            embedded = _normalize_2nd_moment(self.embed(one_hot))
            x = ops.concatenate([x, embedded], axis=1)
        for layer in self.dense_layers:
            x = layer(x)
        if training if update_average is None else update_average:
            batch_mean = ops.mean(ops.cast(ops.stop_gradient(x), "float32"), axis=0)
            average = self.w_average.value
            self.w_average.assign(average + (1.0 - self.w_avg_beta) * (batch_mean - average))
        if self.num_ws is not None:
            x = ops.repeat(ops.expand_dims(x, 1), self.num_ws, axis=1)
        return x

    def truncate(self, w: Any, psi: float, cutoff: int | None = None) -> Any:
        """The truncation trick: `w_average + psi * (w - w_average)`.

        Args:
            w: Latents of shape `(batch, w_dim)` or `(batch, num_ws, w_dim)`.
            psi: 1 keeps `w`, 0 gives `w_average`; values between trade
                diversity for quality.
            cutoff: For 3-D `w`, truncate only the first `cutoff` of the
                `num_ws` rows (the coarse styles); `None` truncates all.

        Returns:
            The truncated latents, of `w`'s shape and dtype.
        """
        w = ops.convert_to_tensor(w)
        average = ops.cast(self.w_average, w.dtype)
        if cutoff is None:
            return average + psi * (w - average)
        cutoff = check_int("cutoff", cutoff, minimum=0)
        if len(w.shape) != 3:
            raise ValueError(
                "`cutoff` truncates the first rows of w of shape (batch, num_ws, w_dim). "
                f"Received w of shape {tuple(w.shape)}; pass cutoff=None for 2-D w."
            )
        # A constant (num_ws, 1) mask: num_ws and cutoff are static, and jax2onnx's
        # ONNX export cannot trace keras.ops.arange(n) (it reads arange(n, None)).
        rows = np.arange(w.shape[1])[:, None] < cutoff
        return ops.where(rows, average + psi * (w - average), w)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        z_shape = tuple(input_shape[0] if self.num_classes is not None else input_shape)
        if self.num_ws is not None:
            return (z_shape[0], self.num_ws, self.w_dim)
        return (z_shape[0], self.w_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            w_dim=self.w_dim,
            num_layers=self.num_layers,
            lr_multiplier=self.lr_multiplier,
            num_classes=self.num_classes,
            embed_dim=self.embed_dim,
            num_ws=self.num_ws,
            w_avg_beta=self.w_avg_beta,
            normalize_latents=self.normalize_latents,
        )
        return config
