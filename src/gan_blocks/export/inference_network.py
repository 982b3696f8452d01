"""`inference_network`: the deterministic float32 network that `export_generator` serves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from gan_blocks.export.float32_clone import float32_clone
from gan_blocks.layers.noise_injection import NoiseInjection
from gan_blocks.models.conditional_gan import ConditionalGAN
from gan_blocks.models.cycle_gan import DIRECTIONS, CycleGAN
from gan_blocks.models.gan import GAN
from gan_blocks.models.pix2pix import Pix2Pix
from gan_blocks.models.stylegan2 import StyleGAN2Training
from gan_blocks.models.vae import VAE
from gan_blocks.validation import check_int, check_number

EXPORTABLE = (GAN, ConditionalGAN, Pix2Pix, CycleGAN, VAE)
NOISE_MODES = ("const", "none")
VAE_PARTS = ("decoder", "encoder")


class _InferenceForward(keras.layers.Layer):
    """The served graph's one node: `forward(*inputs)` on held float32 networks."""

    def __init__(self, networks: list, function: Callable[..., Any], **kwargs: Any):
        super().__init__(dtype="float32", **kwargs)
        self.networks = list(networks)  # Tracked, so their weights are exported.
        # Not `self.forward`: a torch-backend layer is a `torch.nn.Module`.
        self.function = function
        self.built = True

    def call(self, inputs: list) -> Any:
        return self.function(*inputs)


def _set_noise_mode(network: keras.Model, noise_mode: str) -> None:
    for layer in network._flatten_layers():
        if isinstance(layer, NoiseInjection):
            layer.noise_mode = noise_mode


def _refuse(name: str, value: Any, model: Any, why: str) -> None:
    if value is not None:
        raise ValueError(
            f"`{name}` does not apply to a {type(model).__name__}: {why}. "
            f"Received: {name}={value!r}"
        )


def _no_truncation(model: Any, truncation: Any, cutoff: Any) -> None:
    if isinstance(model, GAN):
        why = (
            "its `generate(truncation=...)` redraws latents beyond a bound, a random "
            "step that stays outside the exported graph; feed latents drawn with "
            "gb.latents.truncated_normal(shape, truncation, seed) to the exported network"
        )
    else:
        why = "it has no latent space to truncate"
    _refuse("truncation", truncation, model, why)
    _refuse("truncation_cutoff", cutoff, model, "only StyleGAN2 truncates in W")


def _checked_psi(model: Any, truncation: Any, cutoff: Any) -> float:
    psi = 1.0 if truncation is None else check_number("truncation", truncation)
    if cutoff is not None:
        cutoff = check_int("truncation_cutoff", cutoff, minimum=0)
    model._check_truncation(psi, cutoff)
    return psi


def _generator_plan(model: GAN, network: keras.Model, psi: float, cutoff: Any) -> tuple:
    """Inputs and forward function of a (conditional) GAN or StyleGAN2 generator."""
    conditional = isinstance(model, ConditionalGAN)
    inputs = [("latents", model.latent_shape, "float32")]
    if conditional:
        inputs.append(("labels", (), "int32"))

    def condition(z: Any, labels: Any) -> Any:
        if not conditional:
            return z
        return [z, model._shaped(ops.cast(labels, "int32"), model._generator_label_shape)]

    if isinstance(model, StyleGAN2Training):
        mapping, synthesis = network.get_layer("mapping"), network.get_layer("synthesis")

        def forward(z: Any, labels: Any = None) -> Any:
            ws = mapping(condition(z, labels), training=False)
            if psi != 1.0:
                ws = mapping.truncate(ws, psi, cutoff)
            return {"images": synthesis(ws, training=False)}

    else:

        def forward(z: Any, labels: Any = None) -> Any:
            return {"images": network(condition(z, labels), training=False)}

    return inputs, forward


Builder = Callable[[keras.Model], tuple[list, Callable[..., Any]]]


def _translator(shape: tuple) -> Builder:
    def build(network: keras.Model) -> tuple[list, Callable[..., Any]]:
        return [("images", shape, "float32")], lambda x: {"images": network(x, training=False)}

    return build


def _encoder(shape: tuple) -> Builder:
    def build(network: keras.Model) -> tuple[list, Callable[..., Any]]:
        def forward(images: Any) -> Any:
            z_mean, z_log_var = network(images, training=False)
            return {"z_mean": z_mean, "z_log_var": z_log_var}

        return [("images", shape, "float32")], forward

    return build


def _decoder(model: VAE) -> Builder:
    def build(network: keras.Model) -> tuple[list, Callable[..., Any]]:
        # The likelihood's mean (e.g. the sigmoid of Bernoulli logits), as `VAE.decode`.
        def forward(z: Any) -> Any:
            return {"images": model.likelihood.mean(network(z, training=False))}

        return [("latents", (model.latent_dim,), "float32")], forward

    return build


