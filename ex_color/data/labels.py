"""Weak labels computed from colours (spec section 1): the probability that a colour is 'red' or 'vibrant'."""

from __future__ import annotations

from collections.abc import Callable

import torch


def red_probability(rgb: torch.Tensor, vibrancy: torch.Tensor) -> torch.Tensor:
    r, g, b = rgb.unbind(-1)
    return (r * (1 - g / 2 - b / 2)).clamp_min(0) ** 10


def vibrant_probability(rgb: torch.Tensor, vibrancy: torch.Tensor) -> torch.Tensor:
    return vibrancy**100


LABELS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "red": red_probability,
    "vibrant": vibrant_probability,
}


def label_probabilities(rgb: torch.Tensor, vibrancy: torch.Tensor, scales: dict[str, float]) -> torch.Tensor:
    """Scaled label probabilities, one column per entry of `scales` (in its order): [..., n_labels]."""
    return torch.stack([LABELS[name](rgb, vibrancy) * scale for name, scale in scales.items()], dim=-1)
