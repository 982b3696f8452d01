"""Keras layers for generative models (all backends, `keras.ops` only)."""

from gan_blocks.layers.adaptive_augment import AdaptiveAugment
from gan_blocks.layers.conditional_batch_normalization import ConditionalBatchNormalization
from gan_blocks.layers.constant_input import ConstantInput
from gan_blocks.layers.conv2d_transpose import Conv2DTranspose
from gan_blocks.layers.dcgan_down_block import DCGANDownBlock
from gan_blocks.layers.dcgan_up_block import DCGANUpBlock
from gan_blocks.layers.diff_augment import DiffAugment
from gan_blocks.layers.downsample_2d import Downsample2D
from gan_blocks.layers.equalized_conv2d import EqualizedConv2D
from gan_blocks.layers.equalized_dense import EqualizedDense
from gan_blocks.layers.image_pool import ImagePool
from gan_blocks.layers.mapping_network import MappingNetwork
from gan_blocks.layers.minibatch_std_dev import MinibatchStdDev
from gan_blocks.layers.modulated_conv2d import ModulatedConv2D
from gan_blocks.layers.noise_injection import NoiseInjection
from gan_blocks.layers.patchgan_head import PatchGANHead
from gan_blocks.layers.projection_discriminator_output import ProjectionDiscriminatorOutput
from gan_blocks.layers.reflection_padding_2d import ReflectionPadding2D
from gan_blocks.layers.reparameterized_sampling import ReparameterizedSampling
from gan_blocks.layers.residual_down_block import ResidualDownBlock
from gan_blocks.layers.residual_up_block import ResidualUpBlock
from gan_blocks.layers.self_attention_2d import SelfAttention2D
from gan_blocks.layers.spectral_conv2d import SpectralConv2D
from gan_blocks.layers.spectral_conv2d_transpose import SpectralConv2DTranspose
from gan_blocks.layers.spectral_dense import SpectralDense
from gan_blocks.layers.stylegan2_discriminator_block import StyleGAN2DiscriminatorBlock
from gan_blocks.layers.to_rgb import ToRGB
from gan_blocks.layers.unet_down_block import UNetDownBlock
from gan_blocks.layers.unet_up_block import UNetUpBlock
from gan_blocks.layers.upsample_2d import Upsample2D

__all__ = [
    "AdaptiveAugment",
    "ConditionalBatchNormalization",
    "ConstantInput",
    "Conv2DTranspose",
    "DCGANDownBlock",
    "DCGANUpBlock",
    "DiffAugment",
    "Downsample2D",
    "EqualizedConv2D",
    "EqualizedDense",
    "ImagePool",
    "MappingNetwork",
    "MinibatchStdDev",
    "ModulatedConv2D",
    "NoiseInjection",
    "PatchGANHead",
    "ProjectionDiscriminatorOutput",
    "ReflectionPadding2D",
    "ReparameterizedSampling",
    "ResidualDownBlock",
    "ResidualUpBlock",
    "SelfAttention2D",
    "SpectralConv2D",
    "SpectralConv2DTranspose",
    "SpectralDense",
    "StyleGAN2DiscriminatorBlock",
    "ToRGB",
    "UNetDownBlock",
    "UNetUpBlock",
    "Upsample2D",
]
