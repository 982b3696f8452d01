"""`InceptionScore`: exp E[KL(p(y|x) || p(y))] of generated images."""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.metrics.generative_metric import GenerativeMetric

_PROBABILITY_TOLERANCE = 1e-3


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def inception_score_of_split(probabilities: np.ndarray) -> float:
    """`exp(mean_x KL(p(y|x) || p(y)))` for one split of class probabilities."""
    marginal = probabilities.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(
            probabilities > 0.0,
            probabilities * (np.log(probabilities) - np.log(marginal)),
            0.0,
        )
    return float(np.exp(terms.sum(axis=1).mean()))


@gan_blocks_export()
class InceptionScore(GenerativeMetric):
    """Inception Score (IS) of generated images: `exp E_x[KL(p(y|x) || p(y))]`.

    A classifier gives class probabilities `p(y|x)` for every generated
    image; the score is high when each image is classified confidently
    (low-entropy `p(y|x)`) and the classes are diverse (high-entropy marginal
    `p(y)`). It ranges from 1 to the number of classes; higher is better. Real
    images are not used (`update_state` ignores `real_images`).

    Generated images are split, in the order they were seen, into `splits`
    parts (`numpy.array_split`); `result()` is the mean of the per-split
    scores and `log_values()` also gives their standard deviation as
    `{name}_std`, as in the original recipe (50k images, 10 splits).

    The default classifier is InceptionV3 (`keras.applications`, ImageNet
    weights, images in [-1, 1] resized to 299x299 bilinearly) ending in a
    softmax over 1000 classes: its scores follow the recipe but differ from
    those of the 2015 TensorFlow graph (1008 classes) used in papers.

    Memory: keeps the class probabilities of every generated image (float32,
    `4 * num_classes * num_generated` bytes). Statistics live on the host, so
    `update_state` runs eagerly only (see `GenerativeMetric`).

    Args:
        classifier: `None` for InceptionV3, or a `keras.Model`/callable
            mapping images to class probabilities (`from_logits=False`) or to
            logits (`from_logits=True`), shape `(batch, num_classes)`.
        from_logits: Whether the classifier returns logits (a softmax is
            applied in float64) instead of probabilities.
        splits: Number of splits of the generated images.
        weights: Weights of the default classifier: `"imagenet"` or the path
            of a local full (with top) InceptionV3 weights file.
        batch_size: Images per classifier call.
        name: Metric name and log key (`{name}_std` for the std).
        dtype: Unused.

    Call arguments:
        real_images: Ignored (may be `None`).
        generated_images: Batch of generated images.

    Returns:
        `result()` returns the mean score over splits as a Python float.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> inception_score = gb.metrics.InceptionScore(lambda x: x, splits=1)
    >>> one_hot = np.eye(4)[np.arange(100) % 4]  # confident, balanced
    >>> inception_score.update_state(None, one_hot)
    >>> inception_score.result()
    4.0

    Reference:
        Salimans et al., "Improved Techniques for Training GANs", NeurIPS
        2016; Barratt and Sharma, "A Note on the Inception Score", 2018.
    """

    uses_real_images = False
    default_extractor_output = "probabilities"
    extractor_argument = "classifier"

    def __init__(
        self,
        classifier: Any = None,
        from_logits: bool = False,
        splits: int = 10,
        weights: str | None = "imagenet",
        batch_size: int = 64,
        name: str = "inception_score",
        dtype: Any = None,
    ):
        if not isinstance(splits, (int, np.integer)) or splits < 1:
            raise ValueError(f"`splits` must be an int >= 1. Received: splits={splits!r}")
        if classifier is None and from_logits:
            raise ValueError(
                "The default InceptionV3 classifier returns probabilities: "
                "from_logits=True needs your own `classifier` that returns logits."
            )
        super().__init__(
            feature_extractor=classifier,
            weights=weights,
            batch_size=batch_size,
            name=name,
            dtype=dtype,
        )
        self.from_logits = bool(from_logits)
        self.splits = int(splits)

    @property
    def classifier(self) -> Any:
        """The classifier given to the constructor (`None` for InceptionV3)."""
        return self._feature_extractor

    def _reset(self, real: bool) -> None:
        if not real:
            self._probabilities = []

    def _accumulate(self, features: np.ndarray, real: bool) -> None:
        if self.from_logits:
            probabilities = np.exp(_log_softmax(features))
        else:
            probabilities = features
            sums = probabilities.sum(axis=1)
            if probabilities.min() < 0.0 or np.abs(sums - 1.0).max() > _PROBABILITY_TOLERANCE:
                raise ValueError(
                    f"{self.feature_extractor_name} does not return class probabilities: "
                    f"values in [{probabilities.min():.4g}, {probabilities.max():.4g}], row "
                    f"sums in [{sums.min():.4g}, {sums.max():.4g}]. Pass from_logits=True "
                    "if it returns logits, or end it with a softmax."
                )
        self._probabilities.append(probabilities.astype("float32"))

    def result(self) -> float:
        """Mean Inception Score over the splits."""
        return self._compute()[0]

    def _compute(self) -> tuple[float, float]:
        self._require(0, max(self.splits, 1), hint=" or lower `splits`")
        probabilities = np.concatenate(self._probabilities).astype("float64")
        scores = [
            inception_score_of_split(part) for part in np.array_split(probabilities, self.splits)
        ]
        return float(np.mean(scores)), float(np.std(scores))

    @property
    def log_names(self) -> list[str]:
        return [self.name, f"{self.name}_std"]

    def log_values(self) -> dict[str, float]:
        mean, std = self._compute()
        return {self.name: mean, f"{self.name}_std": std}

    @property
    def protocol(self) -> dict[str, Any]:
        protocol = super().protocol
        protocol.update(splits=self.splits, from_logits=self.from_logits)
        return protocol

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(from_logits=self.from_logits, splits=self.splits)
        return config
