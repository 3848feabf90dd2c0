"""The objective's regularizers (spec section 3): loss terms, and the set of terms one run trains with.

A term is a small frozen dataclass whose `__call__` maps the activations `z` [B, n] of one layer (one
batch) to a per-sample loss [B]. Autograd gives its gradient. A term that carries a point or a basis in
the layer's space may define `for_width(n)`, returning itself adapted to a layer of width n (or raising
ValueError when it cannot be). Terms are frozen (so hashable): equal terms on the same layer are computed
once per step. Seeds trained together reach a term through `torch.vmap`, so a term never sees a stack;
the built-in terms, written with batch-generic operations, declare `takes_stacks = True` and are called
on the stack directly, which saves vmap's fixed cost per step (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Protocol, runtime_checkable

import torch

log = logging.getLogger(__name__)


@runtime_checkable
class Term(Protocol):
    """What a regularizer computes: per-sample losses [B] of one batch of activations [B, n]."""

    def __call__(self, z: torch.Tensor) -> torch.Tensor: ...


@lru_cache(maxsize=64)
def _constant(values: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A small constant tensor, made once per (values, dtype, device) instead of once per step."""
    with torch.inference_mode(False):  # usable by autograd even when first made under inference mode
        return torch.tensor(values, dtype=dtype, device=device)


def power(x: torch.Tensor, p: float) -> torch.Tensor:
    """``x ** p``; a whole power from 1 to 64 by repeated squaring, which (with its gradient) costs far
    less than `pow` on a stack of cosine matrices (benchmarks/RESULTS.md)."""
    if not (float(p).is_integer() and 1 <= p <= 64):
        return x.pow(p)
    result, square, k = None, x, int(p)
    while k:
        if k & 1:
            result = square if result is None else result * square
        k >>= 1
        if k:
            square = square * square
    return result


@dataclass(frozen=True)
class Anchor:
    """Pulls activations towards a fixed point: ``‖z − p‖²``."""

    point: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "point", tuple(float(x) for x in self.point))

    takes_stacks: ClassVar[bool] = True  # __call__ also maps stacks [S, B, n] to [S, B]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (z - _constant(self.point, z.dtype, z.device)).square().sum(-1)

    def for_width(self, width: int):
        """The same point in `width` dimensions: a concept like red = (1, 0, 0, 0) extends with zeros."""
        if len(self.point) > width:
            raise ValueError(f"point has {len(self.point)} values, more than the layer's width {width}")
        return dataclasses.replace(self, point=self.point + (0.0,) * (width - len(self.point)))


@dataclass(frozen=True)
class AngularAnchor(Anchor):
    """Turns activations towards a direction, whatever their length: ``1 − ẑ·p̂`` with ``ẑ = z/(‖z‖ + 1e-8)``
    and ``p̂ = p/(‖p‖ + 1e-8)``; 0 on the ray through p, 2 opposite it."""

    def __post_init__(self):
        super().__post_init__()
        norm = math.sqrt(sum(x * x for x in self.point))
        object.__setattr__(self, "_direction", tuple(x / (norm + 1e-8) for x in self.point))

    takes_stacks: ClassVar[bool] = True  # __call__ also maps stacks [S, B, n] to [S, B]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        unit = z / (torch.linalg.vector_norm(z, dim=-1, keepdim=True) + 1e-8)
        return 1 - unit @ _constant(self._direction, z.dtype, z.device)


@dataclass(frozen=True)
class Separate:
    """Angular repulsion within a batch: ``Σ_j C_ij ** power`` over cosine similarities C."""

    power: float = 10.0
    shift: bool = False

    takes_stacks: ClassVar[bool] = True  # __call__ also maps stacks [S, B, n] to [S, B]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        unit = z / (torch.linalg.vector_norm(z, dim=-1, keepdim=True) + 1e-8)
        cos = unit @ unit.mT
        # The diagonal, and duplicates drawn by sampling with replacement, are not repelled.
        cos = cos.masked_fill(cos >= 1 - 1e-5, 0.0)
        if self.shift:
            cos = (cos + 1) / 2
        return power(cos, self.power).sum(-1)


