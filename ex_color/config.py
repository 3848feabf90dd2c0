"""Composing configs outside Hydra's entry point, and turning Hydra's errors into one-line messages."""

from __future__ import annotations

import copy
import functools
import importlib
import math
import re
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ex_color.errors import UserError
from ex_color.paths import config_dir


@contextmanager
def _hydra_context():
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        yield
    GlobalHydra.instance().clear()


# Lines of Hydra's and OmegaConf's messages that name no problem.
NOISE = (
    "object_type=",
    "reference_type=",
    "Set the environment variable HYDRA_FULL_ERROR",
    "See https://hydra.cc",
    "Config search path",
    "provider=",
)


# Lines that start a detail of their own (not the rest of a sentence wrapped over lines).
DETAILS = ("full_key:", "Key '", "Could not", "To append")


def one_line(error: BaseException) -> str:
    """Hydra and OmegaConf errors span several lines; join them into one that keeps the problem, its reason
    (the error that caused it) and the key, a sentence wrapped over lines joined again, and a list of
    options as a list."""
    text = str(error).replace(", set env var HYDRA_FULL_ERROR=1 to see chained exception", "")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    cause = error.__cause__
    if cause is not None:
        reason = [line.strip() for line in str(cause).strip().splitlines() if line.strip()] or [type(cause).__name__]
        if not any(reason[0] in line for line in lines):
            lines += reason
    if not lines:
        return type(error).__name__
    parts: list[str] = []
    listing = False
    for line in lines:
        if line.startswith(NOISE):
            continue
        if listing and parts and " " not in line:
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line  # one option of a list
            continue
        listing = line.startswith("Available options")
        if parts and not listing and not line.startswith(DETAILS) and not parts[-1].endswith((".", ";", "!", "?")):
            parts[-1] += " " + line  # the reason after a colon, or a sentence wrapped over lines
        else:
            parts.append(line)
    text = "; ".join(part.rstrip(".") for part in dict.fromkeys(parts))
    return text.replace("To append to your config use", "to add a new key use")


