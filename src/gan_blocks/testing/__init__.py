"""Test helpers for gan-blocks and for packages that extend it."""

from gan_blocks.testing.test_case import TestCase

__all__ = ["TestCase"]
