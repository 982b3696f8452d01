"""Streaming evaluation metrics for generative models.

FID, KID, IS, precision/recall and density/coverage.

The metrics are `keras.metrics.Metric` objects updated with
`update_state(real_images, generated_images)`; statistics accumulate on the
host in float64, so they run eagerly (e.g. from `gb.callbacks.GenerativeMetrics`).
"""

from gan_blocks.metrics.conditional import classification_accuracy, intra_class_fid
from gan_blocks.metrics.density_coverage import DensityCoverage
from gan_blocks.metrics.feature_extractors import (
    inception_v3_feature_extractor,
    train_classifier_feature_extractor,
)
from gan_blocks.metrics.fid_inception import fid_inception_v3
from gan_blocks.metrics.frechet_distance import FrechetDistance, frechet_distance
from gan_blocks.metrics.generative_metric import GenerativeMetric
from gan_blocks.metrics.inception_score import InceptionScore
from gan_blocks.metrics.kernel_distance import KernelDistance
from gan_blocks.metrics.memorization import memorization
from gan_blocks.metrics.precision_recall import PrecisionRecall
from gan_blocks.metrics.reference_statistics import ReferenceStatistics, reference_statistics

__all__ = [
    "DensityCoverage",
    "FrechetDistance",
    "GenerativeMetric",
    "InceptionScore",
    "KernelDistance",
    "PrecisionRecall",
    "ReferenceStatistics",
    "classification_accuracy",
    "fid_inception_v3",
    "frechet_distance",
    "inception_v3_feature_extractor",
    "intra_class_fid",
    "memorization",
    "reference_statistics",
    "train_classifier_feature_extractor",
]
