"""`RegularizerState`: the variables that stateful regularizers keep, saved with the model."""

from __future__ import annotations

from typing import Any

import keras


class RegularizerState(keras.layers.Layer):
    """Holds one float32 scalar variable per entry of each regularizer's `state_spec`.

    An attribute of every adversarial model, so the variables are part of the
    model's state: saved in `.keras` files and checkpoints, restored by a
    resumed run, and threaded through JAX's stateless step like batch-norm
    statistics. `compile` fills it (`reset`); an uncompiled model holds none.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._state: dict[str, dict[str, keras.Variable]] = {}
        self.built = True

    def reset(self, regularizers: list) -> None:
        """Replaces the variables by fresh ones for `regularizers` (named, unique)."""
        for variable in [v for state in self._state.values() for v in state.values()]:
            self._untrack_variable(variable)
        self._state = {}
        for regularizer in regularizers:
            spec = getattr(regularizer, "state_spec", dict)()
            if not spec:
                continue
            name = regularizer.name
            state = {}
            for key, initial in sorted(spec.items()):
                variable = keras.Variable(
                    float(initial), trainable=False, dtype="float32", name=f"{name}_{key}"
                )
                self._track_variable(variable)
                state[key] = variable
            self._state[name] = state

    def of(self, regularizer: Any) -> dict[str, keras.Variable] | None:
        """The variables of `regularizer` (by name), or `None` when it keeps none."""
        return self._state.get(getattr(regularizer, "name", None))

    def load_own_variables(self, store: Any) -> None:
        # A model loaded without compiling holds no regularizer state: the
        # saved values have nowhere to go and are not needed for inference.
        if not self.variables and len(store.keys()):
            return
        super().load_own_variables(store)
