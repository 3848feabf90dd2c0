"""Objects built from the composed config, with user mistakes reported by key."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from ex_color.domains import data_part
from ex_color.errors import UserError
from ex_color.interventions.kinds import KINDS, BuildContext
from ex_color.losses import Regularizer
from ex_color.model_contract import build_checked
from ex_color.paths import resolve_dopesheet
from ex_color.schedule import Timeline, load_dopesheet
from ex_color.settings import check_keys, check_value
from ex_color.training.routing import RoutingSettings, check_against_model, routing_settings

log = logging.getLogger(__name__)


def plain(cfg: Any) -> Any:
    """A config node as plain Python containers."""
    return OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg


def build_model(cfg_model: Mapping) -> torch.nn.Module:
    """The model `cfg.model` names (`_target_`, ColorMLP when absent), built with its keys and checked against
    the model contract (ex_color/model_contract.py)."""
    return build_checked(cfg_model)


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
        from ex_color.config import one_line

        message = one_line(error).split(", set env var HYDRA_FULL_ERROR")[0]  # advice for Hydra's own tracebacks
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
            model(torch.zeros(1, getattr(model, "inputs", 3)))
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
        check_keys(spec, ("loss", "layers", "labels", "validate"), key)
        validate = check_value(spec.get("validate", False), bool, f"{key}.validate")
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
        regularizers.append(Regularizer(name=name, term=term, layers=layers, labels=labels, validate=validate))
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
    routing: RoutingSettings | None = None  # `routing:`, checked against the model (gradient routing)


UNKNOWN_COLUMNS = ("error", "warn")


def kept_regularizers(cfg) -> tuple[dict, list[str]]:
    """(the regularizers this run trains, the names `keep_regularizers` leaves out): a run keeping a subset
    (experiment 1.8's sweep) has the others absent, not at weight 0."""
    regularizers = plain(cfg.get("regularizers")) or {}
    keep = plain(cfg.get("keep_regularizers"))
    if keep is None:
        return regularizers, []
    if isinstance(keep, str):
        keep = [keep]
    if not isinstance(keep, list) or not keep or not all(isinstance(name, str) for name in keep):
        raise UserError(f"keep_regularizers: expected a non-empty list of regularizer names (got {keep!r})")
    for name in keep:
        if name not in regularizers:
            raise UserError(
                f"keep_regularizers: no regularizer named {name!r}; regularizers: {', '.join(regularizers) or 'none'}"
            )
    kept = {name: spec for name, spec in regularizers.items() if name in keep}
    return kept, [name for name in regularizers if name not in kept]


def load_schedule(cfg, regularizer_names: list[str], warn: bool = True, absent: list[str] = ()):
    """(path, Timeline) of the run's dopesheet, validated against its regularizers: a column naming no
    regularizer is an error, or (`dopesheet_unknown_columns: warn`) left out with a warning; the columns of
    regularizers `absent` from this run (`keep_regularizers`) are left out quietly."""
    path = resolve_dopesheet(cfg.dopesheet)
    sheet = load_dopesheet(path)
    if absent:
        sheet = sheet.without(sheet.unknown_columns(set(sheet.properties) - set(absent)))
    policy = cfg.get("dopesheet_unknown_columns", "error")  # runs made before the switch: error
    if policy not in UNKNOWN_COLUMNS:
        raise UserError(f"dopesheet_unknown_columns: expected one of {', '.join(UNKNOWN_COLUMNS)} (got {policy!r})")
    unknown = sheet.unknown_columns(["lr", *regularizer_names]) if policy == "warn" else []
    if unknown:
        sheet = sheet.without(unknown)
        if warn:
            log.warning(
                "dopesheet %s: column%s %s name%s no regularizer; ignored (dopesheet_unknown_columns: warn)",
                path,
                "s" if len(unknown) > 1 else "",
                ", ".join(repr(column) for column in unknown),
                "" if len(unknown) > 1 else "s",
            )
    missing = sheet.check_names(["lr", *regularizer_names])
    if "lr" in missing:
        raise UserError(f"{path}: no 'lr' column; the learning rate must be scheduled")
    for name in missing if warn else ():
        log.warning("dopesheet %s has no column %r: that regularizer runs at weight 1.0", path, name)
    return path, Timeline.from_dopesheet(sheet)


def build_parts(cfg, warn: bool = True) -> TrainingParts:
    """The regularizers and schedule of a training config, checked against each other and against the
    model's layers; raises UserError naming the key of any mistake."""
    data = any_data_settings(cfg.data)
    label_names = data.label_names
    kept, absent = kept_regularizers(cfg)
    model = build_model(cfg.model)
    regularizers = build_regularizers(kept, model, label_names)
    routing = build_routing(cfg.get("routing"), model, label_names)
    if routing is not None and not getattr(data, "hard_labels", True):
        raise UserError(
            "routing: needs data.hard_labels: true (a soft label is > 0, so routed, for almost every sample)"
        )
    dopesheet_path, timeline = load_schedule(cfg, [r.name for r in regularizers], warn, absent)
    return TrainingParts(regularizers, label_names, dopesheet_path, timeline, routing)


def build_routing(cfg_routing: Any, model: torch.nn.Module, label_names: tuple[str, ...]) -> RoutingSettings | None:
    """`routing:` checked by key, against the data's labels and `model`'s layers (None: no routing)."""
    settings = routing_settings(plain(cfg_routing), label_names)
    if settings is not None:
        check_against_model(settings, layer_widths(model), model)
    return settings


def any_data_settings(cfg_data: Mapping):
    """`cfg.data` checked by its domain's data part (`ex_color.domains.data_part`: data.color for hsv and rgb,
    data.digits, …); the result has `label_names`."""
    return data_part(cfg_data).settings(plain(cfg_data))


def build_batches(cfg, seed: int):
    """The batch stream of `seed` (`cfg.data`), from its domain's data part, after it checked the config."""
    part = data_part(cfg.data)
    part.check(plain(cfg))
    return part.batches(part.settings(plain(cfg.data)), seed)


def build_validation(cfg):
    """The validation set of `cfg.data` (from its domain's data part), or None when it is off."""
    part = data_part(cfg.data)
    return part.validation(part.settings(plain(cfg.data)))


def intervention_keys() -> dict[str, set[str]]:
    """The config keys each registered intervention kind accepts."""
    return {name: {"kind", *cls.keys} for name, cls in KINDS.items()}


def check_interventions(configs: Mapping[str, Any], cfg) -> None:
    """Build each intervention for an untrained model of the configured shape: mistakes (a >= b, a concept
    of the wrong width, a missing layer) surface now rather than after training."""
    model = build_model(cfg.model)
    for kind, icfg in configs.items():
        try:
            build_intervention(icfg.intervention, icfg.get("concepts") or {}, model).applied_to(model)
        except UserError as error:
            raise UserError(f"intervention {kind}: {error}") from None


def build_intervention(cfg_intervention: Mapping, concepts: Mapping, model: torch.nn.Module):
    """The typed intervention (`interventions.kinds`) a config describes, checked against `model`'s layers;
    `.applied_to(model)` then gives the model to evaluate and the hooks to hold."""
    spec = plain(cfg_intervention)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise UserError(f"intervention.kind: unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    keys = intervention_keys()[kind]
    check_keys(spec, sorted(keys), "intervention", f" for {kind}")
    context = BuildContext(plain(concepts) or {}, layer_widths(model), _instantiate, model)
    return KINDS[kind].from_config(spec, cfg_intervention, context)
