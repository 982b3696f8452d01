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

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import jax
import keras
import numpy as np
from keras import StatelessScope
from keras.src.backend.common.backend_utils import compute_conv_transpose_padding_args_for_jax
from keras.src.backend.common.stateless_scope import get_stateless_scope


def _minimize(
    loss_fn: Callable[[], tuple],
    variables: list,
    optimizer: Any,
    on_gradients: Callable[[list, Any], None] | None = None,
) -> tuple:
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
    if on_gradients is not None:
        on_gradients(gradients, optimizer)
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


def value_and_gradients(fn: Callable[[], Any], variables: list) -> tuple:
    """`jax.value_and_grad` of `fn()` over a `StatelessScope` mapping `variables`.

    Assignments `fn` makes to variables (layer state) are discarded.
    """
    outer = get_stateless_scope()

    def objective(values: list) -> Any:
        with StatelessScope() as scope:
            if outer is not None:
                scope.state_mapping.update(outer.state_mapping)
            scope.state_mapping.update((id(v), x) for v, x in zip(variables, values))
            return jax.numpy.asarray(fn(), dtype="float32")

    values = [jax.numpy.asarray(variable.value) for variable in variables]
    value, gradients = jax.value_and_grad(objective)(values)
    return value, list(gradients)


def compiled_value_and_gradients(
    fn: Callable[..., Any], variables: list, state: list
) -> Callable[..., tuple]:
    """`jax.jit` of `jax.value_and_grad` over a `StatelessScope` mapping both lists.

    The values of `variables` and `state` are arguments of the compiled
    program, read at each call (not constants of the first trace).
    """
    differentiated = {id(variable) for variable in variables}
    state = [variable for variable in state if id(variable) not in differentiated]

    def objective(values: list, state_values: list, args: list) -> Any:
        mapping = list(zip(variables, values)) + list(zip(state, state_values))
        with StatelessScope(state_mapping=mapping):
            return jax.numpy.asarray(fn(*args), dtype="float32")

    jitted = jax.jit(jax.value_and_grad(objective))

    def call(*args: Any) -> tuple:
        value, gradients = jitted(
            [jax.numpy.asarray(variable.value) for variable in variables],
            [jax.numpy.asarray(variable.value) for variable in state],
            [jax.numpy.asarray(arg) for arg in args],
        )
        return value, list(gradients)

    return call


def compiled_inference(model: Any) -> Callable[[Any], Any]:
    """`model(x, training=False)` as one `jax.jit` of `stateless_call`.

    The variables are arguments (not constants baked into the program), so
    later weights are used without retracing; nothing is donated, so the
    arrays the model's variables hold stay valid (a callback generating
    during `fit`); updated non-trainable state (seed generators) is written
    back.
    """

    def run(trainable: list, non_trainable: list, x: Any) -> tuple:
        return model.stateless_call(trainable, non_trainable, x, training=False)

    jitted = jax.jit(run)

    def call(x: Any) -> Any:
        outputs, non_trainable = jitted(
            [variable.value for variable in model.trainable_variables],
            [variable.value for variable in model.non_trainable_variables],
            x,
        )
        for variable, value in zip(model.non_trainable_variables, non_trainable):
            variable.assign(value)
        return outputs

    return call


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


@jax.jit
def _copies(values: list) -> list:
    # Outputs of a jitted function never share memory with its non-donated
    # inputs, so these are real copies, made in one dispatch.
    return [jax.numpy.copy(value) for value in values]


def copy_state(values: list, reuse: list | None = None) -> list:
    """Copies of `values` on their device, in one compiled call (`reuse` unused).

    JAX arrays are immutable, but the train step donates the state's buffers,
    so a snapshot must own its memory. One `jax.jit` call copies the whole
    state: 1.2 ms for DCGAN's 58 arrays (2.7 M values) on a 2-core CPU,
    against 6.3 ms for a Python loop of `keras.ops.copy`.
    """
    del reuse
    return _copies(list(values))


