"""BoundedFalloff: the gate strength of a suppression as a function of alignment (spec section 6)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ex_color.errors import UserError

from ._params import number


@dataclass(frozen=True)
class BoundedFalloff:
    """``f(d) = b * ((d - a) / (1 - a)) ** power`` for ``d > a``, else 0.

    Requires ``0 <= a < 1``, ``0 < b <= 1`` and ``power >= 0``. Power 0 is a constant gate: ``b`` for
    every ``d > a`` (0⁰ = 1), the redux experiments' half-space projection. Works elementwise on any tensor.
    """

    a: float = 0.0
    b: float = 1.0
    power: float = 2.0

    def __post_init__(self) -> None:
        a = number("falloff", "a", self.a)
        b = number("falloff", "b", self.b)
        power = number("falloff", "power", self.power)
        if not 0.0 <= a < 1.0:
            raise UserError(f"falloff: a must satisfy 0 <= a < 1 (got a={self.a!r})")
        if not 0.0 < b <= 1.0:
            raise UserError(f"falloff: b must satisfy 0 < b <= 1 (got b={self.b!r})")
        if power < 0.0:
            raise UserError(f"falloff: power must be >= 0 (got power={self.power!r})")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "power", power)

    def __call__(self, d: Tensor) -> Tensor:
        d = torch.as_tensor(d)
        if not d.is_floating_point():
            d = d.to(torch.get_default_dtype())
        # Clamping below at 0 keeps fractional powers away from negative bases; those rows are 0 anyway.
        ramp = ((d - self.a).clamp_min(0.0) / (1.0 - self.a)) ** self.power
        return torch.where(d > self.a, self.b * ramp, torch.zeros_like(d))
