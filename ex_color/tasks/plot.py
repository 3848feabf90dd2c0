"""`plot(...)`: draw a run's figures: those of its files (schedule, training) and those of its model,
baseline or under one intervention (predicted once for all the figures asked for)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ex_color import runs
from ex_color.builders import build_intervention
from ex_color.config import compose_intervention
from ex_color.domains import registered
from ex_color.errors import UserError
from ex_color.evaluation.measure import RunEvaluation
from ex_color.evaluation.predict import predict
from ex_color.figures.explorer import Condition, explorer_html, widened
from ex_color.figures.history import HISTORY_FIGURES, draw_evolution, draw_history
from ex_color.figures.registry import FIGURES, INTERVENTION_FIGURES, RUN_FIGURES, applicable, figure_dir
from ex_color.figures.views import fitted_views
from ex_color.figures.writer import FigureWriter, plot_dopesheet
from ex_color.interventions.kinds import KINDS, NoIntervention


def intervention_config(run_dir: Path, kind: str):
    """The config `excolor intervene` used for this kind on this run, else the run's settings for it."""
    saved = runs.saved_intervention(run_dir / "interventions" / kind)
    return compose_intervention(kind, (), runs.load_config(run_dir)) if saved is None else saved


@dataclass(frozen=True)
class HistoryOptions:
    """The options of the latent-history figures (`plot history`, `plot evolution`)."""

    views: str | None = None  # "1,0;1,2;1,3"
    thumbnails: int = 10
    fps: float = 12.0
    frames_per_snapshot: int = 1
    dpi: int = 80


def colour_only(run_dir: Path) -> None:
    """`excolor plot` draws the figures of the domains registered with `plots` (colour); a run of another
    domain (ex_color.domains) is refused."""
    name, entry = registered(runs.load_config(run_dir).get("data"))
    if not entry.plots:
        raise UserError(
            f"{run_dir}: excolor plot draws colour figures; a {name} run's figures are drawn by "
            "excolor run and excolor intervene (figures/, interventions/<kind>/figures/)"
        )


def plot(
    what: str,
    run_dir: str | Path | None = None,
    kind: str | None = None,
    theme: str = "light",
    dopesheet: Path | None = None,
    out_dir: Path | None = None,
    history: HistoryOptions | None = None,
) -> list[Path]:
    """Draw figure `what` ('all' for every figure that applies); returns the PNG paths (for `evolution`: the
    GIF, and the MP4 where ffmpeg exists; the explorer: its page)."""
    if what == "explorer":
        return [explorer(run_dir, kind, out_dir, theme)]
    if what not in (*FIGURES, "all"):
        raise UserError(f"unknown figure {what!r}; figures: {', '.join(FIGURES)}, all, explorer")
    if out_dir is not None:
        runs.check_writable(Path(out_dir), "--out")
    if what in HISTORY_FIGURES:
        return plot_history(what, run_dir, kind, theme, out_dir, history or HistoryOptions())
    if what == "schedule" and dopesheet is not None:
        return [plot_dopesheet(dopesheet, out_dir or Path("figures"), theme)]
    if what in FIGURES and FIGURES[what].scope == "static":
        # needs no run: into --out, else the run's folder (the intervention's with --kind), else ./figures
        if out_dir is not None:
            directory = Path(out_dir)
        elif run_dir is not None:
            directory = figure_dir(runs.resolve_run(run_dir), None if kind == "none" else kind)
            runs.check_writable(directory, "the run's figures")
        else:
            directory = Path("figures")
            runs.check_writable(directory, "./figures")
        return FigureWriter(directory, theme, directory).draw([what])
    run_dir = runs.resolve_run(run_dir)
    colour_only(run_dir)
    if out_dir is None:
        runs.check_writable(run_dir / "figures", "the run's figures")
    writer = FigureWriter(run_dir, theme, Path(out_dir) if out_dir is not None else None)
    if kind == "none":
        kind = None
    if kind is not None and what in ("training", "schedule"):
        raise UserError(f"the {what} figure belongs to the run, not an intervention: drop --kind")
    names = [what] if what != "all" else RUN_FIGURES if kind is None else INTERVENTION_FIGURES
    if all(FIGURES[name].scope == "run" for name in names):
        return writer.draw(names)
    evaluation = RunEvaluation(run_dir)
    if kind is None:
        intervention = NoIntervention()
    else:
        cfg = intervention_config(run_dir, kind)
        intervention = build_intervention(cfg.intervention, cfg.get("concepts") or {}, evaluation.model)
    if FIGURES.get(what) is not None and FIGURES[what].scope == "hook" and intervention.transform() is None:
        raise UserError(f"the intervention figure needs --kind suppression or repulsion (got {kind or 'none'})")
    if FIGURES.get(what) is not None and FIGURES[what].scope == "changed" and not intervention.changes_model:
        raise UserError(
            f"the {what} figure needs --kind of an intervention that changes the model (got {kind or 'none'})"
        )
    if what == "intervention":
        from ex_color.evaluation.measure import InterventionResult

        # The response figure needs no predictions.
        return writer.draw(names, InterventionResult(intervention, None, None, None, evaluation.probe))
    result = evaluation.measure(intervention, None)
    return writer.draw(applicable(names, result, asked=what != "all"), result)


