"""Gradient routing (Cloud et al., 2024, "Gradient Routing: Masking Gradients to Localize Computation in
Neural Networks"): chosen samples shape only chosen latent dimensions.

`routing:` in the training config names a concept label and the latent dimensions it owns. At the routed
layer (by default the model's `latent_producer`: the Linear whose output is the latent, before any
normalisation, which would mix the dimensions again) each training sample's activations are replaced by

    z_routed = where(mask, z, z.detach())

which has exactly the value of z, so the forward pass is unchanged, while the gradient reaches the encoder
only through the dimensions the sample's mask keeps:

* a sample carrying the concept label (a label value > 0): the owned dims;
* a sample carrying one of the `others` labels (default: any other label) and not the concept: the other dims;
* a sample carrying neither: as `unlabelled` says — `all` (every dim, as without routing), `others` (as a
  sample of another class) or `none` (no dim: it trains the decoder alone).

What is masked is every gradient that flows back through the routed layer's output: the reconstruction's,
and that of any regularizer on a layer after it (`encoder`, `bottleneck`, `latent`). A regularizer on the
routed layer itself (its name, e.g. `encoder.2`) reads the raw code, gradient and all: that is where a bound
such as an L1 penalty goes (`losses.L1Norm`), since nothing else bounds a dim whose gradient is stopped.

The mask is made from the step's labels ([B, L], or [S, B, L] for seeds trained together) in a few tensor
operations, for the one forward pass of a training step (`Router.routed`), never for validation or the
latent history. Routing holds no state of its own, so a resumed run routes exactly as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ex_color.errors import UserError

UNLABELLED = ("all", "others", "none")
KEYS = ("concept", "dims", "layer", "others", "unlabelled")


@dataclass(frozen=True)
class RoutingSettings:
    """`routing:`, checked: the concept label, the latent dims it owns, the routed layer (None: the model's
    `latent_producer`), the labels that mark another class (None: every label but the concept) and what
    unlabelled samples' gradients reach (`all`, `others` or `none`)."""

    concept: str
    dims: tuple[int, ...]
    layer: str | None = None
    others: tuple[str, ...] | None = None
    unlabelled: str = "all"

    def layer_of(self, model: nn.Module) -> str:
        """The name of the routed layer in `model`."""
        if self.layer is not None:
            return self.layer
        try:
            return model.latent_producer
        except (AttributeError, ValueError) as error:
            raise UserError(
                f"routing.layer: {type(model).__name__} names no latent_producer ({error}); name the layer"
            ) from None


def routing_settings(cfg_routing: Any, label_names: Sequence[str]) -> RoutingSettings | None:
    """`cfg.routing` (plain containers) checked by key against the data's labels (None: no routing)."""
    if cfg_routing is None:
        return None
    if not isinstance(cfg_routing, Mapping):
        raise UserError(f"routing: expected a mapping with keys {', '.join(KEYS)}, or null (got {cfg_routing!r})")
    unknown = sorted(set(cfg_routing) - set(KEYS))
    if unknown:
        raise UserError(f"routing.{unknown[0]}: unknown key; known keys: {', '.join(KEYS)}")
    labels = ", ".join(label_names) or "none (the data config has no labels)"
    concept = cfg_routing.get("concept")
    if concept not in label_names:
        raise UserError(f"routing.concept: {concept!r} is not a label of the data; labels: {labels}")
    dims = cfg_routing.get("dims")
    dims = [dims] if isinstance(dims, int) and not isinstance(dims, bool) else dims
    if (
        not isinstance(dims, Sequence)
        or not dims
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims)
    ):
        raise UserError(f"routing.dims: a non-empty list of latent dimension indices >= 0 (got {dims!r})")
    if len(set(dims)) != len(dims):
        raise UserError(f"routing.dims: a dimension appears twice (got {list(dims)!r})")
    layer = cfg_routing.get("layer")
    if layer is not None and (not isinstance(layer, str) or not layer):
        raise UserError(f"routing.layer: a layer name, or null for the model's latent_producer (got {layer!r})")
    others = cfg_routing.get("others")
    if others is not None:
        if isinstance(others, str) or not isinstance(others, Sequence) or not others:
            raise UserError(
                f"routing.others: a non-empty list of label names, or null for every other label (got {others!r})"
            )
        for name in others:
            if name not in label_names:
                raise UserError(f"routing.others: {name!r} is not a label of the data; labels: {labels}")
            if name == concept:
                raise UserError(f"routing.others: {name!r} is the concept itself")
        others = tuple(others)
    unlabelled = cfg_routing.get("unlabelled", "all")
    if unlabelled not in UNLABELLED:
        raise UserError(f"routing.unlabelled: one of {', '.join(UNLABELLED)} (got {unlabelled!r})")
    return RoutingSettings(str(concept), tuple(sorted(dims)), layer, others, unlabelled)


