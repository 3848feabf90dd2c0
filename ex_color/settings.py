"""One settings parser: a settings group of the config (`trainer:`, `data:`, `model:`, `history:`, `eval:`,
`redux:`, `score:`) read into a frozen dataclass. The dataclass's fields are the known keys; each field's
type (bool, int, float, str, tuple of str, or Optional of one of them) and its `setting(...)` metadata
(`least`, `greater`, `most`, `choices`, `hint`) say what a value may be. A mistake is one line naming the
key: `model.hidden must be a positive integer (got -1)`, `trainer.foo: unknown key; known keys: ...`.

    @dataclass(frozen=True)
    class HistorySettings:
        snapshots: int = setting(0, least=0)

    read_settings(HistorySettings, cfg.history, "history")
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from ex_color.errors import UserError


def setting(
    default: Any = dataclasses.MISSING,
    *,
    least: float | None = None,
    greater: float | None = None,
    most: float | None = None,
    below: float | None = None,
    choices: Iterable[Any] | None = None,
    hint: str | None = None,
) -> Any:
    """A dataclass field with what its value may be: at least `least`, greater than `greater`, at most
    `most`, below `below`, one of `choices`; `hint` says what it means, in the error."""
    metadata = {"least": least, "greater": greater, "most": most, "below": below, "choices": tuple(choices or ())}
    metadata["hint"] = hint
    if isinstance(default, list | dict | set):
        raise TypeError("a setting's default must be immutable (a tuple)")
    return dataclasses.field(default=default, metadata=metadata)


def plain_mapping(node: Any, key: str) -> dict[str, Any]:
    """A config node as a plain dict (None: empty); UserError unless it is a mapping."""
    from omegaconf import OmegaConf

    value = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UserError(f"{key}: expected a mapping of settings (got {value!r})")
    return dict(value)


def check_keys(values: Mapping[str, Any], known: Iterable[str], key: str, what: str = "") -> None:
    """UserError naming the first key of `values` not among `known` (`what`: e.g. " for data hsv")."""
    known = list(known)
    unknown = sorted(str(name) for name in set(values) - set(known))
    if unknown:
        raise UserError(f"{key}.{unknown[0]}: unknown key{what}; known keys: {', '.join(known)}")


def read_settings(cls: type, node: Any, key: str, known: Iterable[str] | None = None, what: str = "") -> Any:
    """`cls` (a dataclass) from the settings group `node` at `key`: unknown keys refused (`known`: a subset of
    the fields, when a group's keys depend on another of its values), each value checked against its
    field; keys left out take their defaults."""
    values = plain_mapping(node, key)
    fields = {field.name: field for field in dataclasses.fields(cls)}
    check_keys(values, fields if known is None else known, key, what)
    hints = typing.get_type_hints(cls)
    for name, field in fields.items():
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        if required and name not in values and (known is None or name in known):
            raise UserError(f"{key}.{name}: required")
    checked = {
        name: check_value(value, hints[name], f"{key}.{name}", fields[name].metadata) for name, value in values.items()
    }
    return cls(**checked)


def check_value(value: Any, kind: Any, key: str, limits: Mapping[str, Any] | None = None) -> Any:
    """`value` checked to be a `kind` within `limits` (see `setting`), converted where it must be (a list to
    a tuple, an int to a float); UserError naming `key` otherwise."""
    limits = dict(limits or {})
    hint = limits.get("hint")
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        if value is None:
            return None
        (kind,) = [arg for arg in args if arg is not type(None)]
        args = typing.get_args(kind)
    if limits.get("choices"):
        choices = limits["choices"]
        if value not in choices:
            raise UserError(f"{key}: expected one of {', '.join(map(str, choices))} (got {value!r})")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise UserError(_must(key, "true or false", value, hint))
        return value
    if kind is int:
        return _number(value, key, hint, limits, whole=True)
    if kind is float:
        return float(_number(value, key, hint, limits, whole=False))
    if kind is str:
        if not isinstance(value, str):
            raise UserError(_must(key, "a string", value, hint))
        return value
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, list | tuple):
            raise UserError(_must(key, "a list", value, hint))
        item = args[0]
        return tuple(check_value(v, item, f"{key}[{index}]", {"hint": hint}) for index, v in enumerate(value))
    return value  # a mapping or other structure the group's own reader checks


def _number(value: Any, key: str, hint: str | None, limits: Mapping[str, Any], whole: bool) -> int | float:
    least, greater, most, below = (limits.get(name) for name in ("least", "greater", "most", "below"))
    if whole:
        what = "a positive integer" if least == 1 and most is None and below is None else "an integer"
    else:
        what = "a positive number" if greater == 0 and most is None and below is None else "a number"
    if what in ("an integer", "a number"):
        bounds = [f"≥ {least:g}" if least is not None else "", f"> {greater:g}" if greater is not None else ""]
        bounds += [f"≤ {most:g}" if most is not None else "", f"< {below:g}" if below is not None else ""]
        what = " ".join([what, " and ".join(b for b in bounds if b)]).strip()
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and whole:
        ok = isinstance(value, int)
    if ok and not whole:
        ok = math.isfinite(value)
    if ok:
        ok = (
            (least is None or value >= least)
            and (greater is None or value > greater)
            and (most is None or value <= most)
            and (below is None or value < below)
        )
    if not ok:
        raise UserError(_must(key, what, value, hint))
    return value


def _must(key: str, what: str, value: Any, hint: str | None) -> str:
    return f"{key} must be {what} ({hint}; got {value!r})" if hint else f"{key} must be {what} (got {value!r})"
