"""StyleGAN2 generation as one Keras model, so that it runs compiled."""

from __future__ import annotations

import weakref
from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.backend import compiled_inference
from gan_blocks.models.batch_helpers import BatchHelpers

# Requests of at least this many batches run compiled: the one-off trace
# (seconds on TensorFlow, more on JAX) pays back over the batches, while a
# sample grid or a test's handful of images stays eager.
COMPILED_MIN_BATCHES = 2


def runs_compiled(count: int, batch_size: int) -> bool:
    """Whether generating `count` images in batches of `batch_size` uses `StyledGeneration`."""
    return batch_size >= 1 and count >= COMPILED_MIN_BATCHES * batch_size


class StyledGeneration(keras.Model):
    """z (and labels) -> W -> truncation -> synthesis, or W -> synthesis, as one model.

    `StyleGAN2.generate` and `synthesize` call the mapping and synthesis
    networks eagerly for a few images; for many they run this model's
    call compiled by `gb.backend.compiled_inference` (`jax.jit`,
    `tf.function`; eager without gradients on torch), so JAX does not
    dispatch the generator op by op. It shares the model's layers (and so
    its current weights, W average and noise images); the settings are fixed
    per instance, so the caller keeps one instance per setting. Noise modes
    are those of the synthesis network's `NoiseInjection` layers when the
    compiled call traces (the caller sets them; they are part of the
    caller's key).

    Args:
        synthesis: The synthesis network (W latents -> images).
        mapping: The mapping network, or `None` when the inputs are W.
        truncation_psi: Truncation towards the W average (1: none).
        truncation_cutoff: Rows truncated (`None`: all).
        conditional: Whether the inputs are `[z, labels]`.
    """

    def __init__(
        self,
        synthesis: keras.Model,
        mapping: Any = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        conditional: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.synthesis = synthesis
        self.mapping = mapping
        self.truncation_psi = float(truncation_psi)
        self.truncation_cutoff = truncation_cutoff
        self.conditional = bool(conditional)
        self._compiled = None
        # The networks are built already: nothing to create on a first call.
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        # Inference only: `training` is accepted (Keras passes it) and ignored.
        if self.mapping is None:
            ws = inputs
        else:
            ws = self.mapping(list(inputs) if self.conditional else inputs, training=False)
            if self.truncation_psi != 1.0:
                ws = self.mapping.truncate(ws, self.truncation_psi, self.truncation_cutoff)
        return self.synthesis(ws, training=False)

    def run_in_batches(self, inputs: Any, batch_size: int) -> np.ndarray:
        """This model on `inputs`, compiled, in batches padded to one shape.

        The last batch is padded by repeating its last row, so the compiled
        function traces once; the padding rows are dropped.

        Args:
            inputs: An array, or a list of arrays of one length.
            batch_size: Batch size.

        Returns:
            Float32 numpy outputs for the inputs.
        """
        if self._compiled is None:
            self._compiled = compiled_inference(self)
        several = isinstance(inputs, (list, tuple))
        arrays = [np.asarray(ops.convert_to_numpy(x)) for x in (inputs if several else [inputs])]
        return BatchHelpers.predict_in_batches(
            self._compiled, arrays if several else arrays[0], batch_size, pad_last_batch=True
        )


def styled_generation(owner: Any, key: tuple, build: Any) -> StyledGeneration:
    """The `StyledGeneration` of `owner` (a StyleGAN2) for settings `key`, built once.

    Kept outside the model's attributes: a model attribute would be tracked
    as a sub-layer and saved with it.
    """
    cache = _CACHE.setdefault(owner, {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