def prepare_compiled_step(model: Any) -> None:
    """Nothing to do: XLA traces Keras layers as they are."""
    del model


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Any:
    """`keras.ops.conv_transpose` with a kernel gradient that XLA:CPU runs fast.

    JAX differentiates a transposed convolution with respect to its kernel as a
    window-dilated, kernel-reversed convolution, which XLA:CPU runs on a slow
    generic path (about 1 s for DCGAN's 7x7x128 -> 14x14x64 layer at batch 64,
    30x the forward pass). The same gradient is the kernel gradient of the
    strided convolution whose input gradient this op is; TensorFlow computes it
    that way (`Conv2DBackpropFilter`). This op has the same forward pass as
    `keras.ops.conv_transpose` and computes both gradients through that strided
    convolution (a `jax.custom_vjp`: reverse mode only, as for training). On
    other platforms than the CPU (where cuDNN and TPU convolutions handle both
    forms) it is `keras.ops.conv_transpose` itself. Arguments and result as
    `gan_blocks.trainers.conv_transpose`, which dispatches here on JAX.
    """
    data_format = (data_format or keras.config.image_data_format()).lower()
    inputs = jax.numpy.asarray(inputs)
    kernel = jax.numpy.asarray(kernel)
    rank = inputs.ndim - 2

    def as_tuple(value: Any) -> tuple:
        return (value,) * rank if isinstance(value, int) else tuple(value)

    strides, dilation_rate = as_tuple(strides), as_tuple(dilation_rate)

    def forward(x: Any, k: Any) -> Any:
        return keras.ops.conv_transpose(
            x,
            k,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
        )

    if jax.default_backend() != "cpu":
        return forward(inputs, kernel)
    outputs_shape = jax.eval_shape(forward, inputs, kernel).shape
    spatial = slice(1, -1) if data_format == "channels_last" else slice(2, None)
    transposed_padding = compute_conv_transpose_padding_args_for_jax(
        inputs.shape, kernel.shape, strides, padding, output_padding, dilation_rate
    )
    # The strided convolution (outputs -> inputs) whose input gradient is
    # this op: its padding mirrors the transposed one; its high side is what
    # brings the output back to the inputs' size.
    conv_padding = []
    for size_in, size_out, k, s, d, (low, _) in zip(
        inputs.shape[spatial],
        outputs_shape[spatial],
        kernel.shape[:rank],
        strides,
        dilation_rate,
        transposed_padding,
    ):
        extent = (k - 1) * d + 1
        conv_low = extent - 1 - low
        conv_padding.append((conv_low, (size_in - 1) * s + extent - size_out - conv_low))
    if data_format == "channels_last":
        feature_spec = (0, rank + 1) + tuple(range(1, rank + 1))
    else:
        feature_spec = tuple(range(rank + 2))
    numbers = jax.lax.ConvDimensionNumbers(
        lhs_spec=feature_spec,
        rhs_spec=(rank + 1, rank) + tuple(range(rank)),
        out_spec=feature_spec,
    )

    def strided_conv(y: Any, k: Any) -> Any:
        return jax.lax.conv_general_dilated(
            y,
            k,
            window_strides=strides,
            padding=conv_padding,
            rhs_dilation=dilation_rate,
            dimension_numbers=numbers,
        )

    @jax.custom_vjp
    def op(x: Any, k: Any) -> Any:
        return forward(x, k)

    def op_forward(x: Any, k: Any) -> tuple:
        return forward(x, k), (x, k)

    def op_backward(residuals: tuple, cotangent: Any) -> tuple:
        x, k = residuals
        cotangent = cotangent.astype(x.dtype)
        x_gradient = strided_conv(cotangent, k)
        _, kernel_vjp = jax.vjp(lambda k_: strided_conv(cotangent, k_), k)
        (k_gradient,) = kernel_vjp(x)
        return x_gradient, k_gradient

    op.defvjp(op_forward, op_backward)
    return op(inputs, kernel)


