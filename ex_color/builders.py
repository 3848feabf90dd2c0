"""Objects built from the composed config, with user mistakes reported by key."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from omegaconf import OmegaConf

from ex_color.errors import UserError
from ex_color.losses import Anchor, Regularizer
from ex_color.model import ColorMLP

log = logging.getLogger(__name__)


def plain(cfg: Any) -> Any:
    """A config node as plain Python containers."""
    return OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg


def model_settings(cfg_model: Mapping) -> dict[str, Any]:
    settings = {k: v for k, v in plain(cfg_model).items() if k != "_target_"}
    for key in ("bottleneck", "hidden"):
        value = settings.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"model.{key} must be a positive integer (got {value!r})")
    unknown = sorted(set(settings) - {"bottleneck", "hidden", "normalize"})
    if unknown:
        raise UserError(f"model.{unknown[0]}: unknown key; known keys: bottleneck, hidden, normalize")
    settings["normalize"] = bool(settings.get("normalize", False))
    return settings


def build_model(cfg_model: Mapping) -> ColorMLP:
    return ColorMLP(**model_settings(cfg_model))


def _instantiate(node: Any, key: str) -> Any:
    from hydra.utils import instantiate

    try:
        return instantiate(node)
    except Exception as error:  # Hydra wraps import and argument errors; report them by key
        cause = error
        while cause is not None and not isinstance(cause, UserError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            raise UserError(f"{key}: {cause}") from None
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{key}: cannot build it: {message}") from None


def layer_widths(model: torch.nn.Module) -> dict[str, int]:
    """Output width of every named submodule, found by one forward pass on a single colour."""
    widths: dict[str, int] = {}
    hooks = [
        module.register_forward_hook(lambda m, i, o, name=name: widths.__setitem__(name, o.shape[-1]))
        for name, module in model.named_modules()
        if name
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3))
    finally:
        for hook in hooks:
            hook.remove()
    return widths


def build_regularizers(cfg_regs: Mapping, model: torch.nn.Module, label_names: tuple[str, ...]) -> list[Regularizer]:
    widths = layer_widths(model)
    regularizers = []
    for name, spec in (cfg_regs or {}).items():
        key = f"regularizers.{name}"
        if not isinstance(spec, Mapping) or "loss" not in spec:
            raise UserError(f"{key}: expected a mapping with 'loss', 'layers' and optional 'labels'")
        unknown = sorted(set(spec) - {"loss", "layers", "labels"})
        if unknown:
            raise UserError(f"{key}.{unknown[0]}: unknown key; known keys: loss, layers, labels")
        term = _instantiate(spec["loss"], f"{key}.loss")
        layers = tuple(spec.get("layers") or ())
        if not layers:
            raise UserError(f"{key}.layers: name at least one layer; layers: {', '.join(widths)}")
        for layer in layers:
            if layer not in widths:
                raise UserError(f"{key}.layers: no layer named {layer!r}; layers: {', '.join(widths)}")
            if isinstance(term, Anchor) and len(term.point) > widths[layer]:
                raise UserError(
                    f"{key}.loss.point has {len(term.point)} values but layer {layer!r} has width {widths[layer]}"
                )
        labels = plain(spec.get("labels"))
        if labels is not None:
            for label, affinity in labels.items():
                if label not in label_names:
                    raise UserError(f"{key}.labels: unknown label {label!r}; labels: {', '.join(label_names)}")
                if not isinstance(affinity, int | float):
                    raise UserError(f"{key}.labels.{label}: affinity must be a number (got {affinity!r})")
        if isinstance(term, Anchor):
            term = term.padded_to(widths[layers[0]])
        regularizers.append(Regularizer(name=name, term=term, layers=layers, labels=labels))
    return regularizers


def intervention_keys() -> dict[str, set[str]]:
    """The config keys each registered intervention kind accepts."""
    from ex_color.interventions.kinds import KINDS

    return {name: {"kind", *cls.keys} for name, cls in KINDS.items()}


def build_intervention(cfg_intervention: Mapping, concepts: Mapping, model: torch.nn.Module):
    """The typed intervention (`interventions.kinds`) a config describes, checked against `model`'s layers;
    `.applied_to(model)` then gives the model to evaluate and the hooks to hold."""
    from ex_color.interventions.kinds import KINDS, BuildContext

    spec = plain(cfg_intervention)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise UserError(f"intervention.kind: unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    keys = intervention_keys()[kind]
    unknown = sorted(set(spec) - keys)
    if unknown:
        raise UserError(f"intervention.{unknown[0]}: unknown key for {kind}; known keys: {', '.join(sorted(keys))}")
    context = BuildContext(plain(concepts) or {}, layer_widths(model), _instantiate)
    return KINDS[kind].from_config(spec, cfg_intervention, context)
