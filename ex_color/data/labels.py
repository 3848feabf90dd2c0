"""Weak labels computed from colours (spec §0.2): each label is a function of a colour, raised to a power
and scaled, giving the probability that a sample of that colour carries the label.

A function maps colours to a value in [0, 1] that is exactly 1 for the concept's purest colours; that is
what validation's exact labels test (`exact_labels`). The known functions:

* ``red``: redness ``r·(1 − g/2 − b/2)`` (1 only for (1, 0, 0));
* ``vibrant``: vibrancy ``S·V`` (1 for the six fully saturated, fully bright primaries and secondaries);
* ``desaturated``: ``1 − vibrancy`` (1 for the greys, black and white included);
* ``hue``, centred on a hue h₀ in degrees: ``vibrancy · max(0, 1 − Δ/120)`` with Δ the circular distance
  between the colour's hue and h₀. It falls to half at 60° and to zero at 120°; for h₀ = 0 it equals
  redness on the rim of fully saturated, fully bright colours. 1 only for the pure colour at h₀.

A label is configured as ``NAME: {power: P, scale: S}`` (the function is the one named NAME), or with
``function: F`` or ``hue: DEGREES`` to choose it, e.g. ``blue: {hue: 240, power: 8, scale: 0.08}``.
A bare number (``red: 0.5``, the format of runs made before labels had powers) is the scale at the
function's experiment-2.2 power. ``NAME: null`` drops the label: how a config, which cannot delete a key it
merges into, leaves out a label of the data config below it (experiment 2.5.1's red-only data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ex_color.data.cubes import rgb_to_hsv
from ex_color.errors import UserError
from ex_color.settings import check_keys


def redness(rgb: torch.Tensor, vibrancy: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    r, g, b = rgb.unbind(-1)
    return (r * (1 - g / 2 - b / 2)).clamp_min(0)


def vibrancy_of(rgb: torch.Tensor, vibrancy: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    return vibrancy


def desaturation(rgb: torch.Tensor, vibrancy: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    return 1 - vibrancy


def hue_closeness(centre: float) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """``vibrancy · max(0, 1 − Δ/120)``, Δ the circular distance in degrees from hue `centre`."""

    def closeness(rgb: torch.Tensor, vibrancy: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
        distance = ((hue - centre + 180) % 360 - 180).abs()
        return vibrancy * (1 - distance / 120).clamp_min(0)

    return closeness


# Functions (rgb [..., 3], vibrancy [...], hue in degrees [...]) -> [...] in [0, 1].
LABELS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "red": redness,
    "vibrant": vibrancy_of,
    "desaturated": desaturation,
}
# Experiment 2.2's powers: what a bare-number label (the older format) means.
LEGACY_POWERS = {"red": 10, "vibrant": 100, "desaturated": 10}
SPEC_KEYS = ("function", "hue", "power", "scale")


@dataclass(frozen=True)
class LabelSpec:
    """One label: ``function(colour) ** power * scale`` is the probability of the label."""

    name: str
    function: str  # a key of LABELS, or "hue"
    power: float
    scale: float
    hue: float | None = None

    def base(self, rgb: torch.Tensor, vibrancy: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
        fn = hue_closeness(self.hue) if self.function == "hue" else LABELS[self.function]
        return fn(rgb, vibrancy, hue)

    def probability(self, rgb: torch.Tensor, vibrancy: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
        return self.base(rgb, vibrancy, hue) ** self.power * self.scale


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_label(name: str, spec, key: str = "data.labels") -> LabelSpec:
    """A label's config entry checked and parsed; UserError naming `key.name` (or its field) otherwise."""
    where = f"{key}.{name}"
    known = f"known functions: {', '.join(LABELS)}, or hue: DEGREES"
    if _number(spec):
        if name not in LEGACY_POWERS:
            raise UserError(f"{where}: names no label function; {known}")
        spec = {"power": LEGACY_POWERS[name], "scale": spec}
    if not isinstance(spec, Mapping):
        raise UserError(f"{where}: expected {{power: P, scale: S}} (with function: F or hue: DEGREES), got {spec!r}")
    check_keys(spec, SPEC_KEYS, where)
    if "hue" in spec and "function" in spec and spec["function"] != "hue":
        raise UserError(f"{where}: give function or hue, not both")
    function = "hue" if "hue" in spec else spec.get("function", name)
    if function == "hue":
        if not _number(spec.get("hue")):
            raise UserError(f"{where}.hue: a hue in degrees (got {spec.get('hue')!r})")
    elif function not in LABELS:
        field = f"{where}.function" if "function" in spec else where
        raise UserError(f"{field}: names no label function ({function!r}); {known}")
    for field in ("power", "scale"):
        if field not in spec:
            raise UserError(f"{where}.{field}: required")
        if not _number(spec[field]):
            raise UserError(f"{where}.{field}: must be a number (got {spec[field]!r})")
    if not spec["power"] >= 0:
        raise UserError(f"{where}.power: must be ≥ 0 (got {spec['power']!r})")
    if not 0 <= spec["scale"] <= 1:
        raise UserError(f"{where}.scale: must be in [0, 1] (got {spec['scale']!r})")
    hue = float(spec["hue"]) % 360 if function == "hue" else None
    return LabelSpec(name, function, spec["power"], spec["scale"], hue)


