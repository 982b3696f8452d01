"""StyleGAN2's path-length regularizer, a regularizer of the generator."""

from __future__ import annotations

import math
from typing import Any

from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import input_gradients, random
from gan_blocks.losses.regularizer import Regularizer, RegularizerContext, check_weight
from gan_blocks.validation import check_int, check_number


def path_lengths(network: Any, latents: Any, noise: Any) -> Any:
    """The Jacobian-vector lengths `||J(w)^T y||` of `network` at `latents`.

    With `y = noise / sqrt(H * W)` (as StyleGAN2 scales its image-space
    noise), `J^T y` is the gradient of `sum(network(w) * y)` with respect to
    `w`. For W+ latents of shape `(batch, num_ws, w_dim)` the squared norm is
    averaged over the `num_ws` rows (NVlabs' `square().sum(2).mean(1)`).

    Args:
        network: Latents -> images.
        latents: Points in latent space, `(batch, dim)` or `(batch, num_ws, dim)`.
        noise: Standard-normal images, the network's output shape.

    Returns:
        A `(batch,)` float32 tensor, differentiable with respect to the
        network's weights.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> from keras import ops
    >>> network = lambda w: ops.reshape(3.0 * w, (-1, 1, 2, 1))   # J = 3 I
    >>> noise = np.ones((1, 1, 2, 1), "float32")   # y = noise / sqrt(2)
    >>> lengths = gb.losses.path_lengths(network, np.ones((1, 2), "float32"), noise)
    >>> round(float(lengths[0]), 4)   # ||3 y|| = 3
    3.0
    """
    latents = ops.stop_gradient(ops.cast(ops.convert_to_tensor(latents), "float32"))
    noise = ops.cast(ops.convert_to_tensor(noise), "float32")
    pixels = math.prod(int(d) for d in noise.shape[1:-1])
    scaled_noise = noise / math.sqrt(pixels)
    gradients = input_gradients(lambda w: ops.cast(network(w), "float32") * scaled_noise, latents)
    squared = ops.square(ops.cast(gradients, "float32"))
    squared = ops.sum(squared, axis=-1)
    if len(squared.shape) > 1:
        squared = ops.mean(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=1)
    return ops.sqrt(squared + 1e-12)


@gan_blocks_export(kind="penalty", name="path_length")
class PathLengthPenalty(Regularizer):
    """StyleGAN2's path-length regularizer `weight * E[(||J^T y|| - a)^2]`.

    Encourages a fixed-size step in the latent space (W for StyleGAN2) to
    give a fixed-magnitude change of the image, whatever the direction: `J`
    is the generator's Jacobian at the latents, `y` random images (normal,
    scaled by `1/sqrt(H*W)`), and `a` the running mean of the lengths
    (`decay` 0.01), kept as the regularizer's state and saved with the model.
    It makes the generator smoother and easier to invert (projection).

    A regularizer of the generator: `compile(regularizers={"generator":
    [gb.losses.PathLengthPenalty()]})`. `gb.models.StyleGAN2` hands it the
    synthesis network and the W latents; in other models it sees the
    generator and its input latents. With `batch_shrink=2` it uses half the
    batch, with `every=4` it runs on every 4th generator step (scaled by 4,
    StyleGAN2's lazy regularization). The gradient reaches the generator's
    weights through a double backpropagation, as for R1.

    Args:
        weight: Coefficient (StyleGAN2: 2).
        decay: Rate of the running mean of the path lengths.
        batch_shrink: Divide the batch by this for the penalty (>= 1).
        every: Apply on every `every`-th generator step.
        name: Log key, default `"path_length_penalty"`.

    Call arguments:
        context: A `gb.losses.RegularizerContext` with `network` (latents
            -> images), `latents` and `fake_images` (for the image shape);
            `state` holds the running mean (`None`: the mean of this batch).

    Returns:
        The scalar penalty, float32.

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> penalty = gb.losses.PathLengthPenalty(weight=2.0, batch_shrink=1)
    >>> context = gb.losses.RegularizerContext(
    ...     "generator", network=lambda w: w[:, :, None, None],
    ...     latents=np.ones((4, 3), "float32"), fake_images=np.zeros((4, 3, 1, 1), "float32"))
    >>> float(penalty(context)) >= 0.0
    True
    >>> sorted(penalty.state_spec())
    ['mean']

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of
        StyleGAN", CVPR 2020.
    """

    def __init__(
        self,
        weight: float = 2.0,
        decay: float = 0.01,
        batch_shrink: int = 2,
        every: int = 4,
        name: str | None = None,
    ):
        super().__init__(every=every, name=name)
        self.weight = check_weight("weight", weight)
        self.decay = check_number("decay", decay, minimum=0.0, maximum=1.0)
        self.batch_shrink = check_int("batch_shrink", batch_shrink, minimum=1)

    def state_spec(self) -> dict[str, float]:
        """The running mean of the path lengths, starting at 0."""
        return {"mean": 0.0}

    def _batch(self, context: RegularizerContext) -> Any:
        if context.latents is None or context.fake_images is None:
            raise ValueError(
                "PathLengthPenalty needs the generator's `latents` and `fake_images` in its "
                "context: use it as a generator regularizer, "
                'compile(regularizers={"generator": [PathLengthPenalty()]}).'
            )
        batch = context.latents.shape[0]
        if batch is None:
            # A graph traced for any batch size (TensorFlow, with a smaller
            # last batch): the size is a tensor.
            batch = ops.shape(context.latents)[0]
            return ops.maximum(batch // self.batch_shrink, 1)
        return max(1, int(batch) // self.batch_shrink)

    def draw(self, context: RegularizerContext) -> Any:
        """The image-space noise `y` of this step (drawn outside the lazy branch)."""
        batch = self._batch(context)
        shape = (batch,) + tuple(int(d) for d in context.fake_images.shape[1:])
        seed = context.seed_generator
        return random.normal(shape, seed if seed is not None else 0)

    def compute(self, context: RegularizerContext) -> Any:
        batch = self._batch(context)
        latents = ops.convert_to_tensor(context.latents)[:batch]
        lengths = path_lengths(context.network, latents, context.draws)
        batch_mean = ops.stop_gradient(ops.mean(lengths))
        if context.state is None:
            mean = batch_mean
        else:
            previous = ops.cast(ops.convert_to_tensor(context.state["mean"]), "float32")
            mean = previous + self.decay * (batch_mean - previous)
        penalty = self.weight * ops.mean(ops.square(lengths - mean))
        if context.state is None:
            return penalty
        return penalty, {"mean": mean}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(weight=self.weight, decay=self.decay, batch_shrink=self.batch_shrink)
        return config
