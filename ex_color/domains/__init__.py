"""Domains: what a kind of data brings to ex-color, behind one interface, chosen by `data.kind`.

Every domain — colour (`data=hsv`, `data=rgb`) and the digits (`data=digits`) — plugs in through the registry
below, in two parts, so that imports keep flowing one way (core below, tasks above):

* its **data part** (core; `data_part`, called by `builders`): a module with `settings(data)` (checks
  `cfg.data`; the result has `label_names`), `check(cfg)` (the rest of a training config), `batches(settings,
  seed)` (the block contract of `data.sampling`: `locate`, `block`, `label_names`), `validation(settings)`
  (a ValidationSet or None) and `INPUT_WIDTH`. Colour's: ex_color.data.color; the digits': ex_color.data.digits.
* its **evaluation part** (`domain_for`, `domain_of_run`, called by the tasks): a `Domain` — its evaluation
  inputs and groups, the error per group and its selectivity, figures and report.md (`evaluate_run`,
  `intervene`, `write_report`), the redux score and per-seed measures (`score_plan`, `score_runs`,
  `measure_seeds`, `seed_columns`) and what `excolor infer` reads (`inputs`). Colour's: ex_color.domains.color (the probe
  of cubes and named colours, HSV similarity, the R² score, the colour figures); the digits':
  ex_color.domains.digits (the ten classes, the ratio score, docs/digits.md).

Its registry entry also tells the shared reports, without loading the domain, how to show its columns
(`Columns`: field order, gloss, the selectivity field, which are better higher), its score's scale and whether
`excolor plot` draws its runs. Everything else — the schedule, terms, training loop, ensembles, interventions,
surgery, the redux summary, reports across runs, search and the launchers — serves every domain unchanged.
Adding a domain: docs/ARCHITECTURE.md, "Adding a domain".
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol

from ex_color import runs
from ex_color.errors import UserError


@dataclass(frozen=True)
class Columns:
    """How the shared reports show a domain's columns, known without loading the domain (so that `reports`,
    below the domains, can read it): the per-intervention fields of an evaluated run (`KIND/<field>` in
    `excolor report`), in the order the tables show them, and the table note that glosses them; `selectivity`,
    the field `--best selectivity` and the short table take; `higher`, the patterns (fnmatch, on names with
    `/` read as `.`) of the columns, run or seed, where higher is better (lower for any other)."""

    fields: tuple[str, ...]
    selectivity: str
    higher: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Registered:
    """A domain: the `data.kind`s it serves, its data module, its evaluation class ("module:Class"), its
    columns in the shared reports, the scale of its redux score (`unit`: within [0, 1]; `log`), and whether
    `excolor plot` (and the explorer) draws its runs."""

    kinds: tuple[str, ...]
    data: str
    evaluation: str
    columns: Columns
    score_scale: str = "log"
    plots: bool = False


COLOR_COLUMNS = Columns(
    fields=("max", "mean", "error_ratio", "delta_ratio", "hue_grey_ratio", "r2"),
    selectivity="error_ratio",
    higher=("*.error_ratio", "*.delta_ratio", "*.hue_grey_ratio", "*.r2", "*.target_delta"),
    note="KIND/max, KIND/mean: per-colour error under that intervention; error_ratio, delta_ratio: its "
    "selectivity (on-target over off-target damage); hue_grey_ratio: the smallest Δ among the 12 named hues over "
    "the largest among the 5 greys (deleting a subspace); r2: R² of its per-colour error against similarity to "
    "the concept colour (eval.correlation)",
)
DIGITS_COLUMNS = Columns(
    fields=("mean", "target_delta", "ratio_median", "ratio_max"),
    selectivity="ratio_median",
    higher=("*.target_delta", "*.ratio_median", "*.ratio_max", "score.delta_*"),
    note="KIND/mean (digits): mean per-image error under that intervention; target_delta, ratio_median, "
    "ratio_max: the concept digit's Δ, over the median and the largest Δ of the other digits",
)

DOMAINS: dict[str, Registered] = {
    "color": Registered(
        ("hsv", "rgb"),
        "ex_color.data.color",
        "ex_color.domains.color:ColorDomain",
        COLOR_COLUMNS,
        score_scale="unit",  # R²
        plots=True,
    ),
    "digits": Registered(("digits",), "ex_color.data.digits", "ex_color.domains.digits:DigitsDomain", DIGITS_COLUMNS),
}


def report_fields() -> list[str]:
    """Every domain's per-intervention fields, each once, in the registry's order."""
    return list(dict.fromkeys(f for entry in DOMAINS.values() for f in entry.columns.fields))


def selectivity_fields() -> list[str]:
    return list(dict.fromkeys(entry.columns.selectivity for entry in DOMAINS.values()))


def higher_is_better(name: str) -> bool:
    """A run or seed column where higher is better, by any domain's `Columns.higher`."""
    dotted = name.replace("/", ".")
    return any(fnmatchcase(dotted, pattern) for entry in DOMAINS.values() for pattern in entry.columns.higher)


