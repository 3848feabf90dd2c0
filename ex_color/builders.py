"""Objects built from the composed config, with user mistakes reported by key."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from ex_color.errors import UserError
from ex_color.losses import Regularizer
from ex_color.model import ColorMLP
from ex_color.paths import resolve_dopesheet

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
        labels = plain(spec.get("labels"))
        if labels is not None:
            for label, affinity in labels.items():
                if label not in label_names:
                    raise UserError(f"{key}.labels: unknown label {label!r}; labels: {', '.join(label_names)}")
                if not isinstance(affinity, int | float):
                    raise UserError(f"{key}.labels.{label}: affinity must be a number (got {affinity!r})")
        term = adapted_term(term, key, {layer: widths[layer] for layer in layers})
        regularizers.append(Regularizer(name=name, term=term, layers=layers, labels=labels))
    return regularizers


def adapted_term(term: Any, key: str, widths: Mapping[str, int]) -> Any:
    """A regularizer's term checked to be one (callable, hashable) and, if it carries a point or basis
    (`for_width`), adapted to the width of its layers."""
    name = type(term).__name__
    if not callable(term):
        raise UserError(f"{key}.loss: {name} is not a loss term (it has no __call__)")
    try:
        hash(term)
    except TypeError:
        raise UserError(f"{key}.loss: {name} must be hashable (make it a frozen dataclass)") from None
    if not hasattr(term, "for_width"):
        return term
    if len(set(widths.values())) > 1:
        raise UserError(f"{key}.layers: one {name} cannot serve layers of different widths ({', '.join(widths)})")
    layer, width = next(iter(widths.items()))
    try:
        return term.for_width(width)
    except ValueError as error:
        raise UserError(f"{key}.loss: {error} (layer {layer!r})") from None


@dataclass
class TrainingParts:
    """What a run is made of besides its model and batches, built once for any number of seeds."""

    regularizers: list[Regularizer]
    label_names: tuple[str, ...]
    dopesheet_path: Path
    timeline: Any  # ex_color.schedule.Timeline


def load_schedule(cfg, regularizer_names: list[str], warn: bool = True):
    """(path, Timeline) of the run's dopesheet, validated against its regularizers."""
    from ex_color.schedule import Timeline, load_dopesheet

    path = resolve_dopesheet(cfg.dopesheet)
    sheet = load_dopesheet(path)
    missing = sheet.check_names(["lr", *regularizer_names])
    if "lr" in missing:
        raise UserError(f"{path}: no 'lr' column; the learning rate must be scheduled")
    for name in missing if warn else ():
        log.warning("dopesheet %s has no column %r: that regularizer runs at weight 1.0", path, name)
    return path, Timeline.from_dopesheet(sheet)


def build_parts(cfg, warn: bool = True) -> TrainingParts:
    """The regularizers and schedule of a training config, checked against each other and against the
    model's layers; raises UserError naming the key of any mistake."""
    for key, value in plain(cfg.data.cube).items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"data.cube.{key} must be a positive integer (got {value!r})")
    label_names = tuple(cfg.data.labels)
    regularizers = build_regularizers(cfg.regularizers, build_model(cfg.model), label_names)
    dopesheet_path, timeline = load_schedule(cfg, [r.name for r in regularizers], warn)
    return TrainingParts(regularizers, label_names, dopesheet_path, timeline)


def build_batches(cfg, seed: int):
    """The batch stream of `seed` (`cfg.data`)."""
    from ex_color.data import BatchSource, ColorCube

    return BatchSource(
        ColorCube.hsv(**plain(cfg.data.cube)),
        batch_size=int(cfg.data.batch_size),
        labels=plain(cfg.data.labels),
        hard_labels=bool(cfg.data.hard_labels),
        seed=seed,
    )


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
