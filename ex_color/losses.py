"""The objective's regularizers (spec section 3): per-sample terms, label weighting, and the set of terms.

Each term maps the activations `z` [B, n] of one layer to a per-sample loss [B]. Terms are frozen
dataclasses so that two regularizers with the same term on the same layer share one computation.
Everything here also takes a stack of independent batches, `z` [S, B, n] (a batched seed ensemble, see
`ex_color.ensemble`): each batch's values and gradients are the same numbers as computing it alone.

Speed: the model is tiny, so a training step costs what its number of tensor operations costs, not
their size. `RegularizerSet` therefore evaluates all active terms together (`_Plan`): the label
weights of every term from one matrix product (for a whole block of batches at once, if the caller
likes), every term's weighted batch mean from one more, and — for the built-in terms — one autograd
node whose backward pass is the terms' gradients written out (the `_fused` methods), sharing the row
norms between terms. The values are the same operations as each term's `__call__`; the gradients are
the same maths as autograd's, equal to rounding (benchmarks/bench_training.py checks both in float64
against a plain implementation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch.autograd.function import once_differentiable

# A built-in term's fused form, `_fused(z, shared, grad)`: its per-sample values [B] and, when `grad`,
# its gradient up to the constant factor `_gradient_scale()` — for a term of each sample's own
# activations (`_per_sample`) the rows ∂value_i/∂z_i / scale [B, n], for a term that couples the batch
# a function mapping scale·g [B] to Σ_i g_i ∂value_i/∂z [B, n]. (The scale is applied in one matrix
# product for all terms together.)
Fused = tuple[torch.Tensor, "torch.Tensor | Callable[[torch.Tensor], torch.Tensor] | None"]


@lru_cache(maxsize=64)
def _constant(values: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A small constant tensor, made once per (values, dtype, device) instead of once per step.

    Callers must not modify it in place.
    """
    with torch.inference_mode(False):  # usable by autograd even when first made under inference mode
        return torch.tensor(values, dtype=dtype, device=device)


def _row_norms(z: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
    # What `z.norm(dim=-1)` computes (bit for bit), without `torch.functional.norm`'s Python dispatch.
    return torch.linalg.vector_norm(z, 2, -1, keepdim)


class _Powers:
    """``x ** p`` for a whole power 1 ≤ p ≤ 64 by repeated squaring (a few multiplications, far cheaper
    than `pow`), keeping the squares so that ``x ** (p - 1)``, the gradient's factor, costs one or two
    more; any other exponent goes to `torch.pow`."""

    def __init__(self, x: torch.Tensor, p: float):
        self.x = x
        self.whole = float(p).is_integer() and 1 <= p <= 64
        self.squares = [x]  # x ** (2 ** k)
        if self.whole:
            while 2 ** len(self.squares) <= p:
                self.squares.append(self.squares[-1] * self.squares[-1])

    def __call__(self, p: float) -> torch.Tensor:
        if not (self.whole and float(p).is_integer() and 1 <= p < 2 ** len(self.squares)):
            return self.x.pow(p)
        result = None
        for k, square in enumerate(self.squares):
            if int(p) >> k & 1:
                result = square if result is None else result * square
        return result  # type: ignore[return-value]


class _Shared:
    """Intermediates several terms on one layer use, computed once: the row norms and their inverses."""

    __slots__ = ("z", "_norm", "_inverse")

    def __init__(self, z: torch.Tensor):
        self.z = z
        self._norm: torch.Tensor | None = None
        self._inverse: torch.Tensor | None = None

    @property
    def norm(self) -> torch.Tensor:
        """‖z_i‖ as [B, 1]."""
        if self._norm is None:
            self._norm = _row_norms(self.z, keepdim=True)
        return self._norm

    @property
    def inverse(self) -> torch.Tensor:
        """1 / ‖z_i‖ as [B, 1], 0 where z_i = 0 (where autograd's norm gradient is 0 too)."""
        if self._inverse is None:
            self._inverse = self.norm.reciprocal().nan_to_num_(nan=float("nan"), posinf=0.0)
        return self._inverse


@dataclass(frozen=True)
class Anchor:
    """Pulls activations towards a fixed point: ``‖z − p‖²``."""

    point: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "point", tuple(float(x) for x in self.point))

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (z - _constant(self.point, z.dtype, z.device)).square().sum(-1)

    def padded_to(self, width: int) -> Anchor:
        """The same point in `width` dimensions: a concept like red = (1, 0, 0, 0) extends with zeros."""
        return Anchor(self.point + (0.0,) * (width - len(self.point)))

    _per_sample = True

    def _gradient_scale(self) -> float:
        return 2.0

    def _fused(self, z: torch.Tensor, shared: _Shared, grad: bool) -> Fused:
        offset = z - _constant(self.point, z.dtype, z.device)
        return offset.square().sum(-1), offset  # ∂/∂z = 2 (z − p)


