"""What `gb.callbacks.TrainingMonitor` prints for a healthy, a collapsed and an overpowered run.

Three DCGANs on 4,000 shipped MNIST digits (filters 16, batch 64), each with a
TrainingMonitor:

- healthy: the examples' setup (Adam 2e-4 / 0.5 for both players);
- collapsed: the same generator fed a constant instead of its latent (every
  sample identical, the extreme of mode collapse);
- overpowered: five discriminator steps at learning rate 2e-3 per generator
  step at 2e-5.

Writes a sample grid per run to --output and prints each run's monitor logs
and warnings; docs/diagnosing.md shows them.

    KERAS_BACKEND=jax python benchmarks/monitor_demo.py --output docs/assets
"""

import argparse
import os
import warnings

import keras

import gan_blocks as gb

KEYS = ("d_real_accuracy", "d_fake_accuracy", "diversity", "g_loss", "generator_grad_norm")


class ConstantLatent(keras.layers.Layer):
    """Replaces every latent by the same vector: the generator collapses to one image."""

    def call(self, z):
        return keras.ops.zeros_like(z) + 0.5


def build(mode):
    keras.utils.set_random_seed(0)
    generator = gb.architectures.dcgan_generator(64, (28, 28, 1), filters=16)
    if mode == "collapsed":
        generator = keras.Sequential([keras.Input((64,)), ConstantLatent(), generator])
    discriminator = gb.architectures.dcgan_discriminator((28, 28, 1), filters=16)
    steps = 5 if mode == "overpowered" else 1
    gan = gb.models.GAN(generator, discriminator, latent_dim=64, discriminator_steps=steps, seed=0)
    rates = {"overpowered": (2e-5, 2e-3)}.get(mode, (2e-4, 2e-4))
    gan.compile(
        keras.optimizers.Adam(rates[0], beta_1=0.5), keras.optimizers.Adam(rates[1], beta_1=0.5)
    )
    return gan


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="examples/data/mnist")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--output", default="runs/monitor_demo")
    args = parser.parse_args()
    images = gb.data.load_mnist_idx(args.data_dir)[:4000]
    os.makedirs(args.output, exist_ok=True)
    for mode in ("healthy", "collapsed", "overpowered"):
        gan = build(mode)
        monitor = gb.callbacks.TrainingMonitor()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = gan.fit(
                images, batch_size=64, epochs=args.epochs, callbacks=[monitor], verbose=0
            ).history
        print(f"== {mode}")
        print("epoch  " + "  ".join(f"{key:>19}" for key in KEYS))
        for epoch in range(len(history["d_loss"])):
            values = "  ".join(f"{history[key][epoch]:19.3f}" for key in KEYS)
            print(f"{epoch + 1:5d}  {values}")
        for warning in caught:
            if "TrainingMonitor" in str(warning.message):
                print("warning:", warning.message)
        grid = gb.callbacks.image_grid(keras.ops.convert_to_numpy(gan.generate(36, seed=0)))
        keras.utils.save_img(os.path.join(args.output, f"monitor_{mode}.png"), grid, scale=False)


if __name__ == "__main__":
    main()