@dataclass(frozen=True)
class AntiAnchor:
    """Pushes activations away from a direction: ``max(ẑ·p̂, 0)`` (`hemi`, the default: only rows on the
    point's side are charged), or ``(ẑ·p̂ + 1)/2`` (not `hemi`: charged everywhere, most at the point), with
    ``ẑ = z/(‖z‖ + 1e-8)`` and ``p̂ = p/(‖p‖ + 1e-8)``. Experiments 2.8 - 2.9.1 put it at −red."""

    point: tuple[float, ...]
    hemi: bool = True

    def __post_init__(self):
        object.__setattr__(self, "point", tuple(float(x) for x in self.point))
        object.__setattr__(self, "hemi", bool(self.hemi))
        norm = math.sqrt(sum(x * x for x in self.point))
        object.__setattr__(self, "_direction", tuple(x / (norm + 1e-8) for x in self.point))

    takes_stacks: ClassVar[bool] = True  # __call__ also maps stacks [S, B, n] to [S, B]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        unit = z / (torch.linalg.vector_norm(z, dim=-1, keepdim=True) + 1e-8)
        cos = unit @ _constant(self._direction, z.dtype, z.device)
        return cos.clamp_min(0) if self.hemi else (cos + 1) / 2

    for_width = Anchor.for_width


@dataclass(frozen=True)
class AxisAlignedSubspace:
    """Pulls activations into (or out of) the subspace of some latent dimensions D: ``Σ_{k∉D} z_k²`` keeps
    them in it; with `invert`, ``Σ_{k∈D} z_k²`` keeps them out. Dimensions past the layer's width are
    ignored; the loss is 0 when nothing is charged. {0, 1} is `Planarity`; experiments 2.9.1 - 2.10.1's
    anti-subspace is ({0}, invert)."""

    dims: tuple[int, ...]
    invert: bool = False

    def __post_init__(self):
        dims = tuple(self.dims) if not isinstance(self.dims, int) else (self.dims,)
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims):
            raise ValueError(f"dims must be latent dimension indices >= 0 (got {list(dims)!r})")
        object.__setattr__(self, "dims", tuple(sorted(set(dims))))
        object.__setattr__(self, "invert", bool(self.invert))

    takes_stacks: ClassVar[bool] = True  # __call__ also maps stacks [S, B, n] to [S, B]

    def charged(self, width: int) -> tuple[int, ...]:
        """The dimensions of a `width`-dim layer the loss charges."""
        return tuple(k for k in range(width) if (k in self.dims) == self.invert)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        charged = self.charged(z.shape[-1])
        if not charged:
            return z[..., :0].sum(-1)  # 0 (an empty sum), still part of the graph
        if charged == tuple(range(charged[0], charged[-1] + 1)):  # a run of dims: a slice (Planarity: z[..., 2:])
            return z[..., charged[0] : charged[-1] + 1].square().sum(-1)
        return z[..., list(charged)].square().sum(-1)


@dataclass(frozen=True)
class AxisHinge:
    """Pushes one latent dimension up to a margin: ``max(c − z_d, 0)²`` (0 once z_d ≥ c). The digits'
    anchor (docs/digits.md): on labelled 3s, c = 0.7 on a normalised latent (below 1: the sphere leaves the
    rest of the code room), c = 3 on a raw one; the anti-subspace ``z_d²`` keeps the other digits out."""

    dim: int = 0
    margin: float = 0.7

    def __post_init__(self):
        if not isinstance(self.dim, int) or isinstance(self.dim, bool) or self.dim < 0:
            raise ValueError(f"dim must be a latent dimension index >= 0 (got {self.dim!r})")
        object.__setattr__(self, "margin", float(self.margin))

    takes_stacks: ClassVar[bool] = True  # __call__ also maps stacks [S, B, n] to [S, B]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (self.margin - z[..., self.dim]).clamp_min(0).square()

    def for_width(self, width: int):
        if self.dim >= width:
            raise ValueError(f"dim {self.dim} is past the layer's width {width}")
        return self


@dataclass(frozen=True)
class Planarity(AxisAlignedSubspace):
    """Pulls activations onto the plane of the first two dimensions: ``Σ_{k≥2} z_k²`` (AxisAlignedSubspace
    of {0, 1}, under the name the earlier experiments' configs use)."""

    dims: tuple[int, ...] = (0, 1)
    invert: bool = False


