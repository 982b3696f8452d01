"""The private Keras names gan-blocks uses, each with the reason.

Keras' public API has no equivalent for these; they are imported only by the
trainer modules of their backend. `tests/backend/test_keras_internals.py`
imports every one (so a Keras upgrade that moves or removes one fails the
tests loudly, not a user's training run) and checks that `src/` uses no
other `keras.src` name.
"""

from __future__ import annotations

# (module, name, where it is used and why there is no public alternative)
KERAS_INTERNALS: tuple[tuple[str, str, str], ...] = (
    (
        "keras.src.backend.common.backend_utils",
        "compute_conv_transpose_padding_args_for_jax",
        "trainers/jax.py conv_transpose: the exact padding Keras' own JAX "
        "conv_transpose uses, so the faster gradient path gives the same result.",
    ),
    (
        "keras.src.backend.common.stateless_scope",
        "get_stateless_scope",
        "trainers/jax.py: reads the variable values of the stateless scope "
        "Keras' JAX trainer runs the step in.",
    ),
    (
        "keras.src.trainers.trainer",
        "model_supports_jit",
        "trainers/tensorflow.py and jax.py resolve_auto_jit_compile: Keras' own "
        "rule for whether every layer supports XLA.",
    ),
    (
        "keras.src.utils.backend_utils",
        "DynamicBackend",
        "trainers/torch.py prepare_compiled_step: preprocessing layers bound to "
        "a DynamicBackend stop TorchDynamo; they are rebound to the torch module.",
    ),
    (
        "keras.src.backend.torch.core",
        "get_device",
        "trainers/torch.py runs_on_accelerator: the device Keras places tensors on.",
    ),
    (
        "keras.src.backend.torch.core",
        "to_torch_dtype",
        "trainers/torch.py random draws: Keras' dtype names to torch dtypes.",
    ),
    (
        "keras.src.backend.torch",
        "nn",
        "trainers/torch_conv_kernels.py: the module whose kernel transpose is "
        "wrapped (next entry).",
    ),
    (
        "keras.src.backend.torch.nn",
        "_transpose_conv_kernel",
        "trainers/torch_conv_kernels.py: copies kernels with a size-1 channel "
        "dimension into canonical strides, without which torch's float16/bfloat16 "
        "CPU convolutions fail in backward on CPUs without AVX-512.",
    ),
    (
        "keras.src.backend",
        "torch",
        "trainers/torch.py prepare_compiled_step: the torch backend module "
        "preprocessing layers are rebound to.",
    ),
)
