"""Builders returning `keras.Model`s assembled from `gan_blocks.layers`."""

from gan_blocks.architectures.cyclegan import resnet_generator
from gan_blocks.architectures.dcgan import (
    dcgan_discriminator,
    dcgan_generator,
    discriminator_features,
)
from gan_blocks.architectures.pix2pix import patchgan_discriminator, unet_generator
from gan_blocks.architectures.sngan import sngan_discriminator, sngan_generator
from gan_blocks.architectures.stylegan2 import (
    stylegan2_discriminator,
    stylegan2_generator,
    stylegan2_num_ws,
)
from gan_blocks.architectures.vae import vae_decoder, vae_encoder

__all__ = [
    "dcgan_discriminator",
    "dcgan_generator",
    "discriminator_features",
    "patchgan_discriminator",
    "resnet_generator",
    "sngan_discriminator",
    "sngan_generator",
    "stylegan2_discriminator",
    "stylegan2_generator",
    "stylegan2_num_ws",
    "unet_generator",
    "vae_decoder",
    "vae_encoder",
]
