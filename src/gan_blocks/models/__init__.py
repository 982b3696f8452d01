"""`keras.Model` subclasses that `fit()` trains: GAN, ConditionalGAN, ..."""

from gan_blocks.models.conditional_gan import ConditionalGAN
from gan_blocks.models.gan import GAN
from gan_blocks.models.gan_optimizer import GANOptimizer
from gan_blocks.models.pix2pix import Pix2Pix
from gan_blocks.models.vae import VAE

__all__ = ["ConditionalGAN", "GAN", "GANOptimizer", "Pix2Pix", "VAE"]
