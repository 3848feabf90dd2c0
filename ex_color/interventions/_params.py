"""Small shared validators for intervention parameters (internal)."""

from __future__ import annotations

import math

from ex_color.errors import UserError


def number(owner: str, name: str, value: object) -> float:
    """`value` as a finite float, or a UserError naming `owner` and the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{owner}: {name} must be a number (got {name}={value!r})")
    result = float(value)
    if not math.isfinite(result):
        raise UserError(f"{owner}: {name} must be finite (got {name}={value!r})")
    return result
