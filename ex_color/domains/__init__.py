"""Domains: what a kind of data brings to ex-color, behind one interface, chosen by `data.kind`.

Colour (`data=hsv`, `data=rgb`) is the built-in domain: its cubes, named colours, HSV similarity, HD-cube
evaluation, R² score and figures are where they always were (data.*, builders, evaluation.*, figures,
reports, tasks), and every lookup here returns None for it. Another domain plugs in through the registry
below, in two parts, so that imports keep flowing one way (core below, tasks above):

* its **data part** (core; `data_part`, called by `builders`): a module with `settings(data)` (checks
  `cfg.data`; the result has `label_names`), `check(cfg)` (the rest of a training config), `batches(settings,
  seed)` (the block contract of `data.sampling`: `locate`, `block`, `label_names`), `validation(settings)`
  (a ValidationSet or None) and `INPUT_WIDTH`;
* its **evaluation part** (`domain_for`, `domain_of_run`, called by `tasks.run`, `tasks.intervene` and
  `tasks.infer`): a `Domain` — its evaluation inputs and groups, the error per group and its selectivity,
  figures and report.md (`evaluate_run`, `intervene`), the redux score (`score_plan`, `score_runs`) and
  what `excolor infer --input` reads (`read_inputs`).

Everything else — the schedule, terms, training loop, ensembles, interventions, surgery, the redux summary,
reports across runs and the launchers — serves every domain unchanged. `digits` (`data=digits`): the UCI
handwritten digits (ex_color.data.digits, ex_color.domains.digits; docs/digits.md). Adding a domain:
docs/ARCHITECTURE.md, "Adding a domain".
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ex_color.errors import UserError


@dataclass(frozen=True)
class Registered:
    """A domain: the `data.kind`s it serves, its data module and its evaluation class ("module:Class");
    None for the built-in colour domain's."""

    kinds: tuple[str, ...]
    data: str | None
    evaluation: str | None


DOMAINS: dict[str, Registered] = {
    "color": Registered(("hsv", "rgb"), None, None),
    "digits": Registered(("digits",), "ex_color.data.digits", "ex_color.domains.digits:DigitsDomain"),
}


class Domain(Protocol):
    """A domain's evaluation part."""

    name: str
    input_width: int

    def score_plan(self, cfg) -> Any:
        """What `score_runs` needs (checked before training), or None when the experiment has no score."""

    def score_runs(self, run_dirs: Sequence[Path], plan: Any) -> None:
        """Write each run's score.json (`score`, `label`, optional `columns`): the redux picks its best by it."""

    def evaluate_run(self, run_dir: Path, configs: Mapping[str, Any]) -> Path:
        """Measure the baseline and each intervention, save them, draw the figures; returns report.md."""

    def write_report(self, run_dir: Path) -> Path:
        """report.md of a run, from its files (`excolor report --run-reports`)."""

    def intervene(self, run_dir: Path, icfg: Any) -> tuple[Path, Any]:
        """`excolor intervene`: one intervention (`icfg`: its composed config) measured, saved and drawn;
        (its folder, what it measured: an object with a `table()`, a TextTable the command prints)."""

    def read_inputs(self, path: Path) -> Any:
        """`excolor infer --input PATH`: inputs [N, input_width], checked (one-line UserError otherwise)."""


def kind_of(data: Any) -> str:
    """`data.kind` of a data config (runs made before `kind` existed: hsv)."""
    return str((data or {}).get("kind", "hsv")) if hasattr(data, "get") or data is None else "hsv"


def registered(data: Any) -> tuple[str, Registered]:
    kind = kind_of(data)
    for name, entry in DOMAINS.items():
        if kind in entry.kinds:
            return name, entry
    kinds = [k for entry in DOMAINS.values() for k in entry.kinds]
    raise UserError(f"data.kind: unknown pipeline {kind!r}; pipelines: {', '.join(kinds)}")


def data_part(data: Any):
    """The data module of the domain serving `cfg.data`, or None for colour (builders' own pipelines)."""
    _, entry = registered(data)
    return None if entry.data is None else importlib.import_module(entry.data)


def domain_for(data: Any) -> Domain | None:
    """The evaluation part of the domain serving `cfg.data`; None for colour (the tasks' own)."""
    _, entry = registered(data)
    if entry.evaluation is None:
        return None
    module, _, name = entry.evaluation.partition(":")
    return getattr(importlib.import_module(module), name)()


def domain_of_run(run_dir: Path) -> Domain | None:
    """The evaluation part of a trained run's domain, from its saved config; None for colour."""
    from ex_color import runs

    return domain_for(runs.load_config(run_dir).get("data"))
