"""Keras callbacks for generative training (sample grids, metrics)."""

__all__ = []
