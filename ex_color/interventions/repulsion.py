"""Repulsion: rotate rows that point towards the concept to a target alignment (spec section 6)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ex_color.errors import UserError

from ._params import number
from .concept import check_width, unit_concept

PERP_EPS = 1e-8
"""Below this perpendicular length a row is treated as exactly on the concept axis."""


def fallback_direction(c: Tensor) -> Tensor:
    """A deterministic unit vector orthogonal to unit ``c``: the basis vector least aligned with ``c``
    (lowest index on ties), with its ``c`` component removed. Needs ``c`` to have at least 2 dims."""
    e = torch.zeros_like(c)
    e[int(c.abs().argmin())] = 1.0
    v = e - (e @ c) * c
    return v / v.norm()


class Repulsion(nn.Module):
    """Rotate rows with positive alignment ``d = clamp(z . c, 0, 1)`` to alignment ``d* = mapper(d)``.

    Split ``z = (z . c) c + v_perp`` with the UNclamped dot product, so ``v_perp`` is exactly orthogonal
    to ``c`` even for rows longer than 1 (the spec's ``z = d c + v_perp`` read literally would leave a
    concept component in ``v_perp`` whenever ``z . c > 1``). ``u = v_perp / |v_perp|``, or
    :func:`fallback_direction` when ``|v_perp| < 1e-8``. With ``d*`` clamped into ``(-1 + eps, 1 - eps)``
    rows with ``d > 0`` become ``d* c + sqrt(1 - d*^2) u`` (unit length, alignment exactly ``d*``); rows
    with ``d <= 0`` pass through unchanged.
    """

    concept: Tensor
    fallback: Tensor

    def __init__(self, concept: Tensor, mapper: Callable[[Tensor], Tensor], eps: float = 1e-6):
        super().__init__()
        c = unit_concept(concept, "repulsion")
        if c.numel() < 2:
            raise UserError("repulsion: concept needs at least 2 dims to rotate around (got 1)")
        eps = number("repulsion", "eps", eps)
        if not 0.0 < eps < 1.0:
            raise UserError(f"repulsion: eps must satisfy 0 < eps < 1 (got eps={eps!r})")
        self.register_buffer("concept", c)
        self.register_buffer("fallback", fallback_direction(c))
        self.mapper = mapper
        self.eps = eps

    def forward(self, z: Tensor) -> Tensor:
        check_width(z, self.concept, "repulsion")
        c = self.concept.to(device=z.device, dtype=z.dtype)
        dot = z @ c
        d = dot.clamp(0.0, 1.0)
        target = self.mapper(d).to(z.dtype).clamp(-1.0 + self.eps, 1.0 - self.eps)
        perp = z - dot.unsqueeze(-1) * c
        length = perp.norm(dim=-1, keepdim=True)
        fallback = self.fallback.to(device=z.device, dtype=z.dtype).expand_as(perp)
        u = torch.where(length < PERP_EPS, fallback, perp / length.clamp_min(PERP_EPS))
        rotated = target.unsqueeze(-1) * c + torch.sqrt(1.0 - target**2).unsqueeze(-1) * u
        return torch.where((d > 0).unsqueeze(-1), rotated, z)

    def extra_repr(self) -> str:
        return f"mapper={self.mapper!r}, eps={self.eps}"
