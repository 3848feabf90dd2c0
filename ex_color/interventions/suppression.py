"""Suppression: remove (part of) the concept component of each row (spec section 6)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from .concept import check_width, unit_concept


class Suppression(nn.Module):
    """``z' = z - g * (z . c) * c`` with gate ``g = falloff(clamp(z . c, 0, 1))``.

    The gate uses the clamped alignment; the removed projection uses the unclamped dot product, so a row
    exactly on the concept (any positive scale) loses its whole concept component when ``g = 1``.
    ``concept`` is normalised to unit length; ``falloff`` maps alignment tensors to gate tensors.
    """

    concept: Tensor

    def __init__(self, concept: Tensor, falloff: Callable[[Tensor], Tensor]):
        super().__init__()
        self.register_buffer("concept", unit_concept(concept, "suppression"))
        self.falloff = falloff

    def forward(self, z: Tensor) -> Tensor:
        check_width(z, self.concept, "suppression")
        c = self.concept.to(device=z.device, dtype=z.dtype)
        dot = z @ c
        gate = self.falloff(dot.clamp(0.0, 1.0)).to(z.dtype)
        return z - (gate * dot).unsqueeze(-1) * c

    def extra_repr(self) -> str:
        return f"falloff={self.falloff!r}"
