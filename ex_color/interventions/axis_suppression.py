"""Axis-aligned suppression (later-experiments §0.6, experiment 2.7.1): zero chosen latent dimensions of a
layer's output at inference, without renormalising (unlike ablation, whose zeros come before the
normalisation)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ex_color.errors import UserError


class AxisSuppression(nn.Module):
    """``z'_k = 0`` for k in `dims`, every other coordinate unchanged."""

    def __init__(self, dims: Sequence[int]):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() == 0 or (self.dims and max(self.dims) >= z.shape[-1]):
            raise UserError(f"axis-suppression: dims {list(self.dims)} outside a layer output of shape {list(z.shape)}")
        keep = torch.ones(z.shape[-1], dtype=z.dtype, device=z.device)
        keep[list(self.dims)] = 0.0
        return z * keep

    def extra_repr(self) -> str:
        return f"dims={list(self.dims)}"