@dataclass(frozen=True)
class Separate:
    """Angular repulsion within a batch: ``Σ_j C_ij ** power`` over cosine similarities C."""

    power: float = 10.0
    shift: bool = False

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        unit = z / (_row_norms(z, keepdim=True) + 1e-8)
        cos = unit @ unit.mT
        # The diagonal, and duplicates drawn by sampling with replacement, are not repelled.
        cos = cos.masked_fill(cos >= 1 - 1e-5, 0.0)
        if self.shift:
            cos = (cos + 1) / 2
        return _Powers(cos, self.power)(self.power).sum(-1)

    _per_sample = False

    def _gradient_scale(self) -> float:
        return float(self.power) * (0.5 if self.shift else 1.0)  # ∂C_ij^p/∂cos_ij = scale · C_ij^(p−1)

    def _fused(self, z: torch.Tensor, shared: _Shared, grad: bool) -> Fused:
        scale = shared.norm + 1e-8
        unit = z / scale
        cos = unit @ unit.mT
        repelled = cos >= 1 - 1e-5
        cos.masked_fill_(repelled, 0.0)
        if self.shift:
            cos = (cos + 1) / 2
        power = float(self.power)
        powers = _Powers(cos, power)
        value = powers(power).sum(-1)
        if not grad:
            return value, None

        def vjp(g: torch.Tensor) -> torch.Tensor:
            # G_ij = g_i ∂C_ij^p/∂cos_ij, zero where the mask cut the graph; cos = U Uᵀ, U = z / (‖z‖ + ε).
            if power == 0:
                return torch.zeros_like(z)
            grad_cos = powers(power - 1) * g.unsqueeze(-1)
            if self.shift or power <= 1:  # otherwise C_ij = 0 where masked, and so is its gradient
                grad_cos.masked_fill_(repelled, 0.0)
            grad_unit = (grad_cos + grad_cos.mT) @ unit
            # Through U = z / (‖z‖ + ε): ∂/∂z = (grad_U − U (grad_U·U) (‖z‖ + ε)/‖z‖) / (‖z‖ + ε).
            radial = (grad_unit * unit).sum(-1, keepdim=True) * shared.inverse
            return grad_unit / scale - unit * radial

        return value, vjp


@dataclass(frozen=True)
class Planarity:
    """Pulls activations onto the plane of the first two dimensions: ``Σ_{k≥2} z_k²``."""

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z[..., 2:].square().sum(-1)

    _per_sample = True

    def _gradient_scale(self) -> float:
        return 2.0

    def _fused(self, z: torch.Tensor, shared: _Shared, grad: bool) -> Fused:
        value = z[..., 2:].square().sum(-1)
        if not grad:
            return value, None
        off_plane = _constant((0.0, 0.0) + (1.0,) * (z.shape[-1] - 2), z.dtype, z.device)[: z.shape[-1]]
        return value, z * off_plane  # ∂/∂z = 2 z off the plane


