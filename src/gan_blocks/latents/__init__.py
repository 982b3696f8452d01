"""Latent-space tools: interpolation, DCGAN's vector arithmetic, truncation, projection."""

from gan_blocks.latents.arithmetic import latent_arithmetic
from gan_blocks.latents.interpolation import interpolate
from gan_blocks.latents.projection import project
from gan_blocks.latents.truncation import truncated_normal, truncated_normal_variance

__all__ = [
    "interpolate",
    "latent_arithmetic",
    "project",
    "truncated_normal",
    "truncated_normal_variance",
]
