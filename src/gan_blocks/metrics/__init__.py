"""Streaming evaluation metrics for generative models (FID, KID, IS)."""

__all__ = []
