"""The dopesheet schedule: parsing and validation, easings, and the precomputed timeline (spec §4)."""

from ex_color.schedule.dopesheet import Dopesheet, Property, load_dopesheet, parse_dopesheet
from ex_color.schedule.easing import (
    EASINGS,
    SPACES,
    State,
    canonical_easing,
    ease,
    linear_segment,
    minjerk_acceleration,
    minjerk_coefficients,
    minjerk_segment,
    minjerk_value,
    minjerk_velocity,
    step_end_segment,
)
from ex_color.schedule.timeline import Timeline, render_track

__all__ = [
    "EASINGS",
    "SPACES",
    "Dopesheet",
    "Property",
    "State",
    "Timeline",
    "canonical_easing",
    "ease",
    "linear_segment",
    "load_dopesheet",
    "minjerk_acceleration",
    "minjerk_coefficients",
    "minjerk_segment",
    "minjerk_value",
    "minjerk_velocity",
    "parse_dopesheet",
    "render_track",
    "step_end_segment",
]
