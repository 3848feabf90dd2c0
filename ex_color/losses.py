"""The objective's regularizers (spec section 3): per-sample terms, label weighting, and the set of terms.

Each term maps the activations `z` [B, n] of one layer to a per-sample loss [B]. Terms are frozen
dataclasses so that two regularizers with the same term on the same layer share one computation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Anchor:
    """Pulls activations towards a fixed point: ``‖z − p‖²``."""

    point: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "point", tuple(float(x) for x in self.point))

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (z - z.new_tensor(self.point)).square().sum(-1)

    def padded_to(self, width: int) -> Anchor:
        """The same point in `width` dimensions: a concept like red = (1, 0, 0, 0) extends with zeros."""
        return Anchor(self.point + (0.0,) * (width - len(self.point)))


@dataclass(frozen=True)
class Separate:
    """Angular repulsion within a batch: ``Σ_j C_ij ** power`` over cosine similarities C."""

    power: float = 10.0
    shift: bool = False

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        unit = z / (z.norm(dim=-1, keepdim=True) + 1e-8)
        cos = unit @ unit.T
        # The diagonal, and duplicates drawn by sampling with replacement, are not repelled.
        cos = cos.masked_fill(cos >= 1 - 1e-5, 0.0)
        if self.shift:
            cos = (cos + 1) / 2
        return cos.pow(self.power).sum(-1)


@dataclass(frozen=True)
class Planarity:
    """Pulls activations onto the plane of the first two dimensions: ``Σ_{k≥2} z_k²``."""

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, 2:].square().sum(-1)


@dataclass(frozen=True)
class Unitarity:
    """Pulls activations onto the unit hypersphere: ``(‖z‖ − 1)²``."""

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (z.norm(dim=-1) - 1).square()


@dataclass(frozen=True)
class Regularizer:
    """A named loss term: what it computes, on which layers, and which labelled samples it applies to."""

    name: str
    term: object
    layers: tuple[str, ...]
    labels: Mapping[str, float] | None = None


def label_weighted_mean(per_sample: torch.Tensor, alpha: torch.Tensor | None) -> torch.Tensor:
    """Batch mean, or ``Σ α_i l_i / (Σ α_i + 1e-8)`` when the term has label affinities.

    When no sample carries the term's labels the result is 0 with zero gradient, which is the same as
    skipping the term, without a host sync to find out.
    """
    if alpha is None:
        return per_sample.mean()
    return (alpha * per_sample).sum() / (alpha.sum() + 1e-8)


def label_affinity(labels: torch.Tensor, label_names: Sequence[str], affinities: Mapping[str, float]) -> torch.Tensor:
    """``α_i = clamp(Σ_label label_i · a, 0, 1)`` for a batch of labels [B, n_labels]."""
    weights = labels.new_tensor([float(affinities.get(name, 0.0)) for name in label_names])
    return (labels @ weights).clamp(0.0, 1.0)


class RegularizerSet:
    """Evaluates a list of regularizers on captured activations, computing each shared term once."""

    def __init__(self, regularizers: Sequence[Regularizer], label_names: Sequence[str]):
        self.regularizers = list(regularizers)
        self.label_names = tuple(label_names)
        self.names = tuple(r.name for r in self.regularizers)
        self.layers = tuple(dict.fromkeys(layer for r in self.regularizers for layer in r.layers))

    def __call__(
        self,
        activations: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        active: Sequence[bool] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Returns {name: value} for every active term (inactive ones, e.g. weight 0, are not computed)."""
        per_sample_cache: dict[tuple[str, object], torch.Tensor] = {}
        alpha_cache: dict[tuple, torch.Tensor] = {}
        values: dict[str, torch.Tensor] = {}
        for index, reg in enumerate(self.regularizers):
            if active is not None and not active[index]:
                continue
            alpha = None
            if reg.labels is not None:
                key = tuple(sorted(reg.labels.items()))
                if key not in alpha_cache:
                    alpha_cache[key] = label_affinity(labels, self.label_names, reg.labels)
                alpha = alpha_cache[key]
            total = None
            for layer in reg.layers:
                cache_key = (layer, reg.term)
                if cache_key not in per_sample_cache:
                    per_sample_cache[cache_key] = reg.term(activations[layer])  # type: ignore[operator]
                value = label_weighted_mean(per_sample_cache[cache_key], alpha)
                total = value if total is None else total + value
            values[reg.name] = total  # type: ignore[assignment]
        return values
