"""The one across-runs summary: runs (each a `RunResult`), their labels, the metric columns and each column's
statistics over the runs, and the best run. `excolor report` builds it from the runs under some paths
(`tasks.report.summarise`); a redux builds it from its seeds (`reports.redux.ReduxSummary`, which adds the
Pareto front and the rule that chose the best seed). Its tables and Markdown are `excolor report`'s."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ex_color import runs
from ex_color.domains import column_notes, selectivity_fields
from ex_color.reports.redux_choice import direction, higher_is_better
from ex_color.reports.render import TextTable, escape, image, number
from ex_color.reports.results import FINAL_SHARE, RunResult, Stat
from ex_color.reports.run_report import REPORT


@dataclass
class Summary:
    """Across-runs results. `rows()` gives each run's columns by label."""

    runs: list[RunResult]
    labels: list[str]
    root: Path
    columns: list[str]
    stats: dict[str, Stat]
    best_metric: str | None = None
    best_index: int | None = None
    failed: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed after the tables (e.g. why no figures were drawn)
    figures: list[Path] = field(default_factory=list)  # the sweep figures written (shown in the Markdown)

    @property
    def best_run(self) -> RunResult | None:
        return self.runs[self.best_index] if self.best_index is not None else None

    def rows(
        self, columns_of: Callable[[RunResult], dict[str, float]] = RunResult.metrics
    ) -> dict[str, dict[str, float]]:
        return {label: columns_of(run) for label, run in zip(self.labels, self.runs)}

    def varying_overrides(self) -> tuple[list[str], list[list[str]]]:
        """(overrides common to every run, each run's other overrides)."""
        common = set(self.runs[0].overrides)
        for run in self.runs[1:]:
            common &= set(run.overrides)
        common_list = [o for o in self.runs[0].overrides if o in common] if len(self.runs) > 1 else []
        return common_list, [[o for o in run.overrides if o not in common_list] for run in self.runs]

    def key_columns(self, full: bool = False) -> list[str]:
        """The per-run table's metric columns: all of them, or (terminal) the final loss and
        reconstruction loss, each intervention's selectivity field (`ex_color.domains.Columns.selectivity`) and the
        metric that picks the best run."""
        if full:
            return list(self.columns)
        ratios = tuple(f"/{field}" for field in selectivity_fields())
        keep = [c for c in self.columns if c in ("loss", "recon") or c.endswith(ratios)]
        if self.best_metric and self.best_metric not in keep:
            keep.append(self.best_metric)
        return keep

    def best_line(self) -> str:
        if self.best_run is None:
            return ""
        metric = self.best_metric
        direction = "higher" if higher_is_better(metric) else "lower"
        value = self.best_run.metrics()[metric]
        return (
            f"Best run by {metric} ({direction} is better): {self.labels[self.best_index]} "
            f"= {number(value)} ({self.best_run.path})"
        )

    def lines(self) -> list[str]:
        """What follows the tables: the best run, and the failed sweep jobs left out."""
        lines = [self.best_line()] if self.best_run is not None else []
        if self.failed:
            lines.append(
                f"Left out {len(self.failed)} failed sweep job(s) (see error.json): "
                + ", ".join(str(p) for p in self.failed)
            )
        return lines + self.notes

    def tables(self, link_from: Path | None = None, full: bool = False) -> list[TextTable]:
        """The across-runs table and the per-run table (`full`: every metric column); with `link_from`
        (a folder), run names link to each run's report.md relative to it."""
        n = len(self.runs)
        across = TextTable(
            f"Across {n} run{'s' if n != 1 else ''} under {self.root}",
            ["metric", "better", "mean ± std", "min", "max", "runs"],
            [
                [
                    f"`{c}`",
                    direction(c),
                    s.mean_text(),
                    number(s.min),
                    number(s.max),
                    str(s.n),
                ]
                for c, s in self.stats.items()
            ],
            align=["l", "l", "r", "r", "r", "r"],
            note=(
                f"Losses: mean of the last {FINAL_SHARE:.0%} of each run's steps"
                + "".join(f"; {note}" for note in column_notes(self.columns))
                + ("; ± sample standard deviation over runs." if n > 1 else ".")
            ),
        )
        common, own = self.varying_overrides()
        columns = self.key_columns(full)
        rows = []
        for index, run in enumerate(self.runs):
            label = escape(self.labels[index])
            report = run.path / REPORT
            if link_from is not None and report.is_file():
                label = f"[{label}]({Path(os.path.relpath(report, link_from)).as_posix()})"
            if index == self.best_index:
                label += " ★"
            metrics = run.metrics()
            rows.append([label, escape(" ".join(own[index])) or "–", *(number(metrics.get(c)) for c in columns)])
        note = f"Overrides of every run: {' '.join(common)}. " if common else ""
        if self.best_index is not None:
            note += f"★ best by {self.best_metric}."
        per_run = TextTable(
            "Per run",
            ["run", "overrides", *[f"`{c}`" for c in columns]],
            rows,
            align=["l", "l", *["r"] * len(columns)],
            note=note.strip(),
        )
        return [across, per_run]

    def markdown(self, link_from: Path) -> str:
        across, per_run = self.tables(link_from, full=True)
        parts = [
            f"# Summary of {len(self.runs)} run{'s' if len(self.runs) != 1 else ''}\n",
            across.markdown("##"),
            per_run.markdown("##"),
        ]
        if self.best_run is not None:
            parts.append(f"**{escape(self.best_line())}**\n")
        parts += [f"{escape(line)}\n" for line in self.lines()[1 if self.best_run is not None else 0 :]]
        if self.figures:
            parts.append("## Figures\n")
            for png in self.figures:
                alt = runs.alt_text(png, png.stem)
                parts.append(f"{image(alt, Path(os.path.relpath(png.resolve(), link_from.resolve())).as_posix())}\n")
        return "\n".join(parts)


def summary_of(
    results: list[RunResult],
    labels: list[str],
    root: Path,
    columns_of: Callable[[RunResult], dict[str, float]] = RunResult.metrics,
    order: Callable[[list[str]], list[str]] = list,
) -> Summary:
    """The summary of `results` (named by `labels`, under `root`): each run's columns (`columns_of`), the
    columns of every run in first-seen order (re-ordered by `order`), and each column's statistics."""
    seen: dict[str, None] = {}
    for result in results:
        seen.update(dict.fromkeys(columns_of(result)))
    columns = order(list(seen))
    values = [columns_of(result) for result in results]
    stats = {c: Stat.of([row.get(c, math.nan) for row in values]) for c in columns}
    return Summary(list(results), list(labels), root, columns, stats)
