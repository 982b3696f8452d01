"""`SeedStateSaving`: saves the `SeedGenerator` states Keras leaves out of `.keras` files."""

from __future__ import annotations

from typing import Any


class SeedStateSaving:
    """Mixin of a `keras.Model`: every seed generator's state saved and restored.

    Keras does not save `SeedGenerator` states; an exact resume needs them
    (latents, augmentation, image pools and label noise draw from them).
    """

    def _seed_states(self) -> list:
        states, seen = [], set()
        for layer in self._flatten_layers(include_self=True):
            for generator in getattr(layer, "_seed_generators", []):
                if id(generator.state) not in seen:
                    seen.add(id(generator.state))
                    states.append(generator.state)
        return states

    def save_own_variables(self, store: Any) -> None:
        super().save_own_variables(store)
        # Keras does not save SeedGenerator states; an exact resume needs them.
        for index, state in enumerate(self._seed_states()):
            store[f"seed_state_{index}"] = state

    def load_own_variables(self, store: Any) -> None:
        own = {k: store[k] for k in store.keys() if not str(k).startswith("seed_state_")}
        super().load_own_variables(own)
        for index, state in enumerate(self._seed_states()):
            key = f"seed_state_{index}"
            if key in store.keys():
                state.assign(store[key])
