"""`CycleGAN`: unpaired image-to-image translation trained with `fit`."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gan_blocks.api_export import gan_blocks_export
from gan_blocks.data.unpaired import UnpairedDataset
from gan_blocks.layers.image_pool import ImagePool
from gan_blocks.losses.regularizer import RegularizerContext
from gan_blocks.models import input_checks
from gan_blocks.models.adversarial_model import (
    DEFAULT_BATCH_SIZE,
    AdversarialModel,
    check_player,
    symbolic_call,
)

DIRECTIONS = ("a_to_b", "b_to_a")


def _input_shape(network: keras.layers.Layer, name: str) -> tuple:
    inputs = getattr(network, "inputs", None)
    if not inputs:
        raise ValueError(
            f"CycleGAN needs `{name}` with a known input shape (a functional or "
            "Sequential model, e.g. gb.architectures.resnet_generator)."
        )
    return tuple(inputs[0].shape[1:])


def _l1(a: Any, b: Any) -> Any:
    return ops.mean(ops.abs(ops.cast(a, "float32") - ops.cast(b, "float32")))


@gan_blocks_export()
class CycleGAN(AdversarialModel):
    """Unpaired translation between domains A and B (CycleGAN), trained on `(images_a, images_b)`.

    Two generators (`generator_ab`: A -> B, `generator_ba`: B -> A) and two
    discriminators (`discriminator_a` judges domain A, `discriminator_b`
    domain B). The generators minimize the adversarial loss on both domains
    plus `cycle_weight` times the cycle-consistency L1 (A -> B -> A and
    B -> A -> B) plus `cycle_weight * identity_weight` times the identity L1
    (`generator_ab(b) ~ b`, `generator_ba(a) ~ a`), as in the authors' code.
    The discriminators see generated images through an `ImagePool` of the last
    `pool_size` fakes per domain, and their loss (penalty included) is halved. Both generators
    share one optimizer (group `"generator"`), both discriminators the other
    (`"discriminator"`). `fit` logs `d_loss`, `g_loss` (the total),
    `cycle_loss` and `identity_loss`; `translate(images, direction)` maps a
    domain to the other. Pools, optimizers and seeds are saved: `fit(N)`,
    save, load, `fit(N)` equals `fit(2N)`.

    Args:
        generator_ab: Model mapping domain-A images to domain B (tanh output).
        generator_ba: Model mapping domain-B images to domain A.
        discriminator_a: Model mapping domain-A images to logits.
        discriminator_b: Model mapping domain-B images to logits.
        cycle_weight: Weight of the cycle-consistency L1 (lambda = 10).
        identity_weight: Identity L1 weight relative to `cycle_weight` (0.5 in
            the paper's photo <-> painting runs; 0 disables it). Needs both
            domains to have the same image shape.
        pool_size: Generated images kept per domain for the discriminators
            (50 in the paper; 0 shows only the newest fakes).
        discriminator_steps: Discriminator updates per generator update.
        generator_ema: Decay of an EMA of both generators (used by
            `translate`), or `None`.
        augmentation: Optional differentiable layer applied to every image
            before either discriminator.
        seed: Seed of the model's `SeedGenerator` and of the image pools.
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:
    >>> import numpy as np, gan_blocks as gb
    >>> def generator():
    ...     return gb.architectures.resnet_generator((16, 16, 1), filters=4, num_blocks=1)
    >>> def discriminator():
    ...     return gb.architectures.patchgan_discriminator(
    ...         (16, 16, 1), filters=4, num_layers=1, normalization="instance",
    ...         conditional=False)
    >>> cyc = gb.models.CycleGAN(generator(), generator(), discriminator(),
    ...                          discriminator(), pool_size=4, seed=0)
    >>> cyc.compile()
    >>> a = np.random.uniform(-1, 1, (6, 16, 16, 1)).astype("float32")
    >>> b = np.random.uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    >>> history = cyc.fit(gb.data.unpaired(a, b, batch_size=2, seed=0), verbose=0)
    >>> sorted(history.history)
    ['cycle_loss', 'd_loss', 'g_loss', 'identity_loss']
    >>> cyc.translate(a[:3], direction="a_to_b").shape
    (3, 16, 16, 1)

    Reference:
        Zhu et al., "Unpaired Image-to-Image Translation using
        Cycle-Consistent Adversarial Networks", ICCV 2017.
    """

    # A translation per input and no latents: the spread of the translations
    # follows the sources, so "collapse" (diversity of samples) does not apply.
    monitor_signals = ("discriminator_wins", "divergence")

    def __init__(
        self,
        generator_ab: keras.Model,
        generator_ba: keras.Model,
        discriminator_a: keras.Model,
        discriminator_b: keras.Model,
        cycle_weight: float = 10.0,
        identity_weight: float = 0.5,
        pool_size: int = 50,
        discriminator_steps: int = 1,
        generator_ema: float | None = None,
        augmentation: keras.layers.Layer | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        for name, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
        if not isinstance(pool_size, (int, np.integer)) or pool_size < 0:
            raise ValueError(f"`pool_size` must be an int >= 0. Received: pool_size={pool_size!r}")
        super().__init__(
            discriminator_steps=discriminator_steps,
            generator_ema=generator_ema,
            augmentation=augmentation,
            seed=seed,
            **kwargs,
        )
        for name, player in (
            ("generator_ab", generator_ab),
            ("generator_ba", generator_ba),
            ("discriminator_a", discriminator_a),
            ("discriminator_b", discriminator_b),
        ):
            check_player(name, player)
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.pool_size = int(pool_size)
        self.generator_ab = generator_ab
        self.generator_ba = generator_ba
        self.discriminator_a = discriminator_a
        self.discriminator_b = discriminator_b
        self.shape_a, self.shape_b = self._build_players()
        if self.identity_weight > 0 and self.shape_a != self.shape_b:
            raise ValueError(
                f"identity_weight={self.identity_weight} compares generator_ab(b) with b, "
                f"which needs both domains to have one image shape; received A images "
                f"of shape {self.shape_a} and B images of shape {self.shape_b}. Pass "
                "identity_weight=0."
            )
        # Each pool draws from its own seed, derived from the model's.
        self.pool_a, self.pool_b = (
            ImagePool(self.pool_size, seed=None if seed is None else int(seed) + offset, name=name)
            for offset, name in ((1, "pool_a"), (2, "pool_b"))
        )
        self.pool_a.build((None,) + self.shape_a)
        self.pool_b.build((None,) + self.shape_b)
        self.add_ema("generator_ab", keras.KerasTensor((None,) + self.shape_a))
        self.add_ema("generator_ba", keras.KerasTensor((None,) + self.shape_b))

    # The discriminators `compile` checks for a final sigmoid.
    discriminator_names = ("discriminator_a", "discriminator_b")

    def _build_players(self) -> tuple[tuple, tuple]:
        shape_a = _input_shape(self.generator_ab, "generator_ab")
        shape_b = tuple(self._spec("generator_ab", self.generator_ab, shape_a).shape[1:])
        back = tuple(self._spec("generator_ba", self.generator_ba, shape_b).shape[1:])
        if back != shape_a:
            raise ValueError(
                f"generator_ba maps B images of shape {shape_b} to shape {back}, but "
                f"domain A images have shape {shape_a} (generator_ab's input)."
            )
        self._spec("discriminator_a", self.discriminator_a, shape_a)
        self._spec("discriminator_b", self.discriminator_b, shape_b)
        return shape_a, shape_b

    @staticmethod
    def _spec(name: str, network: Any, shape: tuple) -> Any:
        try:
            return symbolic_call(network, keras.KerasTensor((None,) + shape))
        except Exception as error:
            raise ValueError(
                f"Could not call `{name}` on images of shape {(None,) + shape}: {error}"
            ) from error

    # ------------------------------------------------------------ training
    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer | str | None = None,
        discriminator_optimizer: keras.optimizers.Optimizer | str | None = None,
        loss: Any = "least_squares",
        penalty: Any = None,
        jit_compile: bool | str = "auto",
        regularizers: dict[str, list] | None = None,
        **kwargs: Any,
    ) -> None:
        """Configures the two optimizers and the adversarial loss (least squares).

        Args:
            generator_optimizer: Optimizer of both generators. Default:
                `Adam(2e-4, beta_1=0.5)` as in the paper.
            discriminator_optimizer: Optimizer of both discriminators.
            loss: Adversarial loss (the paper uses `"least_squares"`).
            penalty: Optional penalty added to each discriminator's loss.
            jit_compile: As in `gb.models.AdversarialModel.compile`.
            regularizers: As in `gb.models.AdversarialModel.compile`: the
                generators' regularizers apply to each generator, the
                discriminators' to each discriminator (halved, as their loss).
            **kwargs: Passed to `keras.Model.compile`.
        """
        super().compile(
            generator_optimizer,
            discriminator_optimizer,
            loss=loss,
            penalty=penalty,
            jit_compile=jit_compile,
            regularizers=regularizers,
            **kwargs,
        )

    def optimizer_groups(self) -> dict[str, list]:
        """Both generators in one group, both discriminators in the other."""
        return {
            "generator": list(self.generator_ab.trainable_variables)
            + list(self.generator_ba.trainable_variables),
            "discriminator": list(self.discriminator_a.trainable_variables)
            + list(self.discriminator_b.trainable_variables)
            + self.augmentation_trainable_variables(),
        }

    def loss_names(self) -> list[str]:
        """`d_loss`, `g_loss`, the penalty when used, `cycle_loss`, `identity_loss`."""
        return super().loss_names() + ["cycle_loss", "identity_loss"]

    def unpack_data(self, data: Any) -> tuple[Any, Any]:
        """Splits a batch into `(images_a, images_b)` float tensors."""
        images_a, images_b = self.unpack_pair(
            data,
            "CycleGAN.fit needs batches of (images_a, images_b): pass "
            "gb.data.unpaired(images_a, images_b, batch_size) or a dataset "
            "yielding (images_a, images_b).",
        )
        return self._domain(images_a, "a"), self._domain(images_b, "b")

    def _domain(self, images: Any, domain: str) -> Any:
        expected = self.shape_a if domain == "a" else self.shape_b
        name = f"domain-{domain.upper()} images"
        images = self.check_image_shape(images, expected, name, f"the {name} the generators take")
        return self.as_float(images)

    def _judge(self, discriminator: Any) -> Any:
        return lambda images: discriminator(self.augment(images), training=True)

    def discriminator_objective(self, images_a: Any, images_b: Any) -> tuple[Any, dict]:
        """Both discriminators on real images against pooled translations."""
        fake_b = ops.stop_gradient(self.generator_ab(images_a, training=True))
        fake_a = ops.stop_gradient(self.generator_ba(images_b, training=True))
        fake_b = self.pool_b(fake_b, training=True)
        fake_a = self.pool_a(fake_a, training=True)
        loss_a, logs_a = self.discriminator_terms(
            self._judge(self.discriminator_a), images_a, fake_a
        )
        loss_b, logs_b = self.discriminator_terms(
            self._judge(self.discriminator_b), images_b, fake_b
        )
        # Halved as in the paper (regularizers included), so the
        # discriminators learn slower than the generators.
        logs = {name: 0.5 * (logs_a[name] + logs_b[name]) for name in logs_a}
        return 0.5 * (loss_a + loss_b), logs

    def generator_objective(self, images_a: Any, images_b: Any) -> tuple[Any, dict]:
        """Adversarial terms of both generators plus the cycle and identity L1s."""
        fake_b = self.generator_ab(images_a, training=True)
        fake_a = self.generator_ba(images_b, training=True)
        judge_b, judge_a = self._judge(self.discriminator_b), self._judge(self.discriminator_a)
        adversarial = self.generator_terms(judge_b, fake_b, images_b) + self.generator_terms(
            judge_a, fake_a, images_a
        )
        terms_ab, logs_ab = self.regularize(
            RegularizerContext(
                "generator",
                network=lambda images: self.generator_ab(images, training=True),
                real_images=images_b,
                fake_images=fake_b,
                latents=images_a,
                judge=judge_b,
            )
        )
        terms_ba, logs_ba = self.regularize(
            RegularizerContext(
                "generator",
                network=lambda images: self.generator_ba(images, training=True),
                real_images=images_a,
                fake_images=fake_a,
                latents=images_b,
                judge=judge_a,
            )
        )
        adversarial = adversarial + terms_ab + terms_ba
        cycle = _l1(self.generator_ba(fake_b, training=True), images_a) + _l1(
            self.generator_ab(fake_a, training=True), images_b
        )
        total = adversarial + self.cycle_weight * cycle
        if self.identity_weight > 0:
            identity = _l1(self.generator_ab(images_b, training=True), images_b) + _l1(
                self.generator_ba(images_a, training=True), images_a
            )
            total = total + self.cycle_weight * self.identity_weight * identity
        else:
            identity = ops.zeros((), "float32")
        logs = {name: logs_ab[name] + logs_ba[name] for name in logs_ab}
        return total, {"cycle_loss": cycle, "identity_loss": identity, **logs}

    def check_training_data(self, x: Any, y: Any) -> None:
        """Raises early on images the generators cannot produce, NaN, or wrong shapes.

        Domain-A images must lie in the range of `generator_ba`'s final
        activation (it produces A images), domain-B images in `generator_ab`'s.
        """
        sample = input_checks.peek_batch(x)
        if sample is None:
            return
        if isinstance(x, UnpairedDataset):
            # Both whole domains, so a bad row is named by its index in the
            # array given to `unpaired`, not its place in a shuffled batch.
            samples = (x.images_a, x.images_b)
        elif input_checks.is_py_dataset(x):
            batch = x[0]
            samples = batch if isinstance(batch, (list, tuple)) else (batch,)
        elif y is not None:
            samples = (sample, input_checks.peek_batch(y))
        elif isinstance(x, (list, tuple)):
            samples = tuple(input_checks.peek_batch(item) for item in x)
        else:
            samples = (sample,)
        producers = {"a": self.generator_ba, "b": self.generator_ab}
        for domain, images in zip("ab", samples):
            if images is not None:
                images = np.asarray(images)
                if images.ndim >= 1:
                    self._domain(images[:1], domain)
                input_checks.check_image_range(
                    images,
                    input_checks.final_activation(producers[domain]),
                    what=f"domain-{domain.upper()} images",
                )

    # ----------------------------------------------------------- inference
    def call(self, inputs: Any, training: bool = False) -> Any:
        """Translates domain-A images to domain B."""
        generator = self.generator_ab if training else self.select_network("generator_ab")
        return generator(inputs, training=training)

    def translate(
        self,
        images: Any,
        direction: str = "a_to_b",
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_ema: bool = True,
    ) -> np.ndarray:
        """Translates images from one domain to the other, as numpy.

        Args:
            images: Images in [-1, 1] of the source domain.
            direction: `"a_to_b"` (with `generator_ab`) or `"b_to_a"`.
            batch_size: Generator batch size.
            use_ema: Use the EMA generator when the model has one.

        Returns:
            Numpy array of translated images.
        """
        if direction not in DIRECTIONS:
            raise ValueError(
                f"`direction` must be one of {DIRECTIONS}. Received: direction={direction!r}"
            )
        source_shape = self.shape_a if direction == "a_to_b" else self.shape_b
        images = np.asarray(images, dtype="float32")
        if tuple(images.shape[1:]) != source_shape:
            raise ValueError(
                f"translate(direction={direction!r}) expects images of shape "
                f"(n, {', '.join(map(str, source_shape))}); received {images.shape}."
            )
        name = "generator_ab" if direction == "a_to_b" else "generator_ba"
        generator = self.select_network(name, use_ema)
        return self.predict_in_batches(
            lambda batch: generator(batch, training=False), images, batch_size
        )

    def check_preview_inputs(self, inputs: Any) -> None:
        """Previews need fixed domain-A images (`inputs=images_a`) and one image shape."""
        if inputs is None:
            raise ValueError(
                "CycleGAN previews need fixed domain-A images: pass SampleGrid(..., "
                "inputs=images_a)."
            )
        if self.shape_a != self.shape_b:
            raise ValueError("CycleGAN previews need both domains to have one image shape.")

    def preview_samples(
        self, num_samples: int = 16, seed: int = 0, inputs: Any = None
    ) -> tuple[np.ndarray, int | None]:
        """Rows of A | A->B | A->B->A for `inputs=images_a` (or `(images_a, images_b)`)."""
        self.check_preview_inputs(inputs)
        if isinstance(inputs, (list, tuple)):
            inputs = inputs[0]
        images_a = np.asarray(inputs, "float32")[:num_samples]
        translated = self.translate(images_a, "a_to_b")
        cycled = self.translate(translated, "b_to_a")
        rows = [np.stack(row) for row in zip(images_a, translated, cycled)]
        return np.concatenate(rows, axis=0), 3

    # --------------------------------------------------------------- saving
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for name in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"):
            config[name] = keras.saving.serialize_keras_object(getattr(self, name))
        config.update(
            cycle_weight=self.cycle_weight,
            identity_weight=self.identity_weight,
            pool_size=self.pool_size,
        )
        return config
