"""`keras.Model` subclasses that `fit()` trains: GAN, ConditionalGAN, ..."""

from gan_blocks.models.conditional_gan import ConditionalGAN
from gan_blocks.models.gan import GAN
from gan_blocks.models.gan_optimizer import GANOptimizer

__all__ = ["ConditionalGAN", "GAN", "GANOptimizer"]