@dataclass(frozen=True)
class L1Norm:
    """Shrinks activations towards the origin, sparsely: ``Σ_k |z_k|``. Gradient routing's bound: on the raw
    code (the routed layer itself), it keeps in check the dims whose reconstruction gradient a sample's
    routing stops (docs/gradient-routing.md)."""

    takes_stacks: ClassVar[bool] = True  # __call__ also maps stacks [S, B, n] to [S, B]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z.abs().sum(-1)


@dataclass(frozen=True)
class Unitarity:
    """Pulls activations onto the unit hypersphere: ``(‖z‖ − 1)²``."""

    takes_stacks: ClassVar[bool] = True  # __call__ also maps stacks [S, B, n] to [S, B]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (torch.linalg.vector_norm(z, dim=-1) - 1).square()


@dataclass(frozen=True)
class Regularizer:
    """A named loss term: what it computes, on which layers, and which labelled samples it applies to.

    `labels` maps label names to affinities: sample i counts with ``α_i = clamp(Σ label_i · affinity, 0, 1)``
    and the term's value is ``Σ α_i l_i / (Σ α_i + 1e-8)``; without `labels` it is the batch mean.
    `validate`: also measured on the validation set (`val/<name>`).
    """

    name: str
    term: Term
    layers: tuple[str, ...]
    labels: Mapping[str, float] | None = None
    validate: bool = False


def takes_stacks(term: Term) -> bool:
    """Whether the class that defines `term`'s `__call__` declares it takes stacks [S, B, n] too (a subclass
    that writes its own `__call__` does not inherit the promise)."""
    for cls in type(term).__mro__:
        if "__call__" in cls.__dict__:
            return bool(cls.__dict__.get("takes_stacks", False))
    return False


class _Pattern:
    """One set of active regularizers, prepared for evaluation.

    Each distinct (layer, term) pair is computed once (the `unique` terms); each (regularizer, layer)
    pair is a column, whose value is its term's per-sample values weighted by the column's sample
    weights. The sample weights of every column come from the labels in one product, for a whole block
    of batches at a time (`sample_weights`). A regularizer on several layers sums its columns.
    """

    def __init__(self, regularizers: Sequence[Regularizer], label_names: Sequence[str], active: tuple[int, ...]):
        self.active = active
        columns: list[tuple[str, Term]] = []
        owners: list[int] = []  # position in `active` of each column's regularizer
        affinities, biases = [], []
        for position, index in enumerate(active):
            reg = regularizers[index]
            for layer in reg.layers:
                columns.append((layer, reg.term))
                owners.append(position)
                labels = reg.labels or {}
                affinities.append([float(labels.get(name, 0.0)) for name in label_names])
                biases.append(0.0 if reg.labels is not None else 1.0)
        self.unique = list(dict.fromkeys(columns))
        self.layers = tuple(dict.fromkeys(layer for layer, _ in self.unique))
        self.column_term = [self.unique.index(column) for column in columns]
        self.gather = self.column_term != list(range(len(self.unique)))  # a term shared by several columns
        self.owners = owners
        self.several_layers = len(columns) != len(active)
        self._affinity = torch.tensor(affinities, dtype=torch.float32).reshape(len(columns), len(label_names)).T
        self._bias = torch.tensor(biases, dtype=torch.float32)
        self._vectorised: Callable | None = None

    def sample_weights(self, labels: torch.Tensor) -> torch.Tensor:
        """α_ic / (Σ_i α_ic + ε) [..., B, C] for labels [..., B, n_labels]; ε = 0 for unlabelled columns,
        so their weights are exactly 1/B."""
        affinity = self._affinity.to(labels.device, labels.dtype)
        bias = self._bias.to(labels.device, labels.dtype)
        with torch.no_grad():
            alpha = (labels @ affinity + bias).clamp_(0.0, 1.0)
            return alpha / (alpha.sum(-2, keepdim=True) + (1 - bias) * 1e-8)

    def per_sample(self, *zs: torch.Tensor) -> torch.Tensor:
        """[B, U]: each unique term of one batch of activations (`zs` in the order of `layers`)."""
        by_layer = dict(zip(self.layers, zs))
        return torch.stack([term(by_layer[layer]) for layer, term in self.unique], dim=-1)

    def stacked_per_sample(self, *zs: torch.Tensor) -> torch.Tensor:
        """[S, B, U] for stacks of batches [S, B, n]: each member's batch alone, through `torch.vmap` (or,
        for a term vmap cannot trace, one member at a time), or directly when every term takes stacks."""
        if self._vectorised is None and all(takes_stacks(term) for _, term in self.unique):
            self._vectorised = self.per_sample
        if self._vectorised is None:
            try:
                result = torch.vmap(self.per_sample)(*zs)
                self._vectorised = torch.vmap(self.per_sample)
                return result
            except Exception as error:  # e.g. a term that calls .item() or branches on values
                log.warning("a regularizer term cannot run under torch.vmap (%s); seeds compute it one by one", error)
                self._vectorised = lambda *stack: torch.stack([self.per_sample(*member) for member in zip(*stack)])
        return self._vectorised(*zs)

    def __call__(self, activations: Mapping[str, torch.Tensor], weights: torch.Tensor, stacked: bool) -> torch.Tensor:
        zs = [activations[layer] for layer in self.layers]
        per_sample = self.stacked_per_sample(*zs) if stacked else self.per_sample(*zs)
        if self.gather:
            per_sample = per_sample[..., self.column_term]
        values = (per_sample * weights).sum(-2)  # [..., C]: each column's weighted mean
        if self.several_layers:
            owners = torch.tensor(self.owners, device=values.device)
            values = values.new_zeros(*values.shape[:-1], len(self.active)).index_add(-1, owners, values)
        return values


