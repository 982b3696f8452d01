"""Keras layers for generative models (all backends, `keras.ops` only)."""

from gan_blocks.layers.spectral_conv2d import SpectralConv2D
from gan_blocks.layers.spectral_conv2d_transpose import SpectralConv2DTranspose
from gan_blocks.layers.spectral_dense import SpectralDense

__all__ = ["SpectralConv2D", "SpectralConv2DTranspose", "SpectralDense"]
