"""The multi-seed ("redux") procedure's summary (later-experiments §0.9), read from the seeds' files: each
seed's score, selectivity (selectivity.json), last validation values and label counts; min, max, mean and
standard deviation of each (the one across-runs `reports.summary.Summary`); the Pareto front over the experiment's columns; the best seed by `redux.best`
(reports.redux_choice); box plots. Written as `summary.md`, `summary.json` and `figures/` beside the seeds.

Config (`redux:`): `evaluate` (best | all: which seeds `excolor run --seeds` evaluates in full),
`minimise` and `maximise` (the Pareto front's columns; null: every `val/…` column, and the score), `best`
(score | pareto | a column: the rule that picks the best seed).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ex_color import runs
from ex_color.domains import registered
from ex_color.errors import UserError
from ex_color.evaluation.seed_selectivity import check_column, parse_column
from ex_color.reports import redux_choice, redux_selectivity
from ex_color.reports.render import TextTable, escape, image, number
from ex_color.reports.results import FINAL_SHARE, RunResult, Stat, is_run_dir, kind_order, load_run
from ex_color.reports.summary import Summary, summary_of
from ex_color.settings import plain_mapping, read_settings, setting

SUMMARY_MD = "summary.md"
SUMMARY_JSON = "summary.json"
FIGURES = "figures"
BOX_PLOTS = "box-plots"
EVALUATE = ("best", "all")
FRONT_SHOWN = 5


@dataclass(frozen=True)
class ReduxSettings:
    evaluate: str = setting("best", choices=EVALUATE)
    minimise: tuple[str, ...] | None = setting(None, hint="metric columns")
    maximise: tuple[str, ...] | None = setting(None, hint="metric columns")
    best: str | None = setting(redux_choice.SCORE, hint="score, pareto or a summary column")

    @classmethod
    def from_config(cls, node: Any, key: str = "redux") -> ReduxSettings:
        values = plain_mapping(node, key)
        for name in ("minimise", "maximise"):  # one column may be given alone
            if isinstance(values.get(name), str):
                values[name] = [values[name]]
        values["best"] = redux_choice.parse_rule(values.get("best"), f"{key}.best")
        return read_settings(cls, values, key)

    def check(self, kinds: list[str]) -> None:
        """Before training: the selectivity columns named (`selectivity.<kind>.<field>`) exist for `kinds`
        (the experiment's interventions but none)."""
        for key in ("minimise", "maximise"):
            for column in getattr(self, key) or ():
                if parse_column(column) is not None:
                    check_column(column, kinds, f"redux.{key}")
        redux_choice.check_rule(self.best, kinds, self.maximise, self.minimise)


def hue_grey_text(selectivity) -> str:
    """`123 (teal / white)`: the hue/grey ratio and the colours it divides; `–` in older metrics.json."""
    if selectivity.hue_grey_ratio is None:
        return "–"
    colours = f"{selectivity.smallest_hue_delta_color} / {selectivity.largest_grey_delta_color}"
    return f"{number(selectivity.hue_grey_ratio)} ({escape(colours)})"


def seed_runs(directory: Path) -> list[Path]:
    """The finished seeds (`seed-<k>/` holding a checkpoint, no error.json) under `directory`, by seed."""
    found = [p for p in Path(directory).glob("seed-*") if p.is_dir() and is_run_dir(p)]
    return sorted(found, key=lambda p: int(p.name.removeprefix("seed-")) if p.name[5:].isdigit() else 1 << 30)


def seed_columns(result: RunResult) -> dict[str, float]:
    """One seed's summary columns: its score (and score.json's own columns, `score/…`), its final training
    reconstruction loss, its selectivity (`selectivity.<kind>.<field>`), its last validation values, then its
    label counts."""
    metrics = result.metrics()
    keys = [k for k in metrics if k in ("score", "recon") or k.startswith("score/")]
    keys += [k for k in metrics if k.startswith("selectivity.")]
    keys += [k for k in metrics if k.startswith("val/")]
    keys += [k for k in metrics if k.startswith("labels/")]
    return {k: metrics[k] for k in keys}


def dominates(a: dict[str, float], b: dict[str, float], minimise, maximise) -> bool:
    """`a` is no worse than `b` on every column and better on one."""
    better = False
    for column in minimise:
        if a[column] > b[column]:
            return False
        better |= a[column] < b[column]
    for column in maximise:
        if a[column] < b[column]:
            return False
        better |= a[column] > b[column]
    return better


def pareto_front(rows: dict[str, dict[str, float]], minimise, maximise) -> list[str]:
    """The seeds no other seed dominates (seeds missing a column are left out), highest score first."""
    usable = {
        name: row
        for name, row in rows.items()
        if all(c in row and math.isfinite(row[c]) for c in (*minimise, *maximise))
    }
    front = [
        name
        for name, row in usable.items()
        if not any(dominates(other, row, minimise, maximise) for o, other in usable.items() if o != name)
    ]
    return sorted(front, key=lambda name: -usable[name].get("score", -math.inf))


@dataclass
class ReduxSummary:
    """A redux's summary: the across-runs `Summary` of its seeds (labelled `seed-<k>`, their columns from
    `seed_columns`), with the Pareto front and the rule that chose the best seed."""

    across: Summary
    name: str
    rows: dict[str, dict[str, float]]
    minimise: tuple[str, ...]
    maximise: tuple[str, ...]
    front: list[str]
    best: str | None
    score_label: str | None = None
    failed: list[str] = field(default_factory=list)
    choice: redux_choice.Choice | None = None

    @property
    def directory(self) -> Path:
        return self.across.root

    @property
    def seeds(self) -> dict[str, RunResult]:
        return dict(zip(self.across.labels, self.across.runs))

    @property
    def columns(self) -> list[str]:
        return self.across.columns

    @property
    def stats(self) -> dict[str, Stat]:
        return self.across.stats

    def reread(self, names: list[str]) -> None:
        """Read these seeds back from their files again (after they were evaluated)."""
        for name in names:
            index = self.across.labels.index(name)
            self.across.runs[index] = load_run(self.across.runs[index].path)

    def evaluated(self) -> list[str]:
        return [
            name
            for name, result in self.seeds.items()
            if result.interventions or (result.path / "report.md").is_file()  # another domain's metrics files
        ]

    def as_json(self) -> dict[str, Any]:
        def finite(value: float) -> float | None:
            return value if value is not None and math.isfinite(value) else None

        def seed(name: str, row: dict[str, float]) -> dict[str, Any]:
            out: dict[str, Any] = {c: finite(v) for c, v in row.items() if not c.startswith("selectivity.")}
            if self.seeds[name].selectivity:
                out["selectivity"] = redux_selectivity.seed_json(self.seeds[name].selectivity)
            return out

        return {
            "name": self.name,
            "best": self.best,
            "best_rule": self.choice.record(len(self.rows)) if self.choice else None,
            "score": self.score_label,
            "pareto": {"minimise": list(self.minimise), "maximise": list(self.maximise), "front": self.front},
            "columns": {
                c: {"n": s.n, "min": finite(s.min), "max": finite(s.max), "mean": finite(s.mean), "std": finite(s.std)}
                for c, s in self.stats.items()
            },
            "evaluated": self.evaluated(),
            "failed": self.failed,
            "selectivity": redux_selectivity.spreads(self.rows, redux_selectivity.kinds_in(self.columns)),
            "seeds": {name: seed(name, row) for name, row in self.rows.items()},
        }

    def stats_table(self) -> TextTable:
        return TextTable(
            f"Across {len(self.rows)} seeds",
            ["column", "better", "min", "max", "mean", "std"],
            [
                [
                    f"`{c}`",
                    redux_choice.direction(c, self.maximise, self.minimise),
                    number(s.min),
                    number(s.max),
                    number(s.mean),
                    number(s.std),
                ]
                for c, s in self.stats.items()
                if not c.startswith("selectivity.")  # their own table: median, quartiles
            ],
            align=["l", "l", "r", "r", "r", "r"],
            note=(f"score: {self.score_label}. " if self.score_label else "")
            + f"recon: the final training reconstruction loss (mean of the last {FINAL_SHARE:.0%} of steps); validation values are "
            "each seed's last; label counts are over the whole run; std is the sample standard deviation.",
        )

    def front_table(self, link_from: Path | None = None) -> TextTable:
        shown = self.front[:FRONT_SHOWN]
        shown += [self.best] if self.best in self.front and self.best not in shown else []
        columns = [*self.maximise, *self.minimise]
        return TextTable(
            "Pareto front",
            ["seed", *[f"`{c}`" for c in columns]],
            [[self.link(name, link_from), *(number(self.rows[name].get(c)) for c in columns)] for name in shown],
            note=f"{len(self.front)} of {len(self.rows)} seeds are not dominated "
            f"(maximising {', '.join(self.maximise) or 'nothing'}, minimising {', '.join(self.minimise) or 'nothing'})"
            + ("; those with the highest score (and the best) are shown." if len(self.front) > len(shown) else "."),
        )

    def seeds_table(self, link_from: Path | None = None) -> TextTable:
        """Every column, of the selectivity only the delta ratios (summary.json has every field)."""
        columns = [c for c in self.columns if not c.startswith("selectivity.") or c.endswith(".delta_ratio")]
        return TextTable(
            "Per seed",
            ["seed", *[f"`{c}`" for c in columns]],
            [[self.link(name, link_from), *(number(row.get(c)) for c in columns)] for name, row in self.rows.items()],
        )

    def link(self, name: str, link_from: Path | None) -> str:
        label = escape(name) + (" ★" if name == self.best else "")
        report = self.seeds[name].path / "report.md"
        if link_from is not None and report.is_file():
            return f"[{label}]({Path(os.path.relpath(report, link_from)).as_posix()})"
        return label

    def best_tables(self) -> list[TextTable]:
        """The best seed's named-colour Δ table (one column per evaluated intervention) and selectivity."""
        if self.best is None or not self.seeds[self.best].interventions:
            return []
        metrics = self.seeds[self.best].interventions
        kinds = [k for k in kind_order(metrics) if k != "none"]
        if not kinds:
            return []
        colours = list(metrics[kinds[0]].named_colors)
        delta = TextTable(
            f"{self.best}: named colours, Δ error (intervened − baseline)",
            ["colour", "baseline", *[f"Δ {k}" for k in kinds]],
            [
                [
                    escape(colour),
                    number(metrics[kinds[0]].named_colors[colour].baseline),
                    *(number(metrics[k].named_colors[colour].delta) for k in kinds),
                ]
                for colour in colours
            ],
        )
        ratios = TextTable(
            f"{self.best}: selectivity",
            ["intervention", "Δ at target", "largest far Δ", "delta ratio", "error ratio", "hue/grey ratio"],
            [
                [
                    k,
                    f"{number(metrics[k].selectivity.target_delta)} ({escape(metrics[k].selectivity.target_color)})",
                    f"{number(metrics[k].selectivity.largest_far_delta)} "
                    f"({escape(metrics[k].selectivity.largest_far_delta_color)})",
                    number(metrics[k].selectivity.delta_ratio),
                    number(metrics[k].selectivity.error_ratio),
                    hue_grey_text(metrics[k].selectivity),
                ]
                for k in kinds
            ],
            note="Delta ratio: Δ at the target colour over the largest Δ among colours more than 90° of hue away "
            "and the greys. Error ratio: mean error within 30° of the target over the mean more than 90° away. "
            "Hue/grey ratio (deleting a subspace): the smallest Δ among the 12 named hues over the largest Δ "
            "among the 5 greys (colours in brackets).",
        )
        return [delta, ratios]

    def markdown(self) -> str:
        out = self.directory
        parts = [f"# {escape(self.name)}: {len(self.rows)} seeds\n"]
        if self.best is not None:
            best = self.rows[self.best]
            parts.append(
                f"**Best seed: {self.link(self.best, out)}**, score {number(best.get('score'))}"
                + (f" ({escape(self.score_label)})" if self.score_label else "")
                + ". Evaluated in full: "
                + (", ".join(self.link(n, out) for n in self.evaluated()) or "none")
                + ".\n"
            )
            if self.choice is not None:
                parts.append(f"Chosen by `redux.best: {escape(self.choice.rule)}`: {escape(self.choice.text)}.\n")
        parts.append(self.stats_table().markdown("##"))
        if self.minimise or self.maximise:
            parts.append(self.front_table(out).markdown("##"))
        box = out / FIGURES / f"{BOX_PLOTS}.png"
        if box.is_file():
            alt = runs.alt_text(box, "box plots")
            parts.append("## Across the seeds\n\n" + image(alt, f"{FIGURES}/{BOX_PLOTS}.png") + "\n")
        records = {name: result.selectivity for name, result in self.seeds.items()}
        spread = redux_selectivity.spread_table(self.rows, records, self.best)
        if spread is not None:
            parts.append(spread.markdown("##"))
        parts += [table.markdown("##") for table in self.best_tables()]
        parts.append(self.seeds_table(out).markdown("##"))
        if self.failed:
            parts.append(f"Failed seeds (see their error.json): {', '.join(self.failed)}\n")
        return "\n".join(parts)


def summarise(directory: Path, settings: ReduxSettings = ReduxSettings()) -> ReduxSummary:
    """The summary of the seeds under `directory`, from their files."""
    directory = Path(directory)
    found = seed_runs(directory)
    if not found:
        raise UserError(f"{directory}: no finished seed-<k>/ runs to summarise")
    across = summary_of([load_run(p) for p in found], [p.name for p in found], directory, seed_columns)
    columns = across.columns
    rows = across.rows(seed_columns)
    maximise = settings.maximise if settings.maximise is not None else tuple(c for c in columns if c == "score")
    minimise = settings.minimise if settings.minimise is not None else tuple(c for c in columns if c.startswith("val/"))
    for key, chosen in (("minimise", minimise), ("maximise", maximise)):
        for column in chosen:
            if column not in columns:
                raise UserError(f"redux.{key}: no seed has a column {column!r}; columns: {', '.join(columns)}")
    front = pareto_front(rows, minimise, maximise) if (minimise or maximise) else []
    first = across.runs[0]
    score_label = first.score_label
    choice = redux_choice.choose(settings.best, rows, front, minimise, maximise, score_label)
    if choice.seed is not None:
        across.best_index = across.labels.index(choice.seed)
        across.best_metric = choice.rule if choice.rule in columns else None
    failed = sorted(p.name for p in directory.glob("seed-*") if (p / "error.json").is_file())
    return ReduxSummary(
        across, first.name, rows, minimise, maximise, front, choice.seed, score_label, failed, choice
    )  # fmt: skip


def score_scale(summary: ReduxSummary) -> str:
    """The scale of the seeds' score, as their domain registers it (colour's R²: `unit`)."""
    seeds = summary.across.runs
    return registered(seeds[0].config.get("data"))[1].score_scale if seeds else "log"


def draw_figures(summary: ReduxSummary, theme: str = "light") -> list[Path]:
    """Box plots of the score, each intervention's delta and error ratios and the validation values across
    the seeds, into `figures/`."""
    from ex_color.plots.io import save_figure
    from ex_color.plots.seeds import plot_seed_boxes

    shown = [c for c in summary.columns if c == "score"] + redux_selectivity.box_columns(summary.columns)
    shown += [c for c in summary.columns if c == "recon" or c.startswith("val/")]
    if not shown:
        return []
    values = {c: {name: row[c] for name, row in summary.rows.items() if c in row} for c in shown}
    scales = {c: score_scale(summary) if c == "score" else "log" for c in shown}
    figure, alt = plot_seed_boxes(
        values, best=summary.best, scales=scales, title=f"{summary.name}: {len(summary.rows)} seeds", theme=theme
    )
    return [save_figure(figure, summary.directory / FIGURES / BOX_PLOTS, alt)]


def write_summary(summary: ReduxSummary) -> list[Path]:
    """summary.json and summary.md (after the figures, which it shows)."""
    written = draw_figures(summary)
    written.append(
        runs.atomic_write_text(summary.directory / SUMMARY_JSON, json.dumps(summary.as_json(), indent=2) + "\n")
    )
    written.append(runs.atomic_write_text(summary.directory / SUMMARY_MD, summary.markdown()))
    return written
