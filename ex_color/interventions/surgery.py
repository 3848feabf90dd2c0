"""Weight surgery on latent dimensions: ablate (zero) or prune (remove) them in a deep copy of a model.

The latent is the output of the ``producer`` Linear and the input of the ``consumer`` Linear (None: the
model's own, `ex_color.model_contract.latent_linears`: declared, or found around its `latent`). Any
parameter-free modules between them (GELU, L2Normalize) see zeros for ablated dims, which is why pruning
those dims gives the same outputs as ablating them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TypeVar

import torch
from torch import nn

from ex_color.errors import UserError
from ex_color.model_contract import latent_linears

from .hooks import resolve_layers

M = TypeVar("M", bound=nn.Module)


def _linear(model: nn.Module, name: str, role: str) -> nn.Linear:
    (module,) = resolve_layers(model, [name])
    if not isinstance(module, nn.Linear):
        raise UserError(f"surgery: {role} {name!r} must be a Linear layer (got {type(module).__name__})")
    return module


def latent_pair(model: nn.Module, producer: str | None = None, consumer: str | None = None) -> tuple[str, str]:
    """The (producer, consumer) names to use: those given, the model's own for those that are None."""
    if producer is None or consumer is None:
        try:
            own = latent_linears(model)
        except ValueError as error:
            raise UserError(f"surgery: {error}; name the producer and consumer") from None
        producer, consumer = producer or own[0], consumer or own[1]
    return producer, consumer


def _pair(model: nn.Module, producer: str | None, consumer: str | None) -> tuple[nn.Linear, nn.Linear]:
    producer, consumer = latent_pair(model, producer, consumer)
    prod = _linear(model, producer, "producer")
    cons = _linear(model, consumer, "consumer")
    if prod.out_features != cons.in_features:
        raise UserError(
            f"surgery: producer {producer!r} outputs {prod.out_features} dims but consumer "
            f"{consumer!r} takes {cons.in_features}"
        )
    return prod, cons


def _dims(dims: Iterable[int], width: int) -> list[int]:
    try:
        values = list(dims)
    except TypeError:
        raise UserError(f"surgery: dims must be a list of integers (got dims={dims!r})") from None
    if not values:
        raise UserError("surgery: dims must name at least one latent dimension (got dims=[])")
    for d in values:
        if isinstance(d, bool) or not isinstance(d, int):
            raise UserError(f"surgery: dims must be integers (got dims={values!r})")
        if not 0 <= d < width:
            raise UserError(f"surgery: dim {d} is out of range for a {width}-dim latent (valid 0..{width - 1})")
    if len(set(values)) != len(values):
        raise UserError(f"surgery: dims must not repeat (got dims={values!r})")
    if len(values) == width:
        raise UserError(f"surgery: dims={values!r} would remove all {width} latent dimensions")
    return sorted(values)


def ablate(model: M, dims: Iterable[int], producer: str | None = None, consumer: str | None = None) -> M:
    """A deep copy with latent ``dims`` zeroed: producer weight rows and bias entries, consumer weight
    columns. Shapes are unchanged; ``model`` is untouched."""
    out = copy.deepcopy(model)
    prod, cons = _pair(out, producer, consumer)
    chosen = torch.tensor(_dims(dims, prod.out_features), device=prod.weight.device)
    with torch.no_grad():
        prod.weight[chosen, :] = 0.0
        if prod.bias is not None:
            prod.bias[chosen] = 0.0
        cons.weight[:, chosen] = 0.0
    return out


def _replace(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, child = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, child, module)


def _sliced(old: nn.Linear, rows: torch.Tensor | None, cols: torch.Tensor | None) -> nn.Linear:
    weight = old.weight.detach()
    bias = None if old.bias is None else old.bias.detach()
    if rows is not None:
        weight = weight[rows]
        bias = None if bias is None else bias[rows]
    if cols is not None:
        weight = weight[:, cols]
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    new.train(old.training)
    return new


def prune(model: M, dims: Iterable[int], producer: str | None = None, consumer: str | None = None) -> M:
    """A deep copy with latent ``dims`` removed: narrower producer/consumer Linears, and the copy's
    ``bottleneck_dim`` attribute (when it has one) set to the new width. ``model`` is untouched."""
    out = copy.deepcopy(model)
    producer, consumer = latent_pair(out, producer, consumer)
    prod, cons = _pair(out, producer, consumer)
    removed = set(_dims(dims, prod.out_features))
    keep = torch.tensor([i for i in range(prod.out_features) if i not in removed], device=prod.weight.device)
    _replace(out, producer, _sliced(prod, rows=keep, cols=None))
    _replace(out, consumer, _sliced(cons, rows=None, cols=keep))
    if hasattr(out, "bottleneck_dim"):
        out.bottleneck_dim = len(keep)
    return out
