"""Latent-space tools: interpolation and DCGAN's vector arithmetic."""

from gan_blocks.latents.arithmetic import latent_arithmetic
from gan_blocks.latents.interpolation import interpolate

__all__ = ["interpolate", "latent_arithmetic"]
