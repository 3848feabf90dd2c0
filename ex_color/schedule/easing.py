"""Easings: how a property moves from its current state to its next keyframe.

Every easing here is a pure function of a start state (value, velocity, acceleration, all per
schedule step), a target value and a duration ``T`` in steps. Each returns the values at steps
``0..T`` of the transition (``T + 1`` of them, the last one exactly the target) and the state it
ends in, which is the start state of the next transition (spec §4).

The minimum-jerk easing is the quintic that starts at the given value, velocity and acceleration
and arrives at the target with zero velocity and acceleration. In normalised time ``τ = s / T``,
with ``V0 = v0·T``, ``A0 = a0·T²`` and ``h = x1 − x0``, its coefficients are::

    c0 = x0       c1 = V0       c2 = A0 / 2
    c3 = 10h − 6V0 − 1.5A0
    c4 = −15h + 8V0 + 1.5A0
    c5 = 6h − 3V0 − 0.5A0
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

EASINGS: tuple[str, ...] = ("minjerk", "linear", "step-end")
"""Canonical easing names; the first is the default."""

EASING_ALIASES: dict[str, str] = {"step": "step-end"}
"""Other spellings accepted in a dopesheet header."""

SPACES: tuple[str, ...] = ("linear", "log")
"""Value spaces; the first is the default."""


class State(NamedTuple):
    """Where a property is and how it moves, per schedule step."""

    value: float
    velocity: float = 0.0
    acceleration: float = 0.0


def canonical_easing(name: str) -> str | None:
    """The canonical name of an easing (``step`` → ``step-end``), or None if unknown."""
    name = EASING_ALIASES.get(name, name)
    return name if name in EASINGS else None


# --- minimum jerk -----------------------------------------------------------------------------


def minjerk_coefficients(x0: float, v0: float, a0: float, x1: float, T: float) -> NDArray[np.float64]:
    """Coefficients ``c0..c5`` (in powers of τ) of the min-jerk quintic from ``(x0, v0, a0)`` to ``x1``.

    ``v0`` and ``a0`` are per step; ``T`` (> 0) is the duration in steps.
    """
    if T <= 0:
        raise ValueError(f"duration must be positive, got {T}")
    V0 = v0 * T
    A0 = a0 * T * T
    h = x1 - x0
    return np.array(
        [
            x0,
            V0,
            A0 / 2,
            10 * h - 6 * V0 - 1.5 * A0,
            -15 * h + 8 * V0 + 1.5 * A0,
            6 * h - 3 * V0 - 0.5 * A0,
        ],
        dtype=np.float64,
    )


def _polyval(coeffs: NDArray[np.float64], tau: ArrayLike) -> NDArray[np.float64]:
    """Evaluate ``Σ c_k τ^k`` (coefficients in ascending powers) by Horner's rule."""
    tau = np.asarray(tau, dtype=np.float64)
    out = np.zeros_like(tau)
    for c in coeffs[::-1]:
        out = out * tau + c
    return out


def minjerk_value(coeffs: NDArray[np.float64], tau: ArrayLike) -> NDArray[np.float64]:
    """Value of the quintic at normalised times ``tau``."""
    return _polyval(coeffs, tau)


def minjerk_velocity(coeffs: NDArray[np.float64], tau: ArrayLike, T: float) -> NDArray[np.float64]:
    """Velocity (per step) of the quintic at normalised times ``tau``, for duration ``T``."""
    d1 = coeffs[1:] * np.arange(1, 6)
    return _polyval(d1, tau) / T


def minjerk_acceleration(coeffs: NDArray[np.float64], tau: ArrayLike, T: float) -> NDArray[np.float64]:
    """Acceleration (per step²) of the quintic at normalised times ``tau``, for duration ``T``."""
    d2 = coeffs[2:] * np.array([2.0, 6.0, 12.0, 20.0])
    return _polyval(d2, tau) / (T * T)


# --- segments ---------------------------------------------------------------------------------


def _steps(T: int) -> NDArray[np.float64]:
    if T <= 0:
        raise ValueError(f"duration must be a positive number of steps, got {T}")
    return np.arange(T + 1, dtype=np.float64) / T


def minjerk_segment(start: State, x1: float, T: int) -> tuple[NDArray[np.float64], State]:
    """Min-jerk transition: values at steps ``0..T`` and the (resting) end state."""
    coeffs = minjerk_coefficients(start.value, start.velocity, start.acceleration, x1, T)
    values = minjerk_value(coeffs, _steps(T))
    values[-1] = x1
    return values, State(x1, 0.0, 0.0)


def linear_segment(start: State, x1: float, T: int) -> tuple[NDArray[np.float64], State]:
    """Straight line from the current value; ends moving at its slope."""
    tau = _steps(T)
    values = start.value + (x1 - start.value) * tau
    values[-1] = x1
    return values, State(x1, (x1 - start.value) / T, 0.0)


def step_end_segment(start: State, x1: float, T: int) -> tuple[NDArray[np.float64], State]:
    """Hold the current value, jump to the target on the last step; ends at rest."""
    values = np.full(T + 1, start.value, dtype=np.float64)
    values[-1] = x1
    return values, State(x1, 0.0, 0.0)


SEGMENTS = {
    "minjerk": minjerk_segment,
    "linear": linear_segment,
    "step-end": step_end_segment,
}


def ease(easing: str, start: State, x1: float, T: int) -> tuple[NDArray[np.float64], State]:
    """Values at steps ``0..T`` of a transition along ``easing`` (any accepted spelling)."""
    name = canonical_easing(easing)
    if name is None:
        raise ValueError(f"unknown easing {easing!r}; expected one of {', '.join(EASINGS)}")
    return SEGMENTS[name](start, x1, T)
