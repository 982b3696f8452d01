"""Export of trained generators for serving: TF SavedModel, ONNX and LiteRT.

Nothing here imports TensorFlow, ONNX or LiteRT at import time: Keras'
exporters import them when `export_generator` runs.
"""

from gan_blocks.export.export_formats import FORMATS, check_export_format, supported_formats
from gan_blocks.export.export_generator import export_generator
from gan_blocks.export.float32_clone import float32_clone
from gan_blocks.export.inference_network import inference_network

__all__ = [
    "FORMATS",
    "check_export_format",
    "export_generator",
    "float32_clone",
    "inference_network",
    "supported_formats",
]
