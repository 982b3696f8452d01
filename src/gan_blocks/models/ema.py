"""`ExponentialMovingAverages`: EMA copies of a model's networks, with warm-up."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def symbolic_call(network: Any, inputs: Any) -> Any:
    """The output spec of `network(inputs)` for `keras.KerasTensor` inputs, building it.

    A built model answers from its graph (`compute_output_spec`, no new
    nodes); an unbuilt one (a subclassed model) is called symbolically, which
    builds it.
    """
    if network.built:
        return network.compute_output_spec(inputs)
    return network(inputs)


class ExponentialMovingAverages:
    """Mixin of `AdversarialModel`: EMA copies of any of its networks.

    `add_ema("generator")` keeps `ema_generator`, moved after every step by
    `update_ema` with the warm-up decay of `ema_decay`; `select_network`
    picks the copy for inference. The copies are attributes of the model, so
    they are saved and loaded with it.
    """

    def add_ema(self, network_name: str, example_inputs: Any = None) -> None:
        """Keeps an EMA copy of the network attribute `network_name` as `ema_<name>`.

        Sets `ema_<name>` to `None` when the model has no `generator_ema`.
        `generate`-style methods use the copy; `optimization_step` moves it
        after every step.

        Args:
            network_name: Attribute name of a built network (e.g. `"generator"`).
            example_inputs: `keras.KerasTensor`(s) the network takes, used to
                build a copy that cloning leaves unbuilt (subclassed models).
        """
        ema_name = f"ema_{network_name}"
        if self.generator_ema is None:
            setattr(self, ema_name, None)
            return
        network = getattr(self, network_name)
        try:
            ema = keras.models.clone_model(network)
        except Exception:
            ema = network.__class__.from_config(network.get_config())
        if not ema.built and example_inputs is not None:
            symbolic_call(ema, example_inputs)
        ema.set_weights(network.get_weights())
        ema.trainable = False
        setattr(self, ema_name, ema)
        self._ema_names.append((ema_name, network_name))

    def select_network(self, network_name: str, use_ema: bool = True) -> keras.layers.Layer:
        """The EMA copy of a network when there is one and `use_ema`, else the network."""
        ema = getattr(self, f"ema_{network_name}", None)
        if use_ema and ema is not None:
            return ema
        return getattr(self, network_name)

    def ema_decay(self) -> Any:
        """The EMA decay of this step: `min(generator_ema, (1 + t) / (10 + t))`.

        `t` counts the generator's updates (`optimizer.iterations`, saved with
        the optimizer, so a resumed run continues the same schedule). The
        warm-up, as in `tf.train.ExponentialMovingAverage(num_updates=...)`,
        lets the average forget the random initial weights within the first
        few hundred steps: a constant 0.999 would still hold 0.999^2000 = 14%
        of them after 2,000 steps.

        Returns:
            A scalar float32 tensor.
        """
        steps = ops.cast(self.optimizer.iterations, "float32")
        return ops.minimum(self.generator_ema, (1.0 + steps) / (10.0 + steps))

    def update_ema(self) -> None:
        """Moves every EMA network's weights towards its network's (`ema_decay`)."""
        decay = self.ema_decay()
        for ema_name, network_name in self._ema_names:
            ema, network = getattr(self, ema_name), getattr(self, network_name)
            for ema_variable, variable in zip(ema.weights, network.weights):
                if variable.trainable and keras.backend.is_float_dtype(variable.dtype):
                    step_decay = ops.cast(decay, ema_variable.dtype)
                    ema_variable.assign(
                        step_decay * ema_variable
                        + (1.0 - step_decay) * ops.cast(variable, ema_variable.dtype)
                    )
                else:
                    ema_variable.assign(variable)