def parse_labels(labels: Mapping | None, key: str = "data.labels") -> tuple[LabelSpec, ...]:
    """Every label of a config's `labels` mapping, in order (those set to null left out)."""
    if labels is None:
        return ()
    if not isinstance(labels, Mapping):
        raise UserError(f"{key}: expected a mapping of label names to {{power: P, scale: S}} (got {labels!r})")
    return tuple(parse_label(str(name), spec, key) for name, spec in labels.items() if spec is not None)


def hue_degrees(rgb: np.ndarray) -> np.ndarray:
    """The HSV hue of RGB colours [..., 3] in degrees, [0, 360); 0 for greys."""
    return rgb_to_hsv(rgb)[..., 0] * 360.0


def rgb_vibrancy(rgb: np.ndarray) -> np.ndarray:
    """S·V of RGB colours [..., 3]: max − min (the chroma)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return rgb.max(-1) - rgb.min(-1)


def label_probabilities(
    rgb: torch.Tensor, vibrancy: torch.Tensor, labels: Mapping | tuple[LabelSpec, ...], hue: torch.Tensor | None = None
) -> torch.Tensor:
    """Label probabilities [..., n_labels], one column per label (in order). `labels` is parsed specs or a
    config mapping; `hue` (degrees) is computed from `rgb` when not given."""
    specs = labels if isinstance(labels, tuple) else parse_labels(labels)
    if hue is None:
        hue = torch.as_tensor(hue_degrees(rgb.detach().cpu().numpy()), dtype=rgb.dtype, device=rgb.device)
    if not specs:
        return rgb.new_zeros(*rgb.shape[:-1], 0)
    return torch.stack([spec.probability(rgb, vibrancy, hue) for spec in specs], dim=-1)


def exact_labels(rgb: np.ndarray, specs: tuple[LabelSpec, ...]) -> torch.Tensor:
    """Validation's labels [N, n_labels] of colours [N, 3]: 1 where a label's function is exactly 1 (pure
    red for `red`, the six primaries and secondaries for `vibrant`, greys for `desaturated`, the pure
    colour at its hue for a hue label), else 0."""
    rgb = np.asarray(rgb, dtype=np.float64)
    colours = torch.tensor(rgb)
    vibrancy, hue = torch.tensor(rgb_vibrancy(rgb)), torch.tensor(hue_degrees(rgb))
    columns = [(spec.base(colours, vibrancy, hue) == 1).float() for spec in specs]
    return torch.stack(columns, dim=-1) if columns else torch.zeros(len(rgb), 0)
