"""`excolor report`. `summarise(paths, best)`: final losses and intervention metrics across runs (one run, several, or a
sweep directory searched recursively): mean ± standard deviation, min, max, per run, and the best run."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from ex_color import runs
from ex_color.domains import domain_of_run, report_fields, selectivity_fields
from ex_color.errors import UserError
from ex_color.reports.redux_choice import higher_is_better
from ex_color.reports.results import is_failed_job, is_run_dir, kind_order, load_run
from ex_color.reports.summary import Summary, summary_of
from ex_color.reports.sweep_figures import FIGURES, write_sweep_figures


def run_report_files(run_dir: Path) -> list[Path]:
    """report.md (and its tables) of one run, written by its domain."""
    return domain_of_run(run_dir).write_report(run_dir)


# Folders inside a run that never hold another run: not searched.
NOT_RUNS = {".hydra", "checkpoints", "interventions", "figures", "wandb", ".submitit"}


def natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def find_runs(paths) -> tuple[list[Path], list[Path]]:
    """(run directories, failed sweep jobs) named by `paths`, each a run or searched recursively; finding
    no run is an error."""
    if not paths:
        if not runs.LATEST.exists():
            raise UserError("no path given and outputs/latest does not exist: name a run or sweep directory")
        paths = [runs.LATEST]
    found: dict[Path, None] = {}
    failed: dict[Path, None] = {}
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise UserError(f"{given}: no such directory")
        if not path.is_dir():
            raise UserError(f"{given}: not a directory")
        here = []
        if is_run_dir(path):
            here.append(path.resolve())
        else:
            for root, dirs, _ in os.walk(path):
                if is_run_dir(Path(root)):
                    here.append(Path(root).resolve())
                    dirs[:] = []
                else:
                    if is_failed_job(Path(root)):
                        # still searched: a failed `--seeds` job holds the seeds that finished
                        failed[Path(root).resolve()] = None
                    dirs[:] = [d for d in dirs if d not in NOT_RUNS]
        if not here:
            also = f"; {len(failed)} failed sweep job(s) with error.json" if failed else ""
            raise UserError(f"{given}: no runs found (a run directory holds {runs.CONFIG} and {runs.CHECKPOINT}){also}")
        found.update(dict.fromkeys(sorted(here, key=natural_key)))
    return list(found), sorted(failed, key=natural_key)


def resolve_best(best: str | None, columns: list[str]) -> str | None:
    """The metric column `--best` names; `selectivity`: the repulsion's (else suppression's, else another
    intervention's) selectivity field (its domain's `Columns.selectivity`: colour's error ratio, the digits'
    ratio_median). Default: the experiment's score when the runs have one, else selectivity when interventions
    were evaluated, else `loss`."""
    ratios = [c for c in columns if c.endswith(tuple(f"/{field}" for field in selectivity_fields()))]
    if best is None:
        if "score" in columns:
            return "score"
        if ratios:
            best = "selectivity"
        elif "loss" in columns:
            return "loss"
        else:
            return None
    name = best.removeprefix("train/")
    if name == "selectivity":
        for choice in (
            *(c for c in ratios if c.startswith("repulsion/")),
            *(c for c in ratios if c.startswith("suppression/")),
            *ratios,
        ):
            if choice in columns:
                return choice
        raise UserError("--best selectivity: no run has an intervention evaluated (excolor run, or excolor intervene)")
    if name == "score" and name not in columns:
        raise UserError("--best score: no run is scored (score.json: excolor run with an experiment's score)")
    if name not in columns:
        raise UserError(f"--best {best}: unknown metric; metrics: {', '.join(columns)}, selectivity")
    return name


# A run's own columns that carry a `/`: score.json's (`score/…`) and metrics.csv's last values (`val/…`,
# `labels/n/…`); any other `KIND/field` is an intervention's.
RUN_NAMESPACES = ("score", "val", "labels")


def metric_order(columns: list[str]) -> list[str]:
    """The run's own columns (losses, score, `score/…`, last `val/…` and `labels/…` values), then each
    intervention's, kinds in the usual order and fields in the domains' (`ex_color.domains.Columns.fields`)."""
    own = [c for c in columns if "/" not in c or c.split("/")[0] in RUN_NAMESPACES]
    kinds = kind_order({c.split("/")[0] for c in columns if c not in own})
    return own + [f"{k}/{m}" for k in kinds for m in report_fields() if f"{k}/{m}" in columns]


def summarise(paths, best: str | None = None) -> Summary:
    """Read every run under `paths` and summarise its final losses and intervention metrics."""
    found, failed = find_runs(paths)
    root = Path(os.path.commonpath(found)) if len(found) > 1 else found[0]
    labels = [Path(os.path.relpath(p, root)).as_posix() if len(found) > 1 else p.name for p in found]
    summary = summary_of([load_run(p) for p in found], labels, root, order=metric_order)
    summary.failed = failed
    results = summary.runs
    metric = resolve_best(best, summary.columns)
    if metric is not None:
        values = [r.metrics().get(metric, math.nan) for r in results]
        finite = [(v, i) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
        if not finite:
            raise UserError(f"--best {best or metric}: no run has a value for {metric}")
        summary.best_metric = metric
        summary.best_index = (max if higher_is_better(metric) else min)(finite)[1]
    return summary


def write_summary(summary: Summary, output: str | Path) -> Path:
    output = Path(output)
    if output.is_dir():
        raise UserError(f"--output {output}: is a directory; name a file, e.g. {output / 'summary.md'}")
    return runs.atomic_write_text(output, summary.markdown(output.resolve().parent))


def sweep_folder(paths) -> Path | None:
    """The folder whose `figures/` gets the sweep figures: the one path named (default outputs/latest, taken
    to the folder it points at) when it is a folder of runs rather than a run itself; None for several
    paths (runs from several places have no one folder of their own)."""
    paths = list(paths) or [runs.LATEST]
    if len(paths) != 1:
        return None
    path = Path(paths[0]).expanduser()
    path = path.resolve() if path.is_symlink() else path
    return None if is_run_dir(path) else path


def write_figures(summary: Summary, paths) -> list[Path]:
    """The sweep figures (`sweep_figures.SWEEP_FIGURES`) into FOLDER/figures/ when `paths` name one folder
    holding at least two runs; a folder that cannot be written gets a note instead of the figures."""
    folder = sweep_folder(paths)
    if folder is None or len(summary.runs) < 2:
        return []
    try:
        runs.check_writable(folder / FIGURES, "sweep figures")
    except UserError as error:
        summary.notes.append(f"No sweep figures: {error}")
        return []
    summary.figures = write_sweep_figures(summary, folder / FIGURES)
    return summary.figures


def report(paths, best: str | None = None, output: str | Path | None = None, run_reports: bool = False):
    """`excolor report`: the summary of the runs under `paths`, written as Markdown to `output` if given,
    each run's report.md (re)written with `run_reports`, and, when `paths` name one folder of two or more
    runs, the sweep figures in its figures/ (`write_figures`). Returns (summary, files written)."""
    if output is not None:
        runs.check_writable(Path(output), "--output", file=True)
    summary = summarise(paths, best)
    written = [path for r in summary.runs for path in run_report_files(r.path)] if run_reports else []
    written += write_figures(summary, paths)
    if output is not None:
        written.append(write_summary(summary, output))
    return summary, written
