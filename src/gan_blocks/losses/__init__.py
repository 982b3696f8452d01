"""Adversarial losses, regularizers of any player, and the VAE reconstruction likelihoods."""

from __future__ import annotations

from typing import Any

import keras

from gan_blocks import registry
from gan_blocks.losses.adversarial_loss import AdversarialLoss
from gan_blocks.losses.bernoulli_likelihood import BernoulliLikelihood
from gan_blocks.losses.gaussian_likelihood import GaussianLikelihood
from gan_blocks.losses.gradient_penalty import GradientPenalty
from gan_blocks.losses.hinge_loss import HingeLoss
from gan_blocks.losses.least_squares_loss import LeastSquaresLoss
from gan_blocks.losses.likelihood import Likelihood
from gan_blocks.losses.minimax_loss import MinimaxLoss
from gan_blocks.losses.non_saturating_loss import NonSaturatingLoss
from gan_blocks.losses.path_length_penalty import PathLengthPenalty, path_lengths
from gan_blocks.losses.penalty import Penalty
from gan_blocks.losses.r1_penalty import R1Penalty
from gan_blocks.losses.regularizer import Regularizer, RegularizerContext
from gan_blocks.losses.relativistic_average_loss import RelativisticAverageLoss
from gan_blocks.losses.wasserstein_loss import WassersteinLoss


def _resolve(kind: str, base: type, identifier: Any) -> Any:
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        obj = registry.get(kind, identifier)
        return obj() if isinstance(obj, type) else obj
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    if callable(getattr(identifier, "discriminator_loss", None)) and kind == "loss":
        return identifier  # duck-typed user loss
    if kind == "penalty" and callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret {kind} identifier {identifier!r}. Expected a name "
        f"(one of {registry.names(kind)}), a {base.__name__} instance or a config "
        "dict."
    )


def get(identifier: Any) -> AdversarialLoss:
    """Returns an adversarial loss from a name, an instance or a config dict.

    Args:
        identifier: One of `"minimax"`, `"non_saturating"`, `"least_squares"`,
            `"hinge"`, `"wasserstein"`, `"relativistic_average"` (or a name a
            plugin registered), an `AdversarialLoss` instance or class, or the
            dict `keras.saving.serialize_keras_object` made of one.

    Returns:
        An `AdversarialLoss` instance.

    Raises:
        ValueError: For an unknown name; the message lists the known ones.

    Example:
    >>> import gan_blocks as gb
    >>> gb.losses.get("hinge")
    HingeLoss()
    """
    return _resolve("loss", AdversarialLoss, identifier)


def get_penalty(identifier: Any) -> Penalty | None:
    """Returns a penalty from a name, an instance or a config dict (or `None`).

    Args:
        identifier: `None`, `"gradient_penalty"`, `"r1"` (or a plugin's
            name), a `Penalty` instance or a config dict.

    Returns:
        A `Penalty` instance, or `None`.

    Example:
    >>> import gan_blocks as gb
    >>> gb.losses.get_penalty("r1").gamma
    10.0
    """
    if identifier is None:
        return None
    return _resolve("penalty", Penalty, identifier)


def get_regularizer(identifier: Any) -> Regularizer:
    """Returns a regularizer from a name, an instance or a config dict.

    Args:
        identifier: A registered penalty name (`"gradient_penalty"`, `"r1"`,
            or a plugin's), a `Regularizer` instance or class, or the dict
            `keras.saving.serialize_keras_object` made of one.

    Returns:
        A `Regularizer` (or a plain callable penalty, as `get_penalty`).

    Example:
    >>> import gan_blocks as gb
    >>> gb.losses.get_regularizer({"class_name": "R1Penalty", "module": None,
    ...     "registered_name": "gan_blocks>R1Penalty", "config": {"gamma": 1.0}}).gamma
    1.0
    """
    if identifier is None:
        raise ValueError("Expected a regularizer; received None.")
    return _resolve("penalty", Regularizer, identifier)


def serialize(obj: Any) -> Any:
    """Serializes a loss or penalty with `keras.saving.serialize_keras_object`.

    Args:
        obj: The loss or penalty (or `None`).

    Returns:
        A JSON-serializable config dict, or `None`.

    Example:
    >>> import gan_blocks as gb
    >>> gb.losses.serialize(gb.losses.HingeLoss())["class_name"]
    'HingeLoss'
    """
    if obj is None:
        return None
    return keras.saving.serialize_keras_object(obj)


__all__ = [
    "AdversarialLoss",
    "BernoulliLikelihood",
    "GaussianLikelihood",
    "GradientPenalty",
    "HingeLoss",
    "LeastSquaresLoss",
    "Likelihood",
    "MinimaxLoss",
    "NonSaturatingLoss",
    "PathLengthPenalty",
    "Penalty",
    "R1Penalty",
    "Regularizer",
    "RegularizerContext",
    "RelativisticAverageLoss",
    "WassersteinLoss",
    "get",
    "get_penalty",
    "get_regularizer",
    "serialize",
    "path_lengths",
]
