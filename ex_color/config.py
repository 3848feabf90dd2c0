"""Composing configs outside Hydra's entry point, and turning Hydra's errors into one-line messages."""

from __future__ import annotations

from contextlib import contextmanager

from omegaconf import DictConfig

from ex_color.errors import UserError

@contextmanager
def _hydra_context():
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ex_color.paths import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        yield
    GlobalHydra.instance().clear()


def one_line(error: BaseException) -> str:
    """Hydra and OmegaConf errors span several lines; keep what names the problem and the key."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    cause = error.__cause__
    detail = ""
    if cause is not None and str(cause).strip():
        detail = str(cause).strip().splitlines()[0].strip()
    keep = [lines[0]]
    for line in lines[1:]:
        if line.startswith(("full_key:", "Key '")) or "not in struct" in line:
            keep.append(line)
    if detail and detail not in keep[0]:
        keep.append(detail)
    text = "; ".join(line.rstrip(".") for line in dict.fromkeys(keep))
    return text.replace("To append to your config use", "to add a new key use")


def compose(config_name: str, overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config Hydra would compose for `excolor <config_name> OVERRIDES` (no run directory)."""
    from hydra import compose as hydra_compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with _hydra_context():
            return hydra_compose(config_name=config_name, overrides=list(overrides), return_hydra_config=False)
    except (HydraException, OmegaConfBaseException) as error:
        raise UserError(one_line(error)) from None


def sweep_choices(overrides: list[str]) -> list[list[str]]:
    """Each override's values as `key=value` lines: one for a plain override, several for a sweep (a,b,c)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("-")])
    except HydraException as error:
        raise UserError(one_line(error)) from None
    return [
        [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override() else [o.input_line]
        for o in parsed
    ]


def check_overrides(config_name: str, overrides: list[str], validate=None) -> None:
    """Fail early, in one line, on overrides Hydra would reject (each sweep value is checked too), and on
    configs that `validate(cfg)` rejects, before Hydra creates any run directory."""
    if any(o in ("--cfg", "-c", "--info", "-i", "--help", "-h") for o in overrides):
        return
    choices = sweep_choices(overrides)
    first = [values[0] for values in choices]
    variants = [first] + [
        first[:index] + [value] + first[index + 1 :] for index, values in enumerate(choices) for value in values[1:]
    ]
    for variant in variants:
        cfg = compose(config_name, variant)
        if validate is not None:
            validate(cfg)


def known_options(group: str) -> list[str]:
    """The shipped options of a config group (file names in configs/<group>/)."""
    from ex_color.paths import config_dir

    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def output_dir(config_name: str, overrides: list[str], multirun: bool):
    """Where Hydra will put the run (or the sweep, with -m) that these overrides compose."""
    from pathlib import Path

    from hydra import compose as hydra_compose

    first = [values[0] for values in sweep_choices(overrides)]
    with _hydra_context():
        cfg = hydra_compose(config_name=config_name, overrides=first, return_hydra_config=True)
    return Path(str(cfg.hydra.sweep.dir if multirun else cfg.hydra.run.dir))
