"""Colour data: cubes of colours with their coordinates, sampling weights, labels, batches."""

from ex_color.data.cubes import ColorCube, cyclic_range, hsv_to_rgb
from ex_color.data.labels import LABELS, label_probabilities
from ex_color.data.sampling import BatchSource, sampling_weights, vibrancy

__all__ = [
    "LABELS",
    "BatchSource",
    "ColorCube",
    "cyclic_range",
    "hsv_to_rgb",
    "label_probabilities",
    "sampling_weights",
    "vibrancy",
]
