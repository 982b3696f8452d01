"""`VAE`: a variational autoencoder whose ELBO terms `fit` and `evaluate` log."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks import registry
from gan_blocks.api_export import gan_blocks_export
from gan_blocks.backend import random
from gan_blocks.layers.reparameterized_sampling import ReparameterizedSampling
from gan_blocks.losses.likelihood import Likelihood
from gan_blocks.models import input_checks
from gan_blocks.models.adversarial_optimizer import serialize_optimizer
from gan_blocks.models.trained_model import TrainedModel


def _likelihood(reconstruction: Any) -> Likelihood:
    if isinstance(reconstruction, Likelihood):
        return reconstruction
    if isinstance(reconstruction, dict):
        return keras.saving.deserialize_keras_object(reconstruction)
    if isinstance(reconstruction, str) and reconstruction in registry.names("likelihood"):
        return registry.get("likelihood", reconstruction)()
    raise ValueError(
        f"`reconstruction` must be one of {registry.names('likelihood')} or a "
        f"gb.losses.Likelihood (e.g. GaussianLikelihood(variance='learned')). "
        f"Received: reconstruction={reconstruction!r}"
    )


@gan_blocks_export()
class VAE(TrainedModel):
    """Variational autoencoder trained by `fit` on images (no labels).

    The encoder returns `(z_mean, z_log_var)`; `z` is sampled with the
    reparameterization trick (`gb.layers.ReparameterizedSampling`); the decoder
    returns the parameters of a per-pixel likelihood (a `gb.losses.Likelihood`):
    Bernoulli logits (`reconstruction="bernoulli"`, data in [0, 1]), Gaussian
    means with unit variance (`"gaussian"`), or any likelihood object, e.g.
    `gb.losses.GaussianLikelihood(variance="learned")`. `fit` and
    `evaluate` log `loss`, `reconstruction_loss` and `kl_loss` in nats per
    example (summed over pixels, averaged over the batch);
    `loss = reconstruction_loss + beta * kl_loss` is the negative ELBO for
    `beta = 1`.

    Args:
        encoder: Model from images to `[z_mean, z_log_var]`.
        decoder: Model from latents to images (logits or means).
        beta: Weight of the KL term (beta-VAE, Higgins et al. 2017).
        reconstruction: `"bernoulli"`, `"gaussian"` or a `gb.losses.Likelihood`.
        seed: Seed of the sampling noise.
        **kwargs: `keras.Model` arguments.

    Example:
    >>> import numpy as np, keras, gan_blocks as gb
    >>> vae = gb.models.VAE(gb.architectures.vae_encoder((8, 8, 1), 2),
    ...                     gb.architectures.vae_decoder(2, (8, 8, 1)), seed=0)
    >>> vae.compile(keras.optimizers.Adam(1e-3))
    >>> images = np.random.rand(16, 8, 8, 1).astype("float32")
    >>> sorted(vae.fit(images, batch_size=8, verbose=0).history)
    ['kl_loss', 'loss', 'reconstruction_loss']
    >>> vae.generate(num_samples=2, seed=0).shape
    (2, 8, 8, 1)

    Reference:
        Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """

    # What the NaN guard names as likely causes, besides the data and the learning rate.
    non_finite_loss_causes = (
        "images far from the decoder's scale (e.g. unscaled 0..255 pixels), an encoder "
        "log-variance so large that its exponential overflows"
    )

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        beta: float = 1.0,
        reconstruction: str | Likelihood = "bernoulli",
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        likelihood = _likelihood(reconstruction)
        if beta < 0:
            raise ValueError(f"`beta` must be >= 0. Received: beta={beta}")
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        # The name given, or the likelihood's registered name (for messages).
        self.reconstruction = (
            reconstruction if isinstance(reconstruction, str) else type(likelihood).__name__
        )
        self._reconstruction_config = reconstruction if isinstance(reconstruction, str) else None
        self.likelihood = likelihood
        self.seed = seed
        self.sampling = ReparameterizedSampling(seed=seed, name="sampling")
        decoder_inputs = getattr(decoder, "inputs", None)
        if not decoder_inputs:
            raise ValueError("The decoder must have a known input shape (a functional model).")
        self.latent_dim = int(decoder_inputs[0].shape[-1])
        encoder_inputs = getattr(encoder, "inputs", None)
        self.image_shape = tuple(encoder_inputs[0].shape[1:]) if encoder_inputs else None
        outputs = getattr(encoder, "outputs", None)
        if outputs is not None and len(outputs) != 2:
            raise ValueError(
                f"The encoder must return [z_mean, z_log_var]; it has {len(outputs)} outputs."
            )
        if outputs is not None:
            sizes = [output.shape[-1] for output in outputs]
            if any(size is not None and size != self.latent_dim for size in sizes):
                raise ValueError(
                    f"The encoder returns z_mean and z_log_var of sizes {sizes[0]} and "
                    f"{sizes[1]}, but the decoder takes latents of size {self.latent_dim}: "
                    "build both with one latent_dim."
                )
        decoder_outputs = getattr(decoder, "outputs", None)
        if self.image_shape is not None and decoder_outputs:
            decoded = tuple(decoder_outputs[0].shape[1:])
            if len(decoded) != len(self.image_shape) or any(
                a is not None and b is not None and a != b
                for a, b in zip(decoded, self.image_shape)
            ):
                raise ValueError(
                    f"The decoder produces images of shape {decoded}, but the encoder takes "
                    f"images of shape {self.image_shape}: the reconstruction loss compares "
                    "them, so they must match."
                )
        if not likelihood.built and decoder_outputs:
            likelihood.build(tuple(decoder_outputs[0].shape))
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def compile(
        self, optimizer: Any = "adam", jit_compile: bool | str = "auto", **kwargs: Any
    ) -> None:
        """Configures the optimizer (`loss` and `metrics` are fixed by the ELBO).

        Args:
            optimizer: Optimizer or its name.
            jit_compile: `"auto"` as in `gb.models.AdversarialModel.compile`
                (`gan_blocks.trainers.resolve_auto_jit_compile`).
            **kwargs: Passed to `keras.Model.compile`.
        """
        for key in ("loss", "metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(f"VAE.compile does not take `{key}`: the loss is the ELBO.")
            kwargs.pop(key, None)
        jit_compile = self.resolve_jit_compile(jit_compile, kwargs.get("run_eagerly", False))
        super().compile(optimizer=optimizer, jit_compile=jit_compile, **kwargs)

    def get_compile_config(self) -> dict[str, Any]:
        if not self.compiled:
            return {}
        return {
            "optimizer": serialize_optimizer(self.optimizer),
            "jit_compile": self.jit_compile_argument,
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        config = dict(config)
        config["optimizer"] = keras.saving.deserialize_keras_object(config["optimizer"])
        self.compile(**config)
        self.optimizer.build(self.trainable_variables)

    # ------------------------------------------------------------ the ELBO
    def elbo_terms(self, images: Any, training: bool = False) -> tuple[Any, Any, Any]:
        """Returns `(loss, reconstruction_loss, kl_loss)` in nats per example."""
        images = ops.cast(images, "float32")
        z_mean, z_log_var = self.encoder(images, training=training)
        z_mean, z_log_var = ops.cast(z_mean, "float32"), ops.cast(z_log_var, "float32")
        z = self.sampling([z_mean, z_log_var])
        outputs = self.decoder(z, training=training)
        reconstruction = ops.mean(self.likelihood.negative_log_likelihood(images, outputs))
        kl = -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
        kl = ops.mean(kl)
        return reconstruction + self.beta * kl, reconstruction, kl

    def _track(self, loss: Any, reconstruction: Any, kl: Any) -> dict:
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {metric.name: metric.result() for metric in self.metrics}

    @staticmethod
    def _images(data: Any) -> Any:
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return x[0] if isinstance(x, (list, tuple)) else x

    def optimization_step(self, data: Any, minimize: Any) -> dict:
        """One training step (shared by every backend; see `gan_blocks.trainers`)."""
        images = self._images(data)

        def loss_fn() -> tuple:
            loss, reconstruction, kl = self.elbo_terms(images, training=True)
            return loss, {"reconstruction_loss": reconstruction, "kl_loss": kl}

        loss, aux = minimize(loss_fn, self.trainable_variables, self.optimizer)
        return self._track(loss, aux["reconstruction_loss"], aux["kl_loss"])

    def evaluation_step(self, data: Any) -> dict:
        """One evaluation step: the same ELBO terms, in inference mode."""
        return self._track(*self.elbo_terms(self._images(data), training=False))

    def check_training_data(self, x: Any, y: Any) -> None:
        """Refuses NaN or infinite values and data outside the likelihood's support.

        A numpy array is checked in full; for `reconstruction="bernoulli"`,
        values outside [0, 1] are refused with how to scale them.
        """
        self._check_data(x)

    def _check_data(self, x: Any) -> None:
        sample = input_checks.peek_batch(x)
        if sample is None:
            return
        input_checks.check_image_range(sample, activation=None)  # NaN and inf.
        self.likelihood.check_data(np.asarray(sample))

    # ------------------------------------------------------------ public API
    def call(self, inputs: Any, training: bool = False) -> Any:
        """Reconstructs images (decoder output on the posterior mean)."""
        z_mean, _ = self.encoder(inputs, training=training)
        return self._decode(self.decoder(z_mean, training=training))

    def _decode(self, outputs: Any) -> Any:
        return self.likelihood.mean(outputs)

    def encode(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """Returns `(z_mean, z_log_var)` as numpy arrays."""
        z_mean, z_log_var = self.encoder(ops.convert_to_tensor(images, "float32"), training=False)
        return ops.convert_to_numpy(z_mean), ops.convert_to_numpy(z_log_var)

    def decode(self, latents: Any) -> np.ndarray:
        """Maps latents to images: the likelihood's means (e.g. Bernoulli probabilities)."""
        latents = ops.convert_to_tensor(latents, "float32")
        if latents.shape[-1] != self.latent_dim:
            raise ValueError(
                f"Expected latents of size {self.latent_dim}; "
                f"received shape {tuple(latents.shape)}."
            )
        return ops.convert_to_numpy(self._decode(self.decoder(latents, training=False)))

    def generate(self, num_samples: int = 16, seed: int | None = None) -> np.ndarray:
        """Decodes latents drawn from the standard normal prior."""
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        latents = random.normal((int(num_samples), self.latent_dim), int(seed))
        return self.decode(latents)

    def log_likelihood(
        self,
        images: Any,
        num_samples: int = 1000,
        batch_size: int = 100,
        seed: int | None = 0,
    ) -> np.ndarray:
        """Importance-weighted estimate of `log p(x)` of each image, in nats.

        The estimator of Burda et al. (2016), with the encoder as proposal:
        `log p(x) ~ log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x)` with
        `z_k ~ q(z | x)`. It is a lower bound of `log p(x)` for every `K`,
        equals the ELBO's expectation at `K = 1`, and tightens towards
        `log p(x)` as `num_samples` grows (exactly `log p(x)` when the encoder
        is the true posterior). `-vae.log_likelihood(test_images).mean()` is
        the test negative log-likelihood papers report (MNIST VAEs: ~80-100
        nats on binarized digits; continuous [0, 1] pixels under a Bernoulli
        likelihood score higher).

        Args:
            images: Images as for `fit`.
            num_samples: Importance samples `K` per image (>= 1).
            batch_size: Images per decoder batch (each decoded `num_samples`
                times, in chunks of at most 10,000 decoder inputs).
            seed: Seed of the samples (`None`: a random seed).

        Returns:
            Float64 numpy array of shape `(n,)`.

        Example:
        >>> import numpy as np, keras, gan_blocks as gb
        >>> vae = gb.models.VAE(gb.architectures.vae_encoder((8, 8, 1), 2),
        ...                     gb.architectures.vae_decoder(2, (8, 8, 1)), seed=0)
        >>> images = np.random.rand(3, 8, 8, 1).astype("float32")
        >>> vae.log_likelihood(images, num_samples=50).shape
        (3,)

        Reference:
            Burda et al., "Importance Weighted Autoencoders", ICLR 2016.
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
            raise ValueError(f"`num_samples` must be an int >= 1. Received: {num_samples!r}")
        if num_samples < 1 or batch_size < 1:
            raise ValueError(
                "`num_samples` and `batch_size` must be >= 1. Received: "
                f"num_samples={num_samples}, batch_size={batch_size}"
            )
        images = np.asarray(images, dtype="float32")
        self._check_data(images)
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        rng = np.random.default_rng(seed)
        results = []
        for start in range(0, len(images), batch_size):
            results.append(
                self._batch_log_likelihood(images[start : start + batch_size], num_samples, rng)
            )
        return np.concatenate(results) if results else np.zeros((0,), "float64")

    def _batch_log_likelihood(
        self, images: np.ndarray, num_samples: int, rng: np.random.Generator
    ) -> np.ndarray:
        z_mean, z_log_var = (np.asarray(v, "float64") for v in self.encode(images))
        std = np.exp(0.5 * z_log_var)
        count = len(images)
        chunk = max(1, 10_000 // count)  # samples decoded per call
        log_weights = []
        for start in range(0, num_samples, chunk):
            size = min(chunk, num_samples - start)
            noise = rng.standard_normal((size, count, self.latent_dim))
            z = z_mean[None] + std[None] * noise
            # log p(z) - log q(z | x); the 2 pi terms cancel.
            log_prior_ratio = np.sum(
                -0.5 * np.square(z) + 0.5 * np.square(noise) + 0.5 * z_log_var[None], axis=-1
            )
            outputs = self.decoder(
                ops.convert_to_tensor(z.reshape(size * count, -1), "float32"), training=False
            )
            repeated = np.broadcast_to(images[None], (size,) + images.shape)
            log_p_x = -self.likelihood.negative_log_likelihood(
                repeated.reshape((size * count,) + images.shape[1:]), outputs
            )
            log_p_x = np.asarray(ops.convert_to_numpy(log_p_x), "float64").reshape(size, count)
            log_weights.append(log_p_x + log_prior_ratio)
        log_weights = np.concatenate(log_weights, axis=0)  # (num_samples, count)
        peak = log_weights.max(axis=0)
        return peak + np.log(np.mean(np.exp(log_weights - peak), axis=0))

    # Pixel range of `generate` and `preview_samples` (Bernoulli means).
    sample_value_range = (0.0, 1.0)

    def preview_samples(
        self, num_samples: int = 16, seed: int = 0, inputs: Any = None
    ) -> tuple[np.ndarray, int | None]:
        """Decoded prior samples (the same for the same seed), for `SampleGrid`."""
        return self.generate(num_samples, seed=seed), None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            beta=self.beta,
            reconstruction=self._reconstruction_config
            or keras.saving.serialize_keras_object(self.likelihood),
            seed=self.seed,
        )
        return config
