"""Evaluating a model on many colours at once: chunked forward passes, per-colour error, named colours,
and selectivity of an intervention (spec section 7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ex_color.data.cubes import hsv_to_rgb

HUE_NAMES = (
    "red", "orange", "yellow", "lime", "green", "teal", "cyan", "azure", "blue", "purple", "magenta", "pink",
)  # fmt: skip
GRAY_NAMES = ("black", "dark gray", "gray", "light gray", "white")
# Error changes below this are numerical noise; it keeps the delta ratio finite when nothing far moved.
DELTA_FLOOR = 1e-6


def named_colors() -> dict[str, np.ndarray]:
    """The 12 hues at 30° steps at full saturation and value, then five grays from black to white."""
    hues = np.arange(12) / 12
    colours = dict(zip(HUE_NAMES, hsv_to_rgb(hues, 1.0, 1.0)))
    colours.update(zip(GRAY_NAMES, (np.full(3, level) for level in (0.0, 0.25, 0.5, 0.75, 1.0))))
    return colours


def named_hue(name: str) -> float | None:
    """Hue in degrees of a named colour (None for grays and unknown names)."""
    return HUE_NAMES.index(name) * 30.0 if name in HUE_NAMES else None


@dataclass
class Predictions:
    outputs: np.ndarray  # [N, 3]
    latents: np.ndarray  # [N, width] at the latent layer, after any intervention


@torch.inference_mode()
def predict(model: nn.Module, rgb: np.ndarray, latent_layer: str, chunk_size: int = 262_144) -> Predictions:
    """One forward pass per chunk of `chunk_size` colours; memory beyond the results stays bounded."""
    model.eval()
    inputs = torch.as_tensor(np.asarray(rgb, dtype=np.float32).reshape(-1, 3))
    n = inputs.shape[0]
    module = dict(model.named_modules())[latent_layer]
    outputs = np.empty((n, 3), dtype=np.float32)
    latents: np.ndarray | None = None
    current: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda m, i, o: current.append(o))
    try:
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            current.clear()
            outputs[start:stop] = model(inputs[start:stop]).numpy()
            latent = current[-1]
            if latents is None:
                latents = np.empty((n, latent.shape[-1]), dtype=np.float32)
            latents[start:stop] = latent.numpy()
    finally:
        handle.remove()
    if latents is None:
        latents = np.empty((0, 0), dtype=np.float32)
    return Predictions(outputs, latents)


def per_color_error(outputs: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Mean over the three channels of the squared error, per colour."""
    diff = np.asarray(outputs, np.float64) - np.asarray(inputs, np.float64).reshape(np.shape(outputs))
    return np.mean(diff * diff, axis=-1)


def error_summary(errors: np.ndarray) -> dict[str, float]:
    return {"max": float(errors.max()), "mean": float(errors.mean()), "median": float(np.median(errors))}


def hue_distance(hue_degrees: np.ndarray, target: float) -> np.ndarray:
    """Distance around the colour wheel, in degrees (0 to 180)."""
    d = np.abs((np.asarray(hue_degrees) - target) % 360.0)
    return np.minimum(d, 360.0 - d)


def selectivity(
    baseline: np.ndarray,
    intervened: np.ndarray,
    hsv: np.ndarray,
    named_baseline: dict[str, float],
    named_intervened: dict[str, float],
    target_hue: float,
    target_name: str,
) -> dict[str, float | str | None]:
    """How much of an intervention's damage lands on the concept rather than elsewhere.

    - error ratio: mean error on-target (hue within 30° of the concept's hue, s and v above 0.5) over
      mean error off-target (hue more than 90° away), for the intervened and the baseline model;
    - named-colour ratio: the error increase at the concept's own colour over the largest increase
      among named colours more than 90° of hue away and the grays.
    """
    hue = hsv[:, 0] * 360.0
    distance = hue_distance(hue, target_hue)
    on = (distance <= 30.0) & (hsv[:, 1] > 0.5) & (hsv[:, 2] > 0.5)
    off = distance > 90.0

    def ratio(errors: np.ndarray) -> float:
        return float(errors[on].mean() / max(errors[off].mean(), 1e-12)) if on.any() and off.any() else float("nan")

    delta = {name: named_intervened[name] - named_baseline[name] for name in named_baseline}
    far = [
        name
        for name in delta
        if name in GRAY_NAMES or (named_hue(name) is not None and hue_distance(named_hue(name), target_hue) > 90.0)
    ]
    worst_far = max(far, key=lambda name: delta[name])
    target_delta = delta.get(target_name)
    return {
        "target_hue": float(target_hue),
        "target_color": target_name,
        "on_target_mean_error": float(intervened[on].mean()) if on.any() else float("nan"),
        "off_target_mean_error": float(intervened[off].mean()) if off.any() else float("nan"),
        "error_ratio": ratio(intervened),
        "baseline_error_ratio": ratio(baseline),
        "target_delta": float(target_delta) if target_delta is not None else float("nan"),
        "largest_far_delta": float(delta[worst_far]),
        "largest_far_delta_color": worst_far,
        "delta_ratio": float(target_delta / max(abs(delta[worst_far]), DELTA_FLOOR))
        if target_delta is not None
        else float("nan"),
    }


def nearest_named_hue(target_hue: float) -> str:
    return HUE_NAMES[int(np.round(target_hue / 30.0)) % 12]


def most_aligned_hue(hsv: np.ndarray, latents: np.ndarray, concept: Sequence[float]) -> float:
    """Hue (degrees) of the fully saturated, bright colour whose latent points most along `concept`."""
    c = np.asarray(concept, np.float64)
    vivid = (hsv[:, 1] > 0.9) & (hsv[:, 2] > 0.9)
    if not vivid.any():
        vivid = np.ones(len(hsv), bool)
    alignment = latents[vivid] @ (c / np.linalg.norm(c))
    return float(hsv[vivid][np.argmax(alignment), 0] * 360.0)
