"""The timeline: every scheduled property's value at every step, computed once from a dopesheet.

Looking a value up during training is an array index; the easing maths runs once per keyframe
interval, vectorised over that interval's steps (spec §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ex_color.schedule.dopesheet import Dopesheet
from ex_color.schedule.easing import State, ease


def render_track(
    keyframes: Sequence[tuple[int, float]],
    length: int,
    easing: str | Sequence[str] = "minjerk",
    space: str = "linear",
) -> NDArray[np.float64]:
    """Values of one property at steps ``0..length-1``.

    ``keyframes`` are ``(step, value)`` with strictly increasing steps inside ``[0, length)``.
    ``easing`` is one easing for every transition, or one per transition (``len(keyframes) - 1``);
    each transition starts from the state the previous one ended in. In ``log`` space the
    transitions run on ``log(value)``. Before the first keyframe the first value holds; after the
    last, the last. Keyframe steps carry their keyed values exactly.
    """
    if not keyframes:
        raise ValueError("a track needs at least one keyframe")
    steps = [int(s) for s, _ in keyframes]
    keyed = np.array([v for _, v in keyframes], dtype=np.float64)
    if steps[0] < 0 or steps[-1] >= length or any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"keyframe steps must increase strictly within [0, {length}): {steps}")
    easings = [easing] * (len(steps) - 1) if isinstance(easing, str) else list(easing)
    if len(easings) != len(steps) - 1:
        raise ValueError(f"expected {len(steps) - 1} easings, got {len(easings)}")
    if space not in ("linear", "log"):
        raise ValueError(f"unknown space {space!r}")
    if space == "log" and np.any(keyed <= 0):
        raise ValueError("log-space keyframes must be positive")

    targets = np.log(keyed) if space == "log" else keyed
    track = np.empty(length, dtype=np.float64)
    track[: steps[0]] = targets[0]
    state = State(float(targets[0]))
    for i, name in enumerate(easings):
        t0, t1 = steps[i], steps[i + 1]
        segment, state = ease(name, state, float(targets[i + 1]), t1 - t0)
        track[t0 : t1 + 1] = segment
    track[steps[-1] :] = targets[-1]
    if space == "log":
        track = np.exp(track)
    track[: steps[0]] = keyed[0]
    track[steps[-1] :] = keyed[-1]
    track[steps] = keyed
    return track


@dataclass(frozen=True, eq=False)
class Timeline:
    """Precomputed property values per step (read-only arrays), plus the sheet's phases and events."""

    source: str
    length: int
    values: dict[str, NDArray[np.float64]]
    keyframes: dict[str, list[tuple[int, float]]]
    spaces: dict[str, str]
    easings: dict[str, str]
    phases: list[tuple[int, str]]
    events: dict[int, list[str]]

    def __post_init__(self) -> None:
        for array in self.values.values():
            array.flags.writeable = False

    @classmethod
    def from_dopesheet(cls, sheet: Dopesheet) -> Timeline:
        """Compute every property's track over the sheet's length."""
        props = sheet.properties.values()
        return cls(
            source=sheet.source,
            length=sheet.length,
            values={p.name: render_track(p.keyframes, sheet.length, p.easing, p.space) for p in props},
            keyframes={p.name: list(p.keyframes) for p in props},
            spaces={p.name: p.space for p in props},
            easings={p.name: p.easing for p in props},
            phases=list(sheet.phases),
            events={step: list(names) for step, names in sheet.events.items()},
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Property names, in column order."""
        return tuple(self.values)
