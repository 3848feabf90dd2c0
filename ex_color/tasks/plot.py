"""`plot(...)`: draw a run's figures: those of its files (schedule, training) and those of its model,
baseline or under one intervention (predicted once for all the figures asked for)."""

from __future__ import annotations

from pathlib import Path

from ex_color import runs
from ex_color.builders import build_intervention
from ex_color.config import compose_intervention
from ex_color.errors import UserError
from ex_color.evaluation.measure import RunEvaluation
from ex_color.figures import (
    FIGURES,
    INTERVENTION_FIGURES,
    RUN_FIGURES,
    FigureWriter,
    applicable,
    figure_dir,
    plot_dopesheet,
)
from ex_color.interventions.kinds import NoIntervention


def intervention_config(run_dir: Path, kind: str):
    """The config `excolor intervene` used for this kind on this run, else the run's settings for it."""
    from omegaconf import OmegaConf

    saved = run_dir / "interventions" / kind / "intervention.yaml"
    if saved.exists():
        return OmegaConf.load(saved)
    return compose_intervention(kind, (), runs.load_config(run_dir))


def plot(
    what: str,
    run_dir: str | Path | None = None,
    kind: str | None = None,
    theme: str = "light",
    dopesheet: Path | None = None,
    out_dir: Path | None = None,
) -> list[Path]:
    """Draw figure `what` ('all' for every figure that applies); returns the PNG paths."""
    if what not in (*FIGURES, "all"):
        raise UserError(f"unknown figure {what!r}; figures: {', '.join(FIGURES)}, all")
    if out_dir is not None:
        runs.check_writable(Path(out_dir), "--out")
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