def check_against_model(settings: RoutingSettings, widths: Mapping[str, int], model: nn.Module) -> None:
    """UserError unless the routed layer exists in `model` and the owned dims leave some to the others
    (`widths`: each named layer's output width, `builders.layer_widths`)."""
    layer = settings.layer_of(model)
    if layer not in widths:
        raise UserError(f"routing.layer: no layer named {layer!r}; layers: {', '.join(widths)}")
    width = widths[layer]
    if max(settings.dims) >= width:
        raise UserError(f"routing.dims: dimension {max(settings.dims)} is past the width {width} of layer {layer!r}")
    if len(settings.dims) == width:
        raise UserError(f"routing.dims: owns all {width} dims of layer {layer!r}; leave some to the other samples")


class Router:
    """Routes the gradient of the next training forward pass of `model` at its routed layer, by the labels
    of its batch (`routed`). Holds one forward hook until `close`."""

    def __init__(self, settings: RoutingSettings, model: nn.Module, label_names: Sequence[str]):
        self.settings = settings
        self.layer = settings.layer_of(model)
        names = list(label_names)
        self._concept = names.index(settings.concept)
        others = settings.others if settings.others is not None else [n for n in names if n != settings.concept]
        self._others = [names.index(name) for name in others]
        self._tables: dict[tuple[int, torch.device], torch.Tensor] = {}
        self._labels: torch.Tensor | None = None  # the batch of the forward pass under way
        self._hook = model.get_submodule(self.layer).register_forward_hook(self._route)

    def table(self, width: int, device: torch.device) -> torch.Tensor:
        """[3, width] bool: the dims kept for a concept sample, another class's sample and an unlabelled one."""
        key = (width, device)
        if key not in self._tables:
            owned = torch.zeros(width, dtype=torch.bool)
            owned[list(self.settings.dims)] = True
            unlabelled = {"all": torch.ones_like(owned), "others": ~owned, "none": torch.zeros_like(owned)}
            self._tables[key] = torch.stack([owned, ~owned, unlabelled[self.settings.unlabelled]]).to(device)
        return self._tables[key]

    def category(self, labels: torch.Tensor) -> torch.Tensor:
        """Per sample of labels [..., B, L]: 0 for the concept, 1 for another class, 2 for neither ([..., B])."""
        carried = labels > 0
        concept = carried[..., self._concept]
        other = carried[..., self._others].any(-1) if self._others else torch.zeros_like(concept)
        return torch.where(concept, 0, torch.where(other, 1, 2))

    def mask(self, labels: torch.Tensor, width: int) -> torch.Tensor:
        """[..., B, width] bool: the dims through which each sample's gradient may pass."""
        return self.table(width, labels.device)[self.category(labels)]

    @contextmanager
    def routed(self, labels: torch.Tensor) -> Iterator[None]:
        """Route the forward pass run inside by `labels` ([B, L] or [S, B, L], the batch's)."""
        self._labels = labels
        try:
            yield
        finally:
            self._labels = None

    def _route(self, module: nn.Module, inputs, output: torch.Tensor):
        labels, self._labels = self._labels, None  # one forward pass per step
        if labels is None or not torch.is_grad_enabled():
            return None
        return torch.where(self.mask(labels, output.shape[-1]), output, output.detach())

    def close(self) -> None:
        self._hook.remove()
