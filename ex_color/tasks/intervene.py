"""`intervene(cfg, run_dir)`: evaluate a trained run with and without an intervention, measure what changed
on-target and off-target, and draw the intervention's figures from the same predictions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ex_color import runs
from ex_color.builders import build_intervention
from ex_color.config import compose_intervention
from ex_color.evaluation.measure import InterventionResult, RunEvaluation
from ex_color.figures.registry import INTERVENTION_FIGURES, RUN_FIGURES, applicable
from ex_color.figures.writer import FigureWriter

log = logging.getLogger(__name__)


def measure_and_save(evaluation: RunEvaluation, cfg: DictConfig) -> InterventionResult:
    """Measure the intervention `cfg` describes on an evaluated run; write metrics.json, predictions.npz
    and intervention.yaml to RUN/interventions/<kind>/."""
    intervention = build_intervention(cfg.intervention, cfg.get("concepts") or {}, evaluation.model)
    result = evaluation.measure(intervention, cfg.get("target_hue"))
    result.save(evaluation.run_dir / "interventions" / result.kind, OmegaConf.to_yaml(cfg, resolve=True))
    return result


def draw(result: InterventionResult, run_dir: Path, theme: str = "light", error_top: float | None = None) -> list[Path]:
    """The figures of a measured intervention; `none` has the run's figures. `error_top`: the stacked
    figure's y limit shared with the run's other conditions (default: `figures.stacked_top` of this one, its
    baseline and the interventions saved in the run)."""
    writer = FigureWriter(run_dir, theme, error_top=error_top)
    if result.kind == "none":
        return writer.draw(applicable(RUN_FIGURES, result), result)
    return writer.draw(applicable(INTERVENTION_FIGURES, result), result)


def intervene(
    kind: str, run_dir: str | Path | None = None, overrides: Sequence[str] = ()
) -> tuple[Path, InterventionResult]:
    """Evaluate `run_dir` (default outputs/latest) under intervention `kind`, with the run's own settings
    for it and then `overrides` (Hydra overrides of the `intervene` config); write results beside the run.
    A run of another domain than colour (ex_color.domains) returns its own metrics in place of the result."""
    from ex_color.domains import domain_of_run

    run_dir = runs.resolve_run(run_dir)
    runs.check_writable(run_dir / "interventions" / kind, "the run's interventions folder")
    domain = domain_of_run(run_dir)
    if domain is not None:  # another domain than colour measures, saves and draws it itself
        out_dir, metrics = domain.intervene(
            run_dir, compose_intervention(kind, list(overrides), runs.load_config(run_dir))
        )
        log.info("intervention %s on %s: results in %s", kind, run_dir, out_dir)
        return out_dir, metrics
    evaluation = RunEvaluation(run_dir)
    result = measure_and_save(evaluation, compose_intervention(kind, list(overrides), evaluation.config))
    draw(result, run_dir)
    out_dir = run_dir / "interventions" / result.kind
    log.info("intervention %s on %s: results in %s", result.kind, run_dir, out_dir)
    return out_dir, result
