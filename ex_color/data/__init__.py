"""Colour data: cubes of colours with their coordinates, named colours, sampling weights, labels, batches.

Submodules load on first use (module `__getattr__`), so `ex_color.data.cubes` and `ex_color.data.colors`
(numpy only) can be used without importing torch, which `labels` and `sampling` need.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ColorCube": "cubes",
    "cyclic_range": "cubes",
    "hsv_to_rgb": "cubes",
    "GRAY_NAMES": "colors",
    "HUE_NAMES": "colors",
    "named_colors": "colors",
    "LABELS": "labels",
    "LabelSpec": "labels",
    "exact_labels": "labels",
    "label_probabilities": "labels",
    "parse_labels": "labels",
    "BatchSource": "sampling",
    "EpochBatchSource": "sampling",
    "sampling_weights": "sampling",
    "vibrancy": "sampling",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
