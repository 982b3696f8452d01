"""`ProjectionDiscriminatorOutput`: the class-conditional logit of Miyato & Koyama."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks import backend
from gan_blocks.api_export import gan_blocks_export
from gan_blocks.layers.paired_inputs import check_pair
from gan_blocks.layers.spectral_dense import SpectralDense
from gan_blocks.layers.spectral_normalization import SpectralNormalizedKernel
from gan_blocks.validation import check_int


class _SpectralEmbedding(SpectralNormalizedKernel, keras.layers.Dense):
    """A class embedding stored as a `(num_classes, features)` spectral-normalized kernel."""

    def __init__(self, num_classes: int, features: int, **kwargs: Any):
        super().__init__(features, use_bias=False, **kwargs)
        self.num_classes = num_classes

    def build(self, input_shape: Any) -> None:
        super().build((None, self.num_classes))


@gan_blocks_export()
class ProjectionDiscriminatorOutput(keras.layers.Layer):
    """The projection discriminator's logit `linear(h) + <embed(y), h>`.

    Takes the discriminator's pooled features `h` (batch, features) and
    integer class ids `y`; returns `w . h + b + e_y . h` with `w` and the class
    embeddings `e` spectral-normalized (Miyato & Koyama 2018). Projecting the
    class onto the features, instead of concatenating it to the input, gives
    the discriminator the form of the optimal one for a conditional density
    ratio, and is what lets SN-GAN's conditional samples hold their class.

    Args:
        num_classes: Number of classes; labels lie in `[0, num_classes)`.
        spectral: Spectral-normalize `w` and the embeddings.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[h, labels]`: features of shape `(batch, features)` and class
            ids of shape `(batch,)` or `(batch, 1)`.
        training: Whether the spectral norms update their power iteration.

    Returns:
        Logits of shape `(batch, 1)`.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> head = gb.layers.ProjectionDiscriminatorOutput(10)
    >>> tuple(head([np.ones((3, 16), "float32"), np.array([0, 5, 9])]).shape)
    (3, 1)

    Reference:
        Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018.
    """

    def __init__(self, num_classes: int, spectral: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        self.num_classes = num_classes
        self.spectral = spectral
        self.linear = (
            SpectralDense(1, dtype=self.dtype_policy, name="linear")
            if spectral
            else keras.layers.Dense(1, dtype=self.dtype_policy, name="linear")
        )
        self.embedding = None

    def build(self, input_shape: Any) -> None:
        check_pair(input_shape, "ProjectionDiscriminatorOutput", "[features, labels]")
        features_shape = tuple(input_shape[0])
        if len(features_shape) != 2 or features_shape[-1] is None:
            raise ValueError(
                "ProjectionDiscriminatorOutput expects pooled features of shape "
                f"(batch, features). Received: {features_shape}"
            )
        features = features_shape[-1]
        self.linear.build(features_shape)
        if self.spectral:
            self.embedding = _SpectralEmbedding(
                self.num_classes, features, dtype=self.dtype_policy, name="embedding"
            )
        else:
            self.embedding = keras.layers.Embedding(
                self.num_classes, features, dtype=self.dtype_policy, name="embedding"
            )
        self.embedding.build(None)
        self.built = True

    def class_embeddings(self, training: bool = False) -> Any:
        """The `(num_classes, features)` embeddings used in `call`."""
        if self.spectral:
            return self.embedding.normalized_kernel(training)
        return self.embedding.embeddings

    def call(self, inputs: Any, training: bool = False) -> Any:
        features, labels = inputs
        if not training:
            # Called directly (inference): values exist, check them. A model's
            # training step checks its labels itself, without a host copy.
            self._check_labels(backend.concrete_values(labels))
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        embedded = ops.take(self.class_embeddings(training), labels, axis=0)
        projection = ops.sum(embedded * features, axis=-1, keepdims=True)
        return self.linear(features, training=training) + projection

    def _check_labels(self, labels: Any) -> None:
        # Without it: -1 picks the last class, 2.7 becomes 2, and 15 of 10
        # classes gives NaN on JAX and a backend error elsewhere.
        from gan_blocks.models.input_checks import check_labels, label_error

        if labels is None:
            return
        if labels.ndim >= 2 and labels.shape[-1] > 1:
            raise label_error(
                self.num_classes,
                f"labels of shape {labels.shape}: ProjectionDiscriminatorOutput takes "
                "class ids of shape (batch,) or (batch, 1)",
            )
        check_labels(labels, self.num_classes)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (tuple(input_shape[0])[0], 1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(num_classes=self.num_classes, spectral=self.spectral)
        return config