def runs_on_accelerator() -> bool:
    """Whether JAX's default device is a GPU or TPU."""
    return jax.default_backend() != "cpu"


def resolve_auto_jit_compile(model: Any) -> bool:
    """What `jit_compile="auto"` means for `model` on JAX: Keras' own rule.

    `True` when the model supports XLA (every layer's `supports_jit`; Keras'
    `model_supports_jit`), on every device: JAX runs compiled steps.
    """
    from keras.src.trainers.trainer import model_supports_jit

    return bool(model_supports_jit(model))


def auto_jit_compile_begin(model: Any, planned_steps: int | None, verbose: bool) -> bool:
    """False: `"auto"` was resolved at `compile()` time, the same for every run."""
    del model, planned_steps, verbose
    return False


def replica_share(sample_fn: Callable[[Any], Any], batch_size: Any) -> Any:
    """`sample_fn(batch_size)`: JAX's data parallelism shards one global step."""
    return sample_fn(batch_size)


def random_normal(shape: tuple, seed_generator: Any, dtype: str = "float32") -> Any:
    """`keras.random.normal(shape, seed=seed_generator)`: it traces as it is."""
    return keras.random.normal(shape, seed=seed_generator, dtype=dtype)


def random_uniform(
    shape: tuple,
    seed_generator: Any,
    minval: float = 0.0,
    maxval: float = 1.0,
    dtype: str = "float32",
) -> Any:
    """`keras.random.uniform(shape, minval, maxval, seed=seed_generator)`: it traces as it is."""
    return keras.random.uniform(shape, minval, maxval, dtype=dtype, seed=seed_generator)


def random_randint(
    shape: tuple, seed_generator: Any, minval: int, maxval: int, dtype: str = "int32"
) -> Any:
    """`keras.random.randint(shape, minval, maxval, seed=seed_generator)`: it traces as it is."""
    return keras.random.randint(shape, minval, maxval, dtype=dtype, seed=seed_generator)


def callbacks_run_synchronously() -> bool:
    """Whether Keras calls batch callbacks in step with training on this backend (False here)."""
    return False


def compiled_draws_match_eager() -> bool:
    """True: `jax.random` gives the same numbers under `jit` and eagerly."""
    return True


@contextlib.contextmanager
def fit_failure_guard(model: Any) -> Iterator[None]:
    """Puts the variables' values back when `fit` raises.

    Keras' JAX `fit` empties the model's variables while it trains (their
    values travel in the step's state) and fills them at the end. A `fit`
    that raises skips that: `generate`, `save` and the next `fit` then fail
    with "'NoneType' object is not callable". After a completed step the
    latest values are in `model._jax_state` (`jax_state_sync`); before one
    (bad data found while the first step is traced) they are the values the
    variables held when `fit` began, kept here by reference (no copy).
    """
    variables = [
        *model.trainable_variables,
        *model.non_trainable_variables,
        *(model.optimizer.variables if model.optimizer is not None else []),
        *model.metrics_variables,
    ]
    values = [variable._value for variable in variables]
    try:
        yield
    except BaseException:
        sync_model_state(model)  # The latest step's values, where a step completed.
        for variable, value in zip(variables, values):
            if variable._value is None:
                variable._value = value
        raise


def check_distribution(strategy: Any = None) -> None:
    """Nothing to refuse: `keras.distribution` (one or several hosts) trains as it is."""
    del strategy


def ensure_shape(x: Any, shape: tuple, name: str) -> Any:
    """`x`: steps are traced with concrete shapes, which the caller checks in Python."""
    del shape, name
    return x


def concrete_values(x: Any) -> Any:
    """`x` as numpy, or `None` while JAX traces it (inside `jit` or `grad`)."""
    if isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x)


def sync_model_state(model: Any) -> None:
    """Readies `model`'s variables for assignment between steps.

    Keras empties JAX variables during `fit` (their values travel in the
    step's state); `jax_state_sync` gives them their values back.
    """
    model.jax_state_sync()
