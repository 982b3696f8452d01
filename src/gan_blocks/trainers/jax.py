"""JAX plumbing: a stateless step over the whole model state.

Keras' JAX trainer passes the model state (trainable, non-trainable, optimizer
and metric variables) into a jitted `train_step(state, data)` and expects the
new state back; the variables themselves hold no values meanwhile. We open a
`StatelessScope` mapping every variable to its value, run the shared GAN step
inside it, and differentiate each player's loss with `jax.value_and_grad` over
that player's variables only, and apply it with that player's optimizer's
`stateless_apply`, writing the new values back into the scope. Both
optimizers' variables travel in the state because `model.optimizer` is the composite `GANOptimizer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from keras import StatelessScope
from keras.src.backend.common.stateless_scope import get_stateless_scope


def _minimize(loss_fn: Callable[[], tuple], variables: list, optimizer: Any) -> tuple:
    outer = get_stateless_scope()
    base_mapping = dict(outer.state_mapping)
    variable_ids = [id(variable) for variable in variables]
    values = [base_mapping[key] for key in variable_ids]

    def objective(values: list) -> tuple:
        with StatelessScope() as inner:
            inner.state_mapping.update(base_mapping)
            inner.state_mapping.update(zip(variable_ids, values))
            loss, aux = loss_fn()
            scaled_loss = optimizer.scale_loss(loss)
        # Non-trainable updates made by the forward pass (batch-norm moving
        # statistics, seed generator states) leave the traced function as aux.
        updates = {
            key: value
            for key, value in inner.state_mapping.items()
            if key not in base_mapping or value is not base_mapping[key]
        }
        for key in variable_ids:
            updates.pop(key, None)
        return scaled_loss, (loss, aux, updates)

    (_, (loss, aux, updates)), gradients = jax.value_and_grad(objective, has_aux=True)(values)
    outer.state_mapping.update(updates)
    optimizer_values = [outer.get_current_value(v) for v in optimizer.variables]
    new_values, new_optimizer_values = optimizer.stateless_apply(
        optimizer_values, gradients, values
    )
    outer.state_mapping.update(zip(variable_ids, new_values))
    for variable, value in zip(optimizer.variables, new_optimizer_values):
        outer.add_update((variable, value))
    return loss, aux


def train_step(model: Any, state: tuple, data: Any) -> tuple:
    """`Model.train_step(state, data)` for JAX; returns `(logs, new_state)`."""
    trainable, non_trainable, optimizer_values, metrics_values = state
    groups = (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )
    mapping = []
    for variables, values in zip(groups, state):
        mapping.extend(zip(variables, values))
    with StatelessScope(state_mapping=mapping) as scope:
        logs = model.optimization_step(data, _minimize)
    new_state = tuple(
        [scope.get_current_value(variable) for variable in variables] for variables in groups
    )
    return logs, new_state


def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """`jax.grad` input gradient; `fn`'s state updates are discarded."""
    outer = get_stateless_scope()

    def total(x: Any) -> Any:
        with StatelessScope() as scope:
            if outer is not None:
                scope.state_mapping.update(outer.state_mapping)
            return jax.numpy.sum(jax.numpy.asarray(fn(x), dtype="float32"))

    return jax.grad(total)(jax.numpy.asarray(x))


def test_step(model: Any, state: tuple, data: Any) -> tuple:
    """`Model.test_step(state, data)` for JAX; returns `(logs, new_state)`."""
    groups = (model.trainable_variables, model.non_trainable_variables, model.metrics_variables)
    mapping = []
    for variables, values in zip(groups, state):
        mapping.extend(zip(variables, values))
    with StatelessScope(state_mapping=mapping) as scope:
        logs = model.evaluation_step(data)
    new_state = tuple(
        [scope.get_current_value(variable) for variable in variables] for variables in groups
    )
    return logs, new_state
