"""Colour data: cubes of colours with their coordinates, sampling weights, labels, batches."""

from ex_color.data.cubes import ColorCube, cyclic_range, hsv_to_rgb
from ex_color.data.labels import LABELS, LabelSpec, exact_labels, label_probabilities, parse_labels
from ex_color.data.sampling import BatchSource, EpochBatchSource, sampling_weights, vibrancy

__all__ = [
    "LABELS",
    "BatchSource",
    "EpochBatchSource",
    "LabelSpec",
    "ColorCube",
    "cyclic_range",
    "exact_labels",
    "hsv_to_rgb",
    "label_probabilities",
    "parse_labels",
    "sampling_weights",
    "vibrancy",
]
