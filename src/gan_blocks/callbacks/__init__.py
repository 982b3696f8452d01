"""Keras callbacks for generative training (sample grids, metrics)."""

from gan_blocks.callbacks.generative_metrics import GenerativeMetrics
from gan_blocks.callbacks.sample_grid import SampleGrid, image_grid
from gan_blocks.callbacks.training_monitor import TrainingMonitor

__all__ = ["GenerativeMetrics", "SampleGrid", "TrainingMonitor", "image_grid"]
