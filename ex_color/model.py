"""ColorMLP: the RGB -> RGB autoencoder with a small bottleneck (spec section 2)."""

from __future__ import annotations

import torch
from torch import nn


class L2Normalize(nn.Module):
    """Scales each row to unit length (the explicit-normalisation variant's `bottleneck`)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z / z.norm(dim=-1, keepdim=True).clamp_min(self.eps)


class HookPoint(nn.Module):
    """Identity: a stable, meaningful name to hook (TransformerLens' HookPoint), whatever surrounds it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class ColorMLP(nn.Module):
    """RGB -> `bottleneck` dims -> RGB.

    encoder: Linear(3, hidden) -> GELU -> Linear(hidden, bottleneck)
    decoder: Linear(bottleneck, hidden) -> GELU -> Linear(hidden, 3) -> Sigmoid

    With ``normalize=True`` (experiments 2.3 on) an L2-normalising module named ``bottleneck`` follows
    the encoder, the decoder has no Sigmoid, and outputs are clamped to [0, 1] outside training.

    ``latent`` is an identity module at the latent the concepts live in (after the normalisation when
    there is one): regularizers and interventions name it to act there whatever the variant.
    """

    def __init__(self, bottleneck: int = 4, hidden: int = 16, normalize: bool = False):
        super().__init__()
        self.bottleneck_dim = bottleneck
        self.hidden = hidden
        self.normalize = normalize
        self.encoder = nn.Sequential(nn.Linear(3, hidden), nn.GELU(), nn.Linear(hidden, bottleneck))
        if normalize:
            self.bottleneck = L2Normalize()
            self.decoder = nn.Sequential(nn.Linear(bottleneck, hidden), nn.GELU(), nn.Linear(hidden, 3))
        else:
            self.decoder = nn.Sequential(nn.Linear(bottleneck, hidden), nn.GELU(), nn.Linear(hidden, 3), nn.Sigmoid())
        self.latent = HookPoint()

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        z = self.encoder(rgb)
        if self.normalize:
            z = self.bottleneck(z)
        out = self.decoder(self.latent(z))
        if self.normalize and not self.training:
            out = out.clamp(0.0, 1.0)
        return out

    @property
    def latent_layer(self) -> str:
        """The module whose output is the latent space the concepts live in."""
        return "bottleneck" if self.normalize else "encoder"
