"""Figures of a sweep: what `excolor report SWEEP` draws into `SWEEP/figures/` when SWEEP is one folder
holding at least two runs (a Hydra multirun directory, a `--seeds` folder, any folder of runs).

Each figure is one writer in `SWEEP_FIGURES`, a function `(summary, out_dir) -> list[Path]` that draws
from the summary's runs (their files, through `results.RunResult`) into `out_dir` and returns the PNGs it
wrote, or `[]` when it does not apply to these runs (e.g. a contact sheet of runs without latent
snapshots). To add a figure, append a writer; `write_sweep_figures` calls them in order."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ex_color.history import HISTORY, History
from ex_color.reports.summary import Summary

FIGURES = Path("figures")
BOX_PLOTS = "final-metrics"  # not redux's box-plots.png, which a --seeds folder already holds

# Folder-wide columns that are not a result worth a panel: label counts.
SKIPPED_PREFIXES = ("labels/",)
# Unit-interval metrics, drawn from 0 to 1.
UNIT_SUFFIXES = ("/r2",)
# Label every point by its job up to this many runs (beyond, only the best run is named).
LABEL_ALL_UP_TO = 8

SweepFigureWriter = Callable[[Summary, Path], list[Path]]


def box_plot_scale(metric: str, values: list[float]) -> str:
    """`unit` for the score and R², `log` for a metric whose values are all positive (losses, errors, ratios),
    else `linear`."""
    if metric == "score" or metric.endswith(UNIT_SUFFIXES):
        return "unit"
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return "log" if finite and min(finite) > 0 else "linear"


def box_plots(summary: Summary, out_dir: Path) -> list[Path]:
    """`final-metrics.png`: a horizontal box plot per final metric across the runs (summary.columns: final
    losses, score, last validation values, then each intervention's), every run a dot named by its job,
    the best run (if any) ringed."""
    from ex_color.plots.io import save_figure
    from ex_color.plots.seeds import plot_seed_boxes

    metrics = [run.metrics() for run in summary.runs]
    values: dict[str, dict[str, float]] = {}
    for column in summary.columns:
        if column.startswith(SKIPPED_PREFIXES) or summary.stats[column].n == 0:
            continue
        values[column] = {label: m[column] for label, m in zip(summary.labels, metrics) if column in m}
    if not values:
        return []
    scales = {c: box_plot_scale(c, list(v.values())) for c, v in values.items()}
    names = sorted({run.name for run in summary.runs})
    n = len(summary.runs)
    title = f"{', '.join(names) if len(names) <= 3 else f'{len(names)} experiments'}: final metrics of {n} runs"
    figure, alt = plot_seed_boxes(
        values,
        best=summary.labels[summary.best_index] if summary.best_index is not None else None,
        scales=scales,
        title=title,
        unit="run",
        columns=1 if len(values) <= 6 else 2 if len(values) <= 16 else 3,
        label_points=n <= LABEL_ALL_UP_TO,
    )
    return [save_figure(figure, out_dir / f"{BOX_PLOTS}.png", alt)]


CONTACT_SHEET = "contact-sheet"


def job_title(run) -> str:
    """What a job changed, for its panel: the regularizers it kept (`keep_regularizers`, without `reg-`),
    else its own overrides."""
    keep = run.config.get("keep_regularizers")
    if keep:
        every = list(run.config.get("regularizers") or {})
        absent = [name for name in every if name not in keep]
        short = lambda names: ", ".join(str(name).removeprefix("reg-") for name in names)  # noqa: E731
        if not absent:
            return f"all {len(every)}"
        return f"all but {short(absent)}" if len(absent) < len(keep) else short(keep)
    return " ".join(run.overrides) or run.path.name


def contact_sheet(summary: Summary, out_dir: Path) -> list[Path]:
    """`contact-sheet.png`: each job's final latents (its history.npz's last snapshot) as one small slice,
    titled with what the job changed. Only when every run recorded a latent history of the same colours."""
    from ex_color.plots.contact_sheet import plot_contact_sheet
    from ex_color.plots.io import save_figure

    if len(summary.runs) < 2 or not all((run.path / HISTORY).is_file() for run in summary.runs):
        return []
    histories = [History.read(run.path / HISTORY) for run in summary.runs]
    colours = histories[0].colours
    if any(h.colours.shape != colours.shape or not np.array_equal(h.colours, colours) for h in histories):
        return []
    panels = [
        (f"{label}: {job_title(run)}", h.latents[-1]) for label, run, h in zip(summary.labels, summary.runs, histories)
    ]
    names = sorted({run.name for run in summary.runs})
    figure, alt = plot_contact_sheet(
        panels, colours, title=f"{', '.join(names)}: the final latents of {len(panels)} jobs (dims 1, 0)"
    )
    return [save_figure(figure, out_dir / f"{CONTACT_SHEET}.png", alt)]


# The sweep's figures, drawn in this order.
SWEEP_FIGURES: list[SweepFigureWriter] = [box_plots, contact_sheet]


def write_sweep_figures(summary: Summary, out_dir: Path) -> list[Path]:
    """Every writer of SWEEP_FIGURES into `out_dir` (created when one writes); the PNGs written."""
    written: list[Path] = []
    for writer in SWEEP_FIGURES:
        written += writer(summary, Path(out_dir))
    return written