def column_notes(columns: Sequence[str]) -> list[str]:
    """The notes of the domains whose selectivity field some column (`KIND/<field>`) holds."""
    return [
        entry.columns.note
        for entry in DOMAINS.values()
        if any(c.endswith("/" + entry.columns.selectivity) for c in columns)
    ]


class Domain(Protocol):
    """A domain's evaluation part. One instance serves one command (it may keep what it loaded)."""

    name: str
    input_width: int

    def score_plan(self, cfg) -> Any:
        """What `score_runs` needs (checked before training), or None when the experiment has no score."""

    def score_runs(self, run_dirs: Sequence[Path], plan: Any) -> None:
        """Write each run's score.json (`score`, `label`, optional `columns`): the redux picks its best by it."""

    def measure_seeds(self, cfg, run_dirs: Sequence[Path], configs: Mapping[str, Any]) -> None:
        """What the redux measures of every seed beside the score (colour: selectivity.json per seed)."""

    def seed_columns(self, cfg) -> list[str]:
        """The columns `score_runs` and `measure_seeds` add to each seed of a redux's summary (beside the score,
        recon, validation values and label counts), known from the config before training: what
        `redux.minimise`/`maximise`/`best` and a search's metrics may name."""

    def evaluate_run(self, run_dir: Path, configs: Mapping[str, Any], log_results: bool = False) -> Path:
        """Measure the baseline and each intervention, save them, draw the figures; with `log_results`, put
        them into the tracker's run in progress. Returns report.md."""

    def write_report(self, run_dir: Path) -> list[Path]:
        """report.md of a run (and any tables beside it), from its files; report.md last."""

    def run_columns(self, run_dir: Path) -> dict[str, float]:
        """An evaluated run's columns that `excolor report` compares across runs beyond the common ones
        (`<kind>/<field>`; colour's come from metrics.json through reports.results: none here)."""

    def intervene(self, run_dir: Path, icfg: Any) -> tuple[Path, Any]:
        """`excolor intervene`: one intervention (`icfg`: its composed config) measured, saved and drawn;
        (its folder, what it measured: colour's InterventionResult, or an object with a `table()`)."""

    def inputs(self, values: Sequence[str], path: Path | None) -> tuple[Any, list[str]]:
        """`excolor infer`: (inputs [N, input_width], a label per row) from the command line's values and/or
        `--input PATH`, checked (one-line UserError otherwise)."""


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
    """The data module of the domain serving `cfg.data`."""
    _, entry = registered(data)
    return importlib.import_module(entry.data)


def domain_for(data: Any) -> Domain:
    """The evaluation part of the domain serving `cfg.data`."""
    _, entry = registered(data)
    module, _, name = entry.evaluation.partition(":")
    return getattr(importlib.import_module(module), name)()


def domain_of_run(run_dir: Path) -> Domain:
    """The evaluation part of a trained run's domain, from its saved config."""
    return domain_for(runs.load_config(run_dir).get("data"))
