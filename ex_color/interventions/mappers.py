"""Alignment mappers for Repulsion: map an alignment d to a target alignment d* (spec section 6).

All mappers are the identity for ``d <= a``. Above ``a`` the input is clamped to at most 1 (the largest
alignment a unit concept can have with a clamped dot product), so ``mapper(d) == mapper(1)`` for d > 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ex_color.errors import UserError

from ._params import number

K = 1.0 / math.sqrt(2.0)
"""Fraction of the way from each end point towards the tangent intersection for the inner control points."""

_BISECTION_STEPS = 60  # halves [0, 1] down to ~1e-18 in t: far below the 1e-7 target


def _validated(a: object, b: object) -> tuple[float, float]:
    fa = number("mapper", "a", a)
    fb = number("mapper", "b", b)
    if not -1.0 < fa < 1.0:
        raise UserError(f"mapper: a must satisfy -1 < a < 1 (got a={a!r})")
    if not fb < 1.0:
        raise UserError(f"mapper: b must be less than 1 (got b={b!r})")
    if not fa < fb:
        raise UserError(f"mapper: a must be less than b (got a={a!r}, b={b!r})")
    return fa, fb


def _float(d: Tensor) -> Tensor:
    d = torch.as_tensor(d)
    return d if d.is_floating_point() else d.to(torch.get_default_dtype())


@dataclass(frozen=True)
class LinearMapper:
    """For ``d > a``: ``a + (d - a) / (1 - a) * (b - a)``; identity otherwise. Maps (a, 1] onto (a, b]."""

    a: float
    b: float

    def __post_init__(self) -> None:
        a, b = _validated(self.a, self.b)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    def __call__(self, d: Tensor) -> Tensor:
        d = _float(d)
        mapped = self.a + (d.clamp_max(1.0) - self.a) / (1.0 - self.a) * (self.b - self.a)
        return torch.where(d > self.a, mapped, d)


Point = tuple[float, float]


def bezier_control_points(a: float, b: float) -> tuple[Point, Point, Point, Point]:
    """P0..P3 of the cubic from (a, a) (slope 1) to (1, b) (slope 0); tangents meet at I = (b, b)."""
    p0, p3, i = (a, a), (1.0, b), (b, b)
    p1 = (p0[0] + K * (i[0] - p0[0]), p0[1] + K * (i[1] - p0[1]))
    p2 = (p3[0] + K * (i[0] - p3[0]), p3[1] + K * (i[1] - p3[1]))
    return p0, p1, p2, p3


def _cubic(t: Tensor, c0: float, c1: float, c2: float, c3: float) -> Tensor:
    s = 1.0 - t
    return s**3 * c0 + 3.0 * s**2 * t * c1 + 3.0 * s * t**2 * c2 + t**3 * c3


def _curve(t: Tensor, pts: tuple[Point, Point, Point, Point]) -> tuple[Tensor, Tensor]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
    return _cubic(t, x0, x1, x2, x3), _cubic(t, y0, y1, y2, y3)


@dataclass(frozen=True)
class BezierMapper:
    """Identity for ``d <= a``; above, the Bézier curve evaluated exactly.

    x(t) is strictly increasing on [0, 1] (all control x-coordinates increase), so x(t) = d is solved by
    vectorised bisection in float64, then y(t) is returned in the input's dtype.
    """

    a: float
    b: float

    def __post_init__(self) -> None:
        a, b = _validated(self.a, self.b)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    @property
    def control_points(self) -> tuple[Point, Point, Point, Point]:
        return bezier_control_points(self.a, self.b)

    def __call__(self, d: Tensor) -> Tensor:
        d = _float(d)
        pts = self.control_points
        target = d.to(torch.float64).clamp(self.a, 1.0)
        lo = torch.zeros_like(target)
        hi = torch.ones_like(target)
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            below = _curve(mid, pts)[0] < target
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
        _, y = _curve(0.5 * (lo + hi), pts)
        return torch.where(d > self.a, y.to(d.dtype), d)


@dataclass(frozen=True)
class FastBezierMapper:
    """The BezierMapper curve from an ``n``-point lookup table (uniform in t) with linear interpolation."""

    a: float
    b: float
    n: int = 1000
    _xs: Tensor = field(init=False, repr=False, compare=False)
    _ys: Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        a, b = _validated(self.a, self.b)
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 2:
            raise UserError(f"mapper: n must be an integer >= 2 (got n={self.n!r})")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        t = torch.linspace(0.0, 1.0, self.n, dtype=torch.float64)
        xs, ys = _curve(t, bezier_control_points(a, b))
        object.__setattr__(self, "_xs", xs.contiguous())
        object.__setattr__(self, "_ys", ys.contiguous())

    @property
    def control_points(self) -> tuple[Point, Point, Point, Point]:
        return bezier_control_points(self.a, self.b)

    def __call__(self, d: Tensor) -> Tensor:
        d = _float(d)
        xs, ys = self._xs.to(d.device), self._ys.to(d.device)
        x = d.to(torch.float64).clamp(self.a, 1.0)
        hi = torch.searchsorted(xs, x.contiguous(), right=True).clamp(1, self.n - 1)
        x0, x1, y0, y1 = xs[hi - 1], xs[hi], ys[hi - 1], ys[hi]
        w = ((x - x0) / (x1 - x0)).clamp(0.0, 1.0)
        y = y0 + w * (y1 - y0)
        return torch.where(d > self.a, y.to(d.dtype), d)
