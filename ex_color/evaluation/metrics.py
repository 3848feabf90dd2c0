"""Numbers from predictions (numpy only): per-colour error, its summary, and how selective an
intervention is (spec section 7)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ex_color.data.colors import GRAY_NAMES, HUE_NAMES, named_hue

# Error changes below this are numerical noise; it keeps the delta ratio finite when nothing far moved.
DELTA_FLOOR = 1e-6


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
      among named colours more than 90° of hue away and the grays;
    - hue/grey ratio (`hue_grey_selectivity`): for deleting a whole subspace such as hue.
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
        **hue_grey_selectivity(delta),
    }


def hue_grey_selectivity(delta: dict[str, float]) -> dict[str, float | str | None]:
    """How cleanly deleting a subspace (hue) hits every hue and spares the greys (later-experiments §C): the
    smallest error increase Δ among the 12 named hues over the largest among the 5 greys, the denominator
    floored like the delta ratio's (|Δ| at least DELTA_FLOOR). NaN (colours None) without hues or greys."""
    hues = [name for name in HUE_NAMES if name in delta]
    greys = [name for name in GRAY_NAMES if name in delta]
    if not hues or not greys:
        nan = float("nan")
        return {
            "smallest_hue_delta": nan,
            "smallest_hue_delta_color": None,
            "largest_grey_delta": nan,
            "largest_grey_delta_color": None,
            "hue_grey_ratio": nan,
        }
    hue = min(hues, key=lambda name: delta[name])
    grey = max(greys, key=lambda name: delta[name])
    return {
        "smallest_hue_delta": float(delta[hue]),
        "smallest_hue_delta_color": hue,
        "largest_grey_delta": float(delta[grey]),
        "largest_grey_delta_color": grey,
        "hue_grey_ratio": float(delta[hue] / max(abs(delta[grey]), DELTA_FLOOR)),
    }


def most_aligned_hue(hsv: np.ndarray, latents: np.ndarray, concept: Sequence[float]) -> float:
    """Hue (degrees) of the fully saturated, bright colour whose latent points most along `concept`."""
    c = np.asarray(concept, np.float64)
    vivid = (hsv[:, 1] > 0.9) & (hsv[:, 2] > 0.9)
    if not vivid.any():
        vivid = np.ones(len(hsv), bool)
    alignment = latents[vivid] @ (c / np.linalg.norm(c))
    return float(hsv[vivid][np.argmax(alignment), 0] * 360.0)
