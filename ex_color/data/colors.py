"""The named colours: the one table of colour names that evaluation, reports, figures and `infer` share
(the spec's 12 hues at 30° steps and five grays)."""

from __future__ import annotations

import numpy as np

from ex_color.data.cubes import hsv_to_rgb

HUE_NAMES = (
    "red", "orange", "yellow", "lime", "green", "teal", "cyan", "azure", "blue", "purple", "magenta", "pink",
)  # fmt: skip
GRAY_NAMES = ("black", "dark gray", "gray", "light gray", "white")
GRAY_LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)


def named_colors() -> dict[str, np.ndarray]:
    """The 12 hues at 30° steps at full saturation and value, then five grays from black to white."""
    colours = dict(zip(HUE_NAMES, hsv_to_rgb(np.arange(12) / 12, 1.0, 1.0)))
    colours.update(zip(GRAY_NAMES, (np.full(3, level) for level in GRAY_LEVELS)))
    return colours


def named_hue(name: str) -> float | None:
    """Hue in degrees of a named colour (None for grays and unknown names)."""
    return HUE_NAMES.index(name) * 30.0 if name in HUE_NAMES else None


def hue_name(degrees: float) -> str:
    """The name of the nearest of the 12 named hues."""
    return HUE_NAMES[int(np.round((float(degrees) % 360.0) / 30.0)) % 12]


def hex_codes(rgb) -> list[str]:
    """'#rrggbb' of each colour ([3] or [N, 3], 0–1, clipped; the nearest of 256 levels)."""
    values = np.rint(np.clip(np.asarray(rgb, np.float64), 0.0, 1.0) * 255).astype(int).reshape(-1, 3)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in values]