class RegularizerSet:
    """The regularizers of a run, evaluated on captured activations for any subset of them at a time."""

    def __init__(self, regularizers: Sequence[Regularizer], label_names: Sequence[str]):
        self.regularizers = list(regularizers)
        self.label_names = tuple(label_names)
        self.names = tuple(r.name for r in self.regularizers)
        self.layers = tuple(dict.fromkeys(layer for r in self.regularizers for layer in r.layers))
        self.validated = tuple(index for index, r in enumerate(self.regularizers) if r.validate)
        self._patterns: dict[tuple[int, ...], _Pattern] = {}

    def active_indices(self, active: Sequence[bool] | None = None) -> tuple[int, ...]:
        """Indices of the active regularizers (all when `active` is None)."""
        if active is None:
            return tuple(range(len(self.regularizers)))
        return tuple(index for index, on in enumerate(active) if on)

    def pattern(self, active: tuple[int, ...]) -> _Pattern:
        pattern = self._patterns.get(active)
        if pattern is None:
            pattern = self._patterns[active] = _Pattern(self.regularizers, self.label_names, active)
        return pattern

    def sample_weights(self, labels: torch.Tensor, active: tuple[int, ...]) -> torch.Tensor:
        """The label weights `evaluate` takes, for labels [..., B, n_labels] (a block of batches at once)."""
        return self.pattern(active).sample_weights(labels)

    def evaluate(
        self,
        activations: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        active: tuple[int, ...],
        weights: torch.Tensor | None = None,
        stacked: bool = False,
    ) -> torch.Tensor:
        """Values [..., len(active)] of the regularizers at indices `active`; the others are not computed.

        `activations` are [B, n] per layer, or stacks [S, B, n] of independent batches when `stacked`
        (then the values are [S, len(active)]). `weights` is `sample_weights(labels, active)` when the
        caller has it already.
        """
        pattern = self.pattern(active)
        if weights is None:
            weights = pattern.sample_weights(labels)
        return pattern(activations, weights, stacked)

    def __call__(
        self, activations: Mapping[str, torch.Tensor], labels: torch.Tensor, active: Sequence[bool] | None = None
    ) -> dict[str, torch.Tensor]:
        """{name: value} for every active regularizer of one batch (inactive ones are not computed)."""
        indices = self.active_indices(active)
        if not indices:
            return {}
        values = self.evaluate(activations, labels, indices)
        return {self.names[index]: values[position] for position, index in enumerate(indices)}
