"""Similarity of colours to a concept colour, and how well an error follows it (later-experiments §0.8).

numpy only. Hues are in turns ([0, 1)); HSV is computed from RGB, greys getting hue 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ex_color.data.cubes import rgb_to_hsv
from ex_color.errors import UserError

__all__ = ["HUE_MODES", "Correlation", "hsv_similarity", "hue_closeness", "pearson", "pearson_rows", "rgb_to_hsv"]

# How hue distance θ (degrees) becomes closeness: `angular` falls linearly to 0 at 90°, `cosine` is
# cos θ cut at 0; the `-full` variants span the whole wheel (1 at θ = 0, 0 at θ = 180°).
HUE_MODES = ("angular", "cosine", "angular-full", "cosine-full")


def hue_closeness(theta: np.ndarray, mode: str = "angular") -> np.ndarray:
    """Closeness in [0, 1] of hues `theta` degrees apart (0 to 180)."""
    if mode == "angular":
        return np.maximum(0.0, (90.0 - theta) / 90.0)
    if mode == "cosine":
        return np.maximum(0.0, np.cos(np.radians(theta)))
    if mode == "angular-full":
        return (180.0 - theta) / 180.0
    if mode == "cosine-full":
        return 0.5 + 0.5 * np.cos(np.radians(theta))
    raise UserError(f"similarity mode: unknown mode {mode!r}; modes: {', '.join(HUE_MODES)}")


def hsv_similarity(hsv: np.ndarray, anchor: np.ndarray, mode: str = "angular") -> np.ndarray:
    """Similarity in [0, 1] of colours `hsv` [..., 3] to the colour `anchor` (h, s, v).

    Hue counts in proportion to how vivid the two colours are (ρ, the mean of their s·v); saturation and
    value differences scale the whole. For red (0, 1, 1), greys score 0, orange 2/3 and yellow 1/3."""
    hsv = np.asarray(hsv, dtype=np.float64)
    h0, s0, v0 = (float(x) for x in np.asarray(anchor, dtype=np.float64))
    h, s, v = np.moveaxis(hsv, -1, 0)
    turns = np.abs(h - h0) % 1.0
    theta = 360.0 * np.minimum(turns, 1.0 - turns)
    rho = (s * v + s0 * v0) / 2.0
    return (rho * hue_closeness(theta, mode) + 1.0 - rho) * (1.0 - np.abs(s - s0)) * (1.0 - np.abs(v - v0))


@dataclass(frozen=True)
class Correlation:
    """Pearson r of an error against a predictor, and its square (the share of variance explained)."""

    r: float
    slope: float
    intercept: float

    @property
    def r2(self) -> float:
        return self.r * self.r


def pearson(x: np.ndarray, y: np.ndarray) -> Correlation:
    """Pearson r of `y` against `x` (flattened), with the least-squares line; r is 0 when either is constant."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy, sxy = float(dx @ dx), float(dy @ dy), float(dx @ dy)
    r = sxy / np.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0
    slope = sxy / sxx if sxx > 0 else 0.0
    return Correlation(float(np.clip(r, -1.0, 1.0)), float(slope), float(y.mean() - slope * x.mean()))


def pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row of `y` [S, N] against `x` [N] (one seed per row), in one pass."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).reshape(-1, len(x))
    dx = x - x.mean()
    dy = y - y.mean(axis=1, keepdims=True)
    sxx = float(dx @ dx)
    syy = np.einsum("sn,sn->s", dy, dy)
    sxy = dy @ dx
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where((syy > 0) & (sxx > 0), sxy / np.sqrt(sxx * syy), 0.0)
    return np.clip(r, -1.0, 1.0)
