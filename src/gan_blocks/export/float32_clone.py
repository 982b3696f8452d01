"""`float32_clone`: a float32 copy of a network, whatever dtype policy it trained under."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
from keras import ops

_POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy")


def _float32_config(config: Any) -> Any:
    """The serialized `config` with every float dtype policy replaced by float32."""
    if isinstance(config, list):
        return [_float32_config(item) for item in config]
    if not isinstance(config, dict):
        return config
    class_name = config.get("class_name")
    if class_name in _POLICY_CLASSES:
        return {**config, "config": {**config.get("config", {}), "name": "float32"}}
    if isinstance(class_name, str) and "DTypePolicy" in class_name:
        raise ValueError(
            f"Cannot export a network with the dtype policy {class_name} (e.g. a quantized "
            "one): gan-blocks exports float32 networks only."
        )
    return {key: _float32_config(value) for key, value in config.items()}


@contextlib.contextmanager
def _float32_global_policy() -> Iterator[None]:
    # Sub-layers created without an explicit dtype take the global policy.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_clone(network: keras.Model) -> keras.Model:
    """A new float32 network with `network`'s architecture and weights.

    A generator trained under `mixed_float16` or `mixed_bfloat16` computes in
    half precision; the exported graph should compute in float32 (ONNX and
    LiteRT runtimes expect it, and it is the reference the half-precision
    training approximates). The clone is rebuilt from the network's config
    with every dtype policy set to float32, then given the network's weights
    (variables are float32 under mixed policies, so nothing is rounded).
    The clone is independent: changing it (e.g. its noise mode) leaves the
    trained network alone.

    Args:
        network: A built Keras model (functional, sequential, or subclassed
            with `get_config`).

    Returns:
        The float32 clone, built.

    Raises:
        ValueError: When the network was never built (it has no weights) or
            cannot be rebuilt from its config.

    Example:
    >>> import keras, numpy as np
    >>> from gan_blocks.export import float32_clone
    >>> network = keras.Sequential([keras.Input((4,)),
    ...                             keras.layers.Dense(3, dtype="mixed_bfloat16")])
    >>> clone = float32_clone(network)
    >>> clone.layers[0].compute_dtype
    'float32'
    >>> x = np.ones((2, 4), "float32")
    >>> kernel = keras.ops.convert_to_numpy(network.layers[0].kernel)
    >>> bool(np.allclose(keras.ops.convert_to_numpy(clone(x)), x @ kernel, atol=1e-6))
    True
    """
    if not isinstance(network, keras.layers.Layer):
        raise TypeError(f"Expected a Keras model; received {type(network).__name__}.")
    if not network.built:
        raise ValueError(
            f"The network {network.name!r} was never built, so it has no weights to "
            "export: call it on a batch (or train the model) first."
        )
    config = _float32_config(keras.saving.serialize_keras_object(network))
    try:
        with _float32_global_policy():
            clone = keras.saving.deserialize_keras_object(config)
    except Exception as error:
        raise ValueError(
            f"Could not rebuild the network {network.name!r} from its config to export it "
            f"in float32 ({type(error).__name__}: {error}). A subclassed network needs a "
            "`get_config` returning its constructor arguments."
        ) from error
    if not clone.built:
        raise ValueError(
            f"The float32 rebuild of {network.name!r} is not built: give a subclassed "
            "network `build` (or `build_config`) so Keras can rebuild it from a config."
        )
    sources, targets = network.weights, clone.weights
    if len(sources) != len(targets) or any(
        tuple(s.shape) != tuple(t.shape) for s, t in zip(sources, targets)
    ):
        raise ValueError(
            f"The float32 rebuild of {network.name!r} has weights of other shapes "
            f"({len(targets)} weights, expected {len(sources)}); its config does not "
            "reproduce it."
        )
    for source, target in zip(sources, targets):
        target.assign(ops.cast(source.value, target.dtype))
    return clone
