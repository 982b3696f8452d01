"""gan-blocks: Keras 3 building blocks for GANs and VAEs.

Importing this package imports Keras (and so the active Keras backend) and
nothing else heavy: TensorFlow is only imported when it is the active backend or
when a `tf.data`/tfds feature is used.
"""

from gan_blocks import (
    architectures,
    backend,
    callbacks,
    data,
    export,
    latents,
    layers,
    losses,
    metrics,
    models,
    plugins,
    registry,
    testing,
    trainers,
)
from gan_blocks.version import __version__

__all__ = [
    "__version__",
    "architectures",
    "backend",
    "callbacks",
    "data",
    "export",
    "latents",
    "layers",
    "losses",
    "metrics",
    "models",
    "plugins",
    "registry",
    "testing",
    "trainers",
]