def compose(config_name: str, overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config Hydra would compose for `excolor <config_name> OVERRIDES` (no run directory)."""
    from hydra import compose as hydra_compose
    from hydra.errors import HydraException

    try:
        with _hydra_context():
            return hydra_compose(config_name=config_name, overrides=list(overrides), return_hydra_config=False)
    except (HydraException, OmegaConfBaseException) as error:
        raise UserError(unknown_key_line(error, config_name, overrides) or one_line(error)) from None


def unknown_key_line(error: BaseException, config_name: str, overrides) -> str | None:
    """For an override of a key the config lacks (a typo, mostly), the line ex-color gives its own settings:
    the key, then the keys its group does have (composed without it), then how a new key is added; Hydra's
    own line leads with the `+KEY=…` advice, which a typo should not follow. None for any other error."""
    found = re.search(r"Could not override '([^']+)'", str(error))
    if not found or "is not in struct" not in f"{error} {error.__cause__}":
        return None
    key = found.group(1)
    parent = key.rpartition(".")[0]
    rest = [o for o in overrides if o.split("=", 1)[0] != key]
    try:
        node = compose(config_name, rest)
    except UserError:
        return None
    node = OmegaConf.select(node, parent) if parent else node
    if not isinstance(node, DictConfig):
        return None
    known = ", ".join(str(k) for k in node.keys())
    return f"{key}: unknown key; known keys: {known} (a new key is added with +{key}=…)"


# Hydra's own flags that take a value (`--cfg job`), may take one (`--info defaults`), or take none.
VALUE_FLAGS = {
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--experimental-rerun",
}
INFO_FLAGS = {"--info", "-i"}
INFO_VALUES = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}
HELP_FLAGS = {"--help", "-h", "--hydra-help", "--shell-completion", "-sc"}


def config_overrides(arguments: list[str]) -> list[str] | None:
    """The config overrides among a command's Hydra arguments (its flags and their values dropped), or None
    when a flag asks for help, which composes nothing."""
    overrides, skip = [], False
    for index, argument in enumerate(arguments):
        if skip:
            skip = False
            continue
        if argument in HELP_FLAGS:
            return None
        if argument in VALUE_FLAGS:
            skip = True
        elif argument in INFO_FLAGS:
            skip = index + 1 < len(arguments) and arguments[index + 1] in INFO_VALUES
        elif not argument.startswith("-"):
            overrides.append(argument)
    return overrides


def sweep_choices(overrides: list[str]) -> list[list[str]]:
    """Each override's values as `key=value` lines: one for a plain override, several for a sweep (a,b,c)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as error:
        raise UserError(one_line(error)) from None
    return [
        [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override() else [o.input_line]
        for o in parsed
    ]


def check_overrides(config_name: str, arguments: list[str], validate=None) -> None:
    """Fail early, in one line, on overrides Hydra would reject (each sweep value is checked too), and on
    configs that `validate(cfg)` rejects, before Hydra creates any run directory or prints a config."""
    plain = config_overrides(arguments)
    if plain is None:
        return
    choices = sweep_choices(plain)
    first = [values[0] for values in choices]
    variants = [first] + [
        first[:index] + [value] + first[index + 1 :] for index, values in enumerate(choices) for value in values[1:]
    ]
    for variant in variants:
        cfg = compose(config_name, variant)
        if validate is not None:
            validate(cfg)


def compose_intervention(
    kind: str, overrides: list[str] | tuple[str, ...] = (), run_cfg=None, where: str = "--kind"
) -> DictConfig:
    """The `intervene` config of intervention `kind`: configs/intervention/<kind>.yaml, then the run's own
    settings (its `concepts` and `intervention_settings.<kind>`, when `run_cfg` is given), then `overrides`."""
    kinds = known_options("intervention")
    if kind not in kinds:
        raise UserError(f"{where} {kind}: unknown intervention; kinds: {', '.join(kinds)}")
    base = _intervene_container(kind, ())
    given = _intervene_container(kind, tuple(overrides)) if overrides else base
    layers = [copy.deepcopy(base)]
    if run_cfg is not None:
        settings = run_settings(run_cfg, kind)
        if settings.get("concepts"):  # the run's concepts replace the default ones (a digits run has no red)
            layers[0]["concepts"] = {}
        layers.append(settings)
    layers.append(changed(base, copy.deepcopy(given)))
    try:
        return OmegaConf.merge(*layers)
    except Exception as error:  # mismatched types between the layers
        raise UserError(
            f"intervention {kind}: the run's settings and the overrides do not merge: {one_line(error)}"
        ) from None


@functools.lru_cache(maxsize=64)
def _intervene_container(kind: str, overrides: tuple[str, ...]) -> dict:
    """The `intervene` config of `kind` with `overrides`, resolved (composed once per process: the shipped
    configs do not change while it runs; callers copy it)."""
    return OmegaConf.to_container(compose("intervene", [f"intervention={kind}", *overrides]), resolve=True)


def run_settings(run_cfg: DictConfig, kind: str) -> dict:
    """A run's own concepts and its settings for intervention `kind`, as an `intervene` config fragment."""

    def plain(node):
        return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node

    try:
        concepts = plain(run_cfg.get("concepts")) or {}
        settings = plain((plain(run_cfg.get("intervention_settings")) or {}).get(kind)) or {}
    except Exception as error:
        raise UserError(f"intervention_settings.{kind}: {one_line(error)}") from None
    if not isinstance(settings, dict):
        raise UserError(f"intervention_settings.{kind}: expected a mapping of intervention keys")
    if "kind" in settings and settings["kind"] != kind:
        raise UserError(f"intervention_settings.{kind}.kind: names another kind ({settings['kind']!r})")
    return {"concepts": concepts, "intervention": settings}


def changed(base, given):
    """What `given` sets differently from `base` (nested mappings compared key by key)."""
    if not isinstance(base, dict) or not isinstance(given, dict):
        return given
    return {
        key: changed(base[key], value) if key in base else value
        for key, value in given.items()
        if key not in base or base[key] != value
    }


def known_options(group: str) -> list[str]:
    """The shipped options of a config group (file names in configs/<group>/)."""
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def output_dir(config_name: str, overrides: list[str], multirun: bool):
    """Where Hydra will put the run (or the sweep, with -m) that these overrides compose."""
    run_dir, sweep_dir, _, _ = output_layout(config_name, overrides, multirun)
    return sweep_dir if multirun else run_dir


def output_layout(config_name: str, arguments: list[str], multirun: bool):
    """(run directory, sweep directory, the sweep's subdir as written, number of sweep jobs) of a command."""

    from hydra import compose as hydra_compose

    choices = sweep_choices(config_overrides(arguments) or [])
    first = [values[0] for values in choices]
    with _hydra_context():
        cfg = hydra_compose(config_name=config_name, overrides=first, return_hydra_config=True)
    subdir = str(OmegaConf.to_container(cfg.hydra.sweep, resolve=False).get("subdir"))
    jobs = math.prod(len(values) for values in choices) if multirun else 1
    return Path(str(cfg.hydra.run.dir)), Path(str(cfg.hydra.sweep.dir)), subdir, jobs


# Seeds are whole numbers in [0, 2**32): what every random generator the project seeds accepts.
SEED_LIMIT = 2**32


def check_seed(value, key: str = "seed") -> int:
    """`value` as a seed, or UserError naming `key` and what a seed must be."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEED_LIMIT:
        raise UserError(f"{key}: expected a whole number from 0 to {SEED_LIMIT - 1} (got {value!r})")
    return value


def check_targets(cfg: DictConfig) -> None:
    """Every `_target_` of a composed config names something importable, checked before any run directory
    exists: `optimizer._target_`, each logger's, each regularizer's loss."""

    def walk(node, path: str):
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if key == "_target_":
                    yield where, value
                else:
                    yield from walk(value, where)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{path}[{index}]")

    # the interventions' settings are checked by building each one (their refusals list the shipped shapers)
    node = {k: v for k, v in OmegaConf.to_container(cfg, resolve=False).items() if k != "intervention_settings"}
    for where, target in walk(node, ""):
        if not isinstance(target, str) or not target:
            raise UserError(f"{where}: expected a dotted import path (got {target!r})")
        if "${" in target:
            continue
        try:
            importable(target)
        except Exception as error:  # noqa: BLE001 - whatever importing it raised, in one line
            raise UserError(f"{where}: cannot import {target!r} ({type(error).__name__}: {error})") from None


def importable(target: str):
    """The object a dotted path names (the longest importable module, then attributes), as Hydra finds it."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                raise ImportError(f"{'.'.join(parts[:cut])} has no {attribute!r}")
            found = getattr(found, attribute)
        return found
    raise ImportError(f"no module named {parts[0]!r}")