def _plan(
    model: Any,
    use_ema: bool,
    truncation: Any,
    cutoff: Any,
    part: str | None,
    direction: str | None,
) -> tuple[keras.Model, Builder]:
    """The network to serve, and the builder of its inputs and forward function."""
    if not isinstance(model, EXPORTABLE):
        raise TypeError(
            "export_generator takes a gan-blocks model with a generator (GAN, "
            "ConditionalGAN, StyleGAN2, ConditionalStyleGAN2, Pix2Pix, CycleGAN) or a "
            f"VAE; received a {type(model).__name__}. Export a plain Keras model with "
            "model.export(path, format=...)."
        )
    if not isinstance(model, VAE):
        _refuse("part", part, model, "only a VAE has parts (decoder, encoder)")
    if not isinstance(model, CycleGAN):
        _refuse("direction", direction, model, "only a CycleGAN translates both ways")
    if not isinstance(model, StyleGAN2Training):
        _no_truncation(model, truncation, cutoff)
    if isinstance(model, VAE):
        part = "decoder" if part is None else part
        if part not in VAE_PARTS:
            raise ValueError(f"`part` must be one of {VAE_PARTS}. Received: part={part!r}")
        if part == "encoder":
            return model.encoder, _encoder(model.image_shape)
        return model.decoder, _decoder(model)
    if isinstance(model, CycleGAN):
        direction = "a_to_b" if direction is None else direction
        if direction not in DIRECTIONS:
            raise ValueError(
                f"`direction` must be one of {DIRECTIONS}. Received: direction={direction!r}"
            )
        if direction == "a_to_b":
            return model.select_network("generator_ab", use_ema), _translator(model.shape_a)
        return model.select_network("generator_ba", use_ema), _translator(model.shape_b)
    if isinstance(model, Pix2Pix):
        return model.select_network("generator", use_ema), _translator(model.source_shape)
    psi = _checked_psi(model, truncation, cutoff) if isinstance(model, StyleGAN2Training) else 1.0
    network = model.select_network("generator", use_ema)
    return network, lambda clone: _generator_plan(model, clone, psi, cutoff)


def inference_network(
    model: keras.Model,
    use_ema: bool = True,
    batch_size: int | None = None,
    truncation: float | None = None,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    part: str | None = None,
    direction: str | None = None,
) -> keras.Model:
    """The float32 functional model that `export_generator` exports.

    It holds a float32 clone of the served network (the EMA generator by
    default), takes named inputs and returns a dict of named outputs; it
    samples nothing: latents come in as an input, StyleGAN2's noise is the
    fixed `const_noise` (or none), and normalization layers run in inference
    mode (moving statistics; no power-iteration update of spectral norms).

    | Model | Inputs | Outputs |
    |---|---|---|
    | `GAN`, `StyleGAN2` | `latents` `(batch, latent_dim)` float32 | `images` |
    | `ConditionalGAN`, `ConditionalStyleGAN2` | `latents`, `labels` (int32 ids) | `images` |
    | `Pix2Pix`, `CycleGAN` (`direction`) | `images` (source domain) | `images` |
    | `VAE`, `part="decoder"` | `latents` | `images` (the likelihood's mean, as `VAE.decode`) |
    | `VAE`, `part="encoder"` | `images` | `z_mean`, `z_log_var` |

    Args:
        model: A trained gan-blocks model (see the table).
        use_ema: Serve the EMA generator where the model keeps one.
        batch_size: A fixed batch size; `None` leaves the batch dimension free.
        truncation: StyleGAN2 only: psi of the truncation in W towards the
            saved W average, applied in the graph (`None` or 1: none). A plain
            `GAN`'s truncation redraws latents, which is random: it is
            refused here; feed latents from `gb.latents.truncated_normal`.
        truncation_cutoff: StyleGAN2 only: truncate the first `cutoff` styles.
        noise_mode: `"const"` (StyleGAN2's fixed noise images, as
            `generate(noise_mode="const")`) or `"none"`; applies to every
            `gb.layers.NoiseInjection` of the network.
        part: VAE only: `"decoder"` (default) or `"encoder"`.
        direction: CycleGAN only: `"a_to_b"` (default, `generator_ab`) or
            `"b_to_a"`.

    Returns:
        A built functional `keras.Model` with float32 weights.

    Raises:
        TypeError: For a model without a generator (or decoder).
        ValueError: For arguments that do not apply to the model, a random
            noise mode, or a network that was never built.

    Example:
    >>> import keras, numpy as np, gan_blocks as gb
    >>> generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> gan = gb.models.GAN(generator, discriminator, latent_dim=4)
    >>> served = gb.export.inference_network(gan)
    >>> [tensor.name for tensor in served.inputs], list(served.output)
    (['latents'], ['images'])
    >>> z = np.ones((3, 4), "float32")
    >>> images = keras.ops.convert_to_numpy(served(z)["images"])
    >>> bool(np.allclose(images, gan.generate(latents=z), atol=1e-6))
    True
    """
    if noise_mode not in NOISE_MODES:
        raise ValueError(
            f"`noise_mode` must be one of {NOISE_MODES}: nothing random is sampled inside "
            f"an exported graph. Received: noise_mode={noise_mode!r}"
        )
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    network, build = _plan(model, use_ema, truncation, truncation_cutoff, part, direction)
    clone = float32_clone(network)
    _set_noise_mode(clone, noise_mode)
    inputs, forward = build(clone)
    tensors = [
        keras.Input(shape, batch_size=batch_size, dtype=dtype, name=name)
        for name, shape, dtype in inputs
    ]
    outputs = _InferenceForward([clone], forward, name="forward")(tensors)
    inputs = tensors if len(tensors) > 1 else tensors[0]
    return keras.Model(inputs, outputs, name=f"{model.name}_inference")