def plot_history(
    what: str, run_dir, kind: str | None, theme: str, out_dir: Path | None, options: HistoryOptions
) -> list[Path]:
    """The figures of the run's latent history: history.png, or evolution.gif (+ .mp4) with a progress bar
    on a terminal while the frames render."""
    from ex_color.plots import get_theme

    get_theme(theme)
    if kind not in (None, "none"):
        raise UserError(f"the {what} figure belongs to the run, not an intervention: drop --kind")
    run_dir = runs.resolve_run(run_dir)
    if out_dir is None:
        runs.check_writable(run_dir / "figures", "the run's figures")
    target = Path(out_dir) if out_dir is not None else run_dir / "figures"
    if what == "history":
        return [draw_history(run_dir, target, theme, options.views, options.thumbnails)]
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("rendering frames"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as progress:  # fmt: skip

        def start(total: int):
            task = progress.add_task("frames", total=total)
            return lambda k: progress.update(task, completed=k + 1)

        written, note = draw_evolution(
            run_dir, target, theme, options.views, options.fps, options.frames_per_snapshot, options.dpi, start
        )
    if note is not None and note != "ffmpeg not found":  # no ffmpeg: the GIF alone, quietly
        console.print(f"excolor: no MP4 written ({note})", highlight=False)
    return written


def evaluated_kinds(run_dir: Path) -> list[str]:
    """The interventions evaluated on a run (those with interventions/<kind>/ on disk), in the order of its
    config's `interventions`, then by name."""
    root = run_dir / "interventions"
    found = {
        path.name
        for path in (root.iterdir() if root.is_dir() else ())
        if (path / runs.INTERVENTION_SETTINGS).exists() or (path / "metrics.json").exists()
    }
    listed = [str(k) for k in (runs.load_config(run_dir).get("interventions") or ()) if str(k) in found]
    return listed + sorted(found - set(listed))


def explorer(
    run_dir: str | Path | None, kind: str | None = None, out_dir: Path | None = None, theme: str = "light"
) -> Path:
    """figures/explorer.html (explorer-dark.html with the dark theme): the latents of the RGB grid in 3-D for
    the baseline and each evaluated intervention (each predicted once, on the grid alone), opening on `kind`."""
    from ex_color.plots import get_theme

    get_theme(theme)  # an unknown theme: one line

    run_dir = runs.resolve_run(run_dir)
    colour_only(run_dir)
    kinds = [k for k in evaluated_kinds(run_dir) if k != "none"]
    kind = "none" if kind in (None, "none") else kind
    if kind != "none" and kind not in kinds:
        if kind not in KINDS:
            raise UserError(f"--kind {kind}: unknown intervention; kinds: {', '.join(sorted(KINDS))}")
        raise UserError(
            f"--kind {kind}: never evaluated on {run_dir} (evaluated: {', '.join(kinds) or 'none'}); "
            f"`excolor intervene --kind {kind} --run {run_dir}` evaluates it"
        )
    directory = Path(out_dir) if out_dir is not None else run_dir / "figures"
    runs.check_writable(directory, "--out" if out_dir is not None else "the run's figures")
    evaluation = RunEvaluation(run_dir)
    colours = evaluation.probe.rgb.flat_rgb().astype(np.float32)
    chunk = evaluation.settings.chunk_size
    base = predict(evaluation.model, colours, (), chunk)
    width = int(base.latents.shape[1])
    conditions = [Condition("none", "baseline (no intervention)", base.latents, base.outputs)]
    for name in kinds:
        cfg = intervention_config(run_dir, name)
        intervention = build_intervention(cfg.intervention, cfg.get("concepts") or {}, evaluation.model)
        model, placements = intervention.applied_to(evaluation.model)
        result = predict(model, colours, placements, chunk)
        removed: tuple[int, ...] = ()
        note = ""
        if result.latents.shape[1] < width:
            dims = sorted({int(d) % width for d in getattr(intervention, "dims", None) or ()})
            removed = tuple(dims) if len(dims) == width - result.latents.shape[1] else ()
            removed = removed or tuple(range(result.latents.shape[1], width))
            listed = ", ".join(str(d) for d in removed)
            dim = "dims" if len(removed) > 1 else "dim"
            note = f"It removed {dim} {listed}: drawn at 0, the other dims keep their trained numbers."
        conditions.append(Condition(name, name, widened(result.latents, width, removed), result.outputs, note, removed))
    views = fitted_views(evaluation.settings.latents_figure_views, width)
    if width >= 5:
        views += [v for v in fitted_views(evaluation.settings.latents_grid_views, width) if v not in views]
    # the first view showing no dim the opening condition removed
    gone = set(next(c.removed for c in conditions if c.name == kind))
    kept = [d for d in range(width) if d not in gone][:3]
    first = next((v for v in views if not gone & set(v)), tuple(kept) + (None,) * (3 - len(kept)))
    views = views if first in views else [*views, first]
    steps = evaluation.settings.rgb_steps
    page = explorer_html(
        colours,
        conditions,
        width,
        kind,
        first,
        views,
        title=f"Latent explorer: {run_dir.name}",
        subtitle=f"{run_dir} · {width}-D latent · the {steps}³ RGB grid ({len(colours):,} colours)",
        theme=theme,
    )
    path = directory / ("explorer.html" if theme == "light" else f"explorer-{theme}.html")
    runs.atomic_write_text(path, page)
    return path
