"""`keras.Model` subclasses that `fit()` trains (GAN, StyleGAN2, VAE, translation, ...)."""

from gan_blocks.models.adversarial_model import AdversarialModel
from gan_blocks.models.adversarial_optimizer import AdversarialOptimizer
from gan_blocks.models.conditional_gan import ConditionalGAN
from gan_blocks.models.cycle_gan import CycleGAN
from gan_blocks.models.gan import GAN
from gan_blocks.models.gan_optimizer import GANOptimizer
from gan_blocks.models.pix2pix import Pix2Pix
from gan_blocks.models.stylegan2 import (
    ConditionalStyleGAN2,
    StyleGAN2,
    StyleGAN2Training,
    stylegan2_optimizer,
)
from gan_blocks.models.trained_model import TrainedModel
from gan_blocks.models.vae import VAE

__all__ = [
    "AdversarialModel",
    "AdversarialOptimizer",
    "ConditionalGAN",
    "ConditionalStyleGAN2",
    "CycleGAN",
    "GAN",
    "GANOptimizer",
    "Pix2Pix",
    "StyleGAN2",
    "StyleGAN2Training",
    "TrainedModel",
    "VAE",
    "stylegan2_optimizer",
]