@dataclass(frozen=True)
class Unitarity:
    """Pulls activations onto the unit hypersphere: ``(‖z‖ − 1)²``."""

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (_row_norms(z) - 1).square()

    _per_sample = True

    def _gradient_scale(self) -> float:
        return 2.0

    def _fused(self, z: torch.Tensor, shared: _Shared, grad: bool) -> Fused:
        excess = shared.norm - 1
        value = excess.square().squeeze(-1)
        if not grad:
            return value, None
        return value, z * (excess * shared.inverse)  # ∂/∂z = 2 (‖z‖ − 1) z / ‖z‖


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
    weights = _constant(tuple(float(affinities.get(name, 0.0)) for name in label_names), labels.dtype, labels.device)
    return (labels @ weights).clamp(0.0, 1.0)


_FUSED_TERMS = (Anchor, Separate, Planarity, Unitarity)  # exactly these types (a subclass may change __call__)


class _Plan:
    """How to evaluate one set of active regularizers in a few tensor operations.

    Every distinct (layer, term) pair is computed once (U of them); every (regularizer, layer) pair is
    a column (C of them). The sample weights α_ic / (Σ_i α_ic + 1e-8) of the columns form a [B, C]
    matrix made from the labels alone (so it can be made for a whole block of batches at once; a
    regularizer without labels weighs every sample 1, and divides by B exactly). A column's value is
    the weighted sum of its term's per-sample values: the batch mean, or `label_weighted_mean`. A
    regularizer on several layers sums its columns. Columns never mix: a term that goes non-finite
    makes only its own regularizers non-finite.

    With only built-in terms the whole evaluation is one autograd node (`_FusedTerms`) whose backward
    pass is the terms' gradients written out; otherwise autograd records each term as usual.
    """

    def __init__(self, regularizers: Sequence[Regularizer], label_names: Sequence[str], active: Sequence[int]):
        self.active = tuple(active)
        columns: list[tuple[str, object]] = []  # (layer, term) of each column
        column_regs: list[int] = []  # position in `active` of the regularizer each column belongs to
        affinities: list[tuple[float, ...]] = []
        biases: list[float] = []
        for position, index in enumerate(self.active):
            reg = regularizers[index]
            for layer in reg.layers:
                columns.append((layer, reg.term))
                column_regs.append(position)
                if reg.labels is None:
                    affinities.append((0.0,) * len(label_names))
                    biases.append(1.0)
                else:
                    affinities.append(tuple(float(reg.labels.get(name, 0.0)) for name in label_names))
                    biases.append(0.0)
        self.fused = bool(columns) and all(type(term) in _FUSED_TERMS for _, term in columns)
        self.layers = tuple(dict.fromkeys(layer for layer, _ in columns))
        # Each shared computation once, grouped by layer; in the fused form a layer's per-sample terms
        # come first, so that their gradient rows are one contiguous block.
        unique = list(dict.fromkeys(columns))
        if self.fused:
            unique.sort(key=lambda key: (self.layers.index(key[0]), not type(key[1])._per_sample))  # type: ignore[attr-defined]
        self.unique = tuple(unique)
        self.unique_layer = tuple(self.layers.index(layer) for layer, _ in self.unique)
        column_unique = [self.unique.index(column) for column in columns]
        # Per layer: the slice of `unique` holding its per-sample terms, and its batch-coupled terms.
        self.blocks: list[tuple[int, int, list[int]]] = []
        for index in range(len(self.layers)):
            mine = [u for u, owner in enumerate(self.unique_layer) if owner == index]
            per_sample = [u for u in mine if self.fused and type(self.unique[u][1])._per_sample]  # type: ignore[attr-defined]
            start = per_sample[0] if per_sample else mine[0]
            self.blocks.append((start, start + len(per_sample), [u for u in mine if u not in per_sample]))
        n_labels = len(label_names)
        scales = [float(term._gradient_scale()) if self.fused else 1.0 for _, term in self.unique]  # type: ignore[attr-defined]
        self._values: dict[str, tuple] = {
            "affinity": tuple(zip(*affinities)) if n_labels else (),  # [n_labels, C]
            "bias": tuple(biases),  # [C]
            "epsilon": tuple(0.0 if bias else 1e-8 for bias in biases),  # [C]
            # entry (u, c) of the [U, C] matrix Pᵀα holds column c's value (a flat index)
            "take": tuple(u * len(columns) + c for c, u in enumerate(column_unique)),
            # [U, C]: column c reads term u, times the term's gradient scale
            "spread": tuple(tuple(scales[u] if column_unique[c] == u else 0.0 for c in range(len(columns))) for u in range(len(unique))),
            "column_reg": tuple(column_regs),
        }
        self.n_labels = n_labels
        self.several_layers = len(columns) != len(self.active)
        self._tensors: dict[tuple, dict[str, torch.Tensor]] = {}

    def tensors(self, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
        """The plan's constant tensors on `device`, made once."""
        key = (dtype, device)
        tensors = self._tensors.get(key)
        if tensors is None:
            with torch.inference_mode(False):
                tensors = {
                    name: torch.tensor(values, dtype=torch.long if name in ("take", "column_reg") else dtype, device=device)
                    for name, values in self._values.items()
                }
            self._tensors[key] = tensors
        return tensors

    def sample_weights(self, labels: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """α_ic / (Σ_i α_ic + 1e-8) [..., B, C] for labels [..., B, n_labels]; no autograd."""
        dtype = dtype or (labels.dtype if labels.is_floating_point() else torch.get_default_dtype())
        constants = self.tensors(dtype, labels.device)
        with torch.no_grad():
            bias = constants["bias"]
            if self.n_labels:
                alpha = (labels.to(dtype) @ constants["affinity"] + bias).clamp_(0.0, 1.0)
            else:
                alpha = bias.expand(*labels.shape[:-1], -1)
            return alpha / (alpha.sum(-2, keepdim=True) + constants["epsilon"])

    def sum_layers(self, values: torch.Tensor, constants: dict[str, torch.Tensor]) -> torch.Tensor:
        """[..., C] column values -> [..., n_active] regularizer values (a regularizer sums its layers' columns)."""
        if not self.several_layers:
            return values
        return values.new_zeros(*values.shape[:-1], len(self.active)).index_add_(-1, constants["column_reg"], values)

    def __call__(self, activations: Mapping[str, torch.Tensor], labels: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        if not self.unique:
            return labels.new_zeros(*labels.shape[:-2], 0, dtype=torch.get_default_dtype())
        zs = [activations[layer] for layer in self.layers]
        if weights is None:
            weights = self.sample_weights(labels, zs[0].dtype)
        if self.fused:
            return _FusedTerms.apply(self, weights, *zs)
        per_sample = torch.stack([term(zs[i]) for (_, term), i in zip(self.unique, self.unique_layer)], dim=-1)  # type: ignore[operator]
        constants = self.tensors(per_sample.dtype, per_sample.device)
        values = (per_sample.mT @ weights).flatten(-2)[..., constants["take"]]
        if self.several_layers:  # with autograd: index_add_ would be in place on a leaf-less zeros
            zeros = torch.zeros(*values.shape[:-1], len(self.active), dtype=values.dtype, device=values.device)
            values = zeros.index_add(-1, constants["column_reg"], values)
        return values


class _FusedTerms(torch.autograd.Function):
    """All of a plan's built-in terms as one autograd node: values forward, their gradients backward."""

    @staticmethod
    def forward(ctx, plan: _Plan, weights: torch.Tensor, *zs: torch.Tensor) -> torch.Tensor:
        needs_grad = ctx.needs_input_grad[2:]
        shared = [_Shared(z) for z in zs]
        values, gradients = [], []
        for (_, term), layer in zip(plan.unique, plan.unique_layer):
            value, gradient = term._fused(zs[layer], shared[layer], needs_grad[layer])  # type: ignore[attr-defined]
            values.append(value)
            gradients.append(gradient)
        per_sample = torch.stack(values, dim=-1)  # [..., B, U]
        constants = plan.tensors(per_sample.dtype, per_sample.device)
        # Per layer: the (scaled) rows ∂value_i/∂z_i of its per-sample terms as one [..., B, k, n] block.
        blocks = []
        for layer, (start, stop, _) in enumerate(plan.blocks):
            if not needs_grad[layer] or stop == start:
                blocks.append(None)
            elif stop == start + 1:
                blocks.append(gradients[start].unsqueeze(-2))
            else:
                blocks.append(torch.stack(gradients[start:stop], dim=-2))
        ctx.plan, ctx.gradients, ctx.blocks, ctx.weights, ctx.constants = plan, gradients, blocks, weights, constants
        return plan.sum_layers((per_sample.mT @ weights).flatten(-2)[..., constants["take"]], constants)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_values: torch.Tensor):
        plan: _Plan = ctx.plan
        constants = ctx.constants
        if plan.several_layers:
            grad_values = grad_values.index_select(-1, constants["column_reg"])
        # ∂loss/∂per_sample [..., B, U], each term's column times its gradient scale.
        grad_per_sample = (ctx.weights * grad_values.unsqueeze(-2)) @ constants["spread"].T
        grads: list[torch.Tensor | None] = []
        for (start, stop, coupled), block in zip(plan.blocks, ctx.blocks):
            grad = None
            if block is not None:  # Σ_s g_is ∂value_is/∂z_i
                grad = (grad_per_sample[..., None, start:stop] @ block).squeeze(-2)
            for u in coupled:
                vjp = ctx.gradients[u]
                if vjp is not None:
                    part = vjp(grad_per_sample[..., u])
                    grad = part if grad is None else grad + part
            grads.append(grad)
        return (None, None, *grads)


class RegularizerSet:
    """Evaluates a list of regularizers on captured activations, computing each shared term once."""

    def __init__(self, regularizers: Sequence[Regularizer], label_names: Sequence[str]):
        self.regularizers = list(regularizers)
        self.label_names = tuple(label_names)
        self.names = tuple(r.name for r in self.regularizers)
        self.layers = tuple(dict.fromkeys(layer for r in self.regularizers for layer in r.layers))
        self._plans: dict[tuple[int, ...], _Plan] = {}

    def active_indices(self, active: Sequence[bool] | None = None) -> tuple[int, ...]:
        """Indices of the active regularizers (all when `active` is None)."""
        if active is None:
            return tuple(range(len(self.regularizers)))
        return tuple(index for index, on in enumerate(active) if on)

    def _plan(self, active: tuple[int, ...]) -> _Plan:
        plan = self._plans.get(active)
        if plan is None:
            plan = self._plans[active] = _Plan(self.regularizers, self.label_names, active)
        return plan

    def sample_weights(self, labels: torch.Tensor, active: tuple[int, ...], dtype: torch.dtype | None = None) -> torch.Tensor:
        """The label weights `evaluate` uses, for labels [..., B, n_labels]: a block of batches at once."""
        return self._plan(active).sample_weights(labels, dtype)

    def evaluate(
        self,
        activations: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        active: tuple[int, ...],
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Values [len(active)] of the regularizers at indices `active`; the others are not computed.

        `weights` is `sample_weights(labels, active)` when the caller has it already.
        """
        return self._plan(active)(activations, labels, weights)

    def __call__(
        self,
        activations: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        active: Sequence[bool] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Returns {name: value} for every active term (inactive ones, e.g. weight 0, are not computed)."""
        indices = self.active_indices(active)
        values = self.evaluate(activations, labels, indices)
        return {self.names[index]: values[position] for position, index in enumerate(indices)}
