"""Latent-space tools: interpolation, DCGAN's vector arithmetic, truncation."""

from gan_blocks.latents.arithmetic import latent_arithmetic
from gan_blocks.latents.interpolation import interpolate
from gan_blocks.latents.truncation import truncated_normal, truncated_normal_variance

__all__ = ["interpolate", "latent_arithmetic", "truncated_normal", "truncated_normal_variance"]
