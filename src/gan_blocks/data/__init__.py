"""Data pipelines: tfds loaders, paired images, offline defaults."""

__all__ = []
