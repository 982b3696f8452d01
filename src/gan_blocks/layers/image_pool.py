"""`ImagePool`: CycleGAN's history of generated images, as layer state."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import random
from gan_blocks.validation import check_int


@gan_blocks_export()
class ImagePool(keras.layers.Layer):
    """A buffer of past generated images shown to the discriminator (Shrivastava et al.).

    In training mode, each incoming image fills the pool until it holds
    `pool_size` images and is returned unchanged; once the pool is full, with
    probability 0.5 a stored image is returned instead and the incoming one
    takes its place, else the incoming image is returned. Outside training, or
    with `pool_size=0`, images pass through. The pool and its fill count are
    non-trainable variables, and the draws come from the layer's
    `SeedGenerator`: all three are saved with the model, so a resumed run
    continues exactly. Gradients do not flow through the pool. With batches
    larger than one (the paper uses batch 1), two images of a batch can draw
    the same slot: the later one is stored, so the pool only ever holds (and
    returns) images the generator produced. A swap only reads slots filled
    before the step.

    Args:
        pool_size: Number of stored images (50 in CycleGAN); 0 disables it.
        seed: Seed of the layer's `SeedGenerator`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Call arguments:
        images: A batch of generated images.
        training: Whether to query and update the pool.

    Returns:
        A batch of the same shape: a mix of the new and stored images.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> pool = gb.layers.ImagePool(pool_size=4, seed=0)
    >>> out = pool(np.ones((2, 8, 8, 3), "float32"), training=True)
    >>> tuple(out.shape), int(keras.ops.convert_to_numpy(pool.count))
    ((2, 8, 8, 3), 2)

    Reference:
        Shrivastava et al., "Learning from Simulated and Unsupervised Images
        through Adversarial Training", CVPR 2017; Zhu et al., "Unpaired
        Image-to-Image Translation using Cycle-Consistent Adversarial
        Networks", ICCV 2017.
    """

    def __init__(self, pool_size: int = 50, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.pool_size = check_int("pool_size", pool_size, minimum=0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="image_pool_seed")

    def build(self, input_shape: tuple) -> None:
        image_shape = tuple(input_shape[1:])
        if any(d is None for d in image_shape):
            raise ValueError(
                f"ImagePool needs a fixed image shape; received input shape {input_shape}."
            )
        self.images = self.add_weight(
            shape=(max(self.pool_size, 1),) + image_shape,
            initializer="zeros",
            dtype="float32",
            trainable=False,
            name="images",
        )
        self.count = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="count"
        )

    def call(self, images: Any, training: bool | None = None) -> Any:
        if not training or self.pool_size == 0:
            return images
        dtype = images.dtype
        fresh = ops.cast(ops.stop_gradient(images), "float32")
        batch_size = ops.shape(fresh)[0]
        pool = ops.convert_to_tensor(self.images)
        count = ops.convert_to_tensor(self.count)
        slots = ops.arange(batch_size, dtype="int32") + count
        filling = slots < self.pool_size
        coin = random.bernoulli((batch_size,), 0.5, self.seed_generator)
        # A swap reads the pool as it was before this step: only the slots
        # filled then hold generated images (the others are still zeros).
        filled = ops.minimum(count, self.pool_size)
        position = random.uniform((batch_size,), self.seed_generator) * ops.cast(filled, "float32")
        random_slots = ops.minimum(ops.cast(position, "int32"), ops.maximum(filled - 1, 0))
        index = ops.where(filling, slots, random_slots)
        swap = ops.logical_and(ops.logical_and(ops.logical_not(filling), coin), filled > 0)
        broadcast = (-1,) + (1,) * (len(fresh.shape) - 1)
        stored = ops.take(pool, index, axis=0)
        output = ops.where(ops.reshape(swap, broadcast), stored, fresh)
        # Write the fresh images into their slots; of two writes to one slot
        # the later is kept (a mean would be an image never generated).
        write = ops.logical_or(filling, coin)
        order = ops.arange(batch_size, dtype="int32")
        overwritten = ops.any(
            ops.equal(index[:, None], index[None, :])
            & (order[None, :] > order[:, None])
            & write[None, :],
            axis=1,
        )
        write = ops.cast(ops.logical_and(write, ops.logical_not(overwritten)), "float32")
        weights = ops.one_hot(index, self.pool_size, dtype="float32") * write[:, None]
        hits = ops.sum(weights, axis=0)
        flat_fresh = ops.reshape(fresh, (batch_size, -1))
        written = ops.matmul(ops.transpose(weights), flat_fresh) / ops.maximum(hits, 1.0)[:, None]
        flat_pool = ops.reshape(pool, (self.pool_size, -1))
        new_pool = ops.where(hits[:, None] > 0, written, flat_pool)
        self.images.assign(ops.reshape(new_pool, ops.shape(pool)))
        count = ops.convert_to_tensor(self.count) + batch_size
        self.count.assign(ops.minimum(count, self.pool_size))
        return ops.cast(output, dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(pool_size=self.pool_size, seed=self.seed)
        return config
