"""Real convergence on a 2-D mixture of 8 Gaussians, on every backend."""

import keras
import numpy as np

import gan_blocks as gb

RADIUS, SIGMA, MODES = 0.8, 0.05, 8
ANGLES = np.arange(MODES) * 2 * np.pi / MODES
CENTERS = np.stack([RADIUS * np.cos(ANGLES), RADIUS * np.sin(ANGLES)], 1).astype("float32")


def mixture(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, MODES, n)
    points = CENTERS[labels] + SIGMA * rng.normal(size=(n, 2))
    # A tanh generator's range: the rare points beyond 4 sigma are clipped.
    return np.clip(points, -1.0, 1.0).astype("float32"), labels.astype("int32")


def nearest_mode(samples):
    distances = np.linalg.norm(samples[:, None, :] - CENTERS[None], axis=-1)
    return distances.argmin(1), distances.min(1) < 3 * SIGMA


def mlp(inputs, hidden, leaky):
    x = inputs
    for _ in range(2):
        x = keras.layers.Dense(hidden)(x)
        x = keras.layers.LeakyReLU(0.2)(x) if leaky else keras.layers.ReLU()(x)
    return x


def test_gan_covers_the_modes_of_a_gaussian_mixture():
    keras.utils.set_random_seed(0)
    z = keras.Input((8,))
    generator = keras.Model(z, keras.layers.Dense(2, activation="tanh")(mlp(z, 64, False)))
    x = keras.Input((2,))
    discriminator = keras.Model(x, keras.layers.Dense(1)(mlp(x, 64, True)))
    gan = gb.models.GAN(generator, discriminator, latent_dim=8, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5))
    points, _ = mixture(128 * 2000)
    gan.fit(points, batch_size=128, epochs=1, verbose=0)
    modes, good = nearest_mode(gan.generate(2000, seed=1))
    covered = len(set(modes[good]))
    assert covered >= 6, f"covered {covered} of 8 modes"
    assert good.mean() > 0.5, f"only {good.mean():.2f} of samples within 3 sigma of a mode"


def test_conditional_gan_puts_samples_on_the_requested_mode():
    keras.utils.set_random_seed(0)
    z, label = keras.Input((8,)), keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([z, keras.layers.Embedding(MODES, 8)(label)])
    generator = keras.Model([z, label], keras.layers.Dense(2, activation="tanh")(mlp(h, 64, False)))
    x, c = keras.Input((2,)), keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([x, keras.layers.Embedding(MODES, 8)(c)])
    discriminator = keras.Model([x, c], keras.layers.Dense(1)(mlp(h, 64, True)))
    cgan = gb.models.ConditionalGAN(generator, discriminator, 8, num_classes=MODES, seed=0)
    cgan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5))
    points, labels = mixture(128 * 1000)
    cgan.fit(points, labels, batch_size=128, epochs=1, verbose=0)
    requested = np.repeat(np.arange(MODES), 100)
    modes, good = nearest_mode(cgan.generate(labels=requested, seed=2))
    on_target = (modes == requested) & good
    assert on_target.mean() > 0.6, f"only {on_target.mean():.2f} on the requested mode"
    per_mode = [on_target[requested == m].mean() for m in range(MODES)]
    assert min(per_mode) > 0.2, per_mode
