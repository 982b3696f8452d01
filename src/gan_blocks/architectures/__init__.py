"""Builders returning `keras.Model`s assembled from `gan_blocks.layers`."""

__all__ = []
