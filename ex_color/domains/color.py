"""The colour domain's evaluation part (`data=hsv`, `data=rgb`; its data part: ex_color.data.color): the probe
of HD cube, named colours and grids (evaluation.measure), the R² score against HSV similarity
(evaluation.score), each redux seed's selectivity on the named colours (evaluation.seed_selectivity), the
colour figures (figures.writer), report.md (reports.run_report) and the colours `excolor infer` reads.

One `ColorDomain` serves one command: it loads each run's checkpoint once, however many of scoring,
selectivity and evaluation use it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ex_color import runs
from ex_color.figures.registry import INTERVENTION_FIGURES, RUN_FIGURES, applicable
from ex_color.figures.writer import FigureWriter, stacked_top
from ex_color.training import tracking

log = logging.getLogger(__name__)


class ColorDomain:
    name = "color"
    input_width = 3

    def __init__(self) -> None:
        self.models: dict[Path, Any] = {}

    def model(self, run_dir: Path):
        """The run's model, loaded from its checkpoint on first use."""
        run_dir = Path(run_dir)
        if run_dir not in self.models:
            self.models[run_dir] = runs.load_model(run_dir)
        return self.models[run_dir]

    # -- the score and the redux's per-seed selectivity ---------------------------------------------------

    def score_plan(self, cfg) -> Any:
        """(ScoreSettings, the plan's intervention configs), checked; None when the experiment has no score."""
        from ex_color.evaluation.score import ScoreSettings, checked_plan

        return checked_plan(ScoreSettings.from_config(cfg.get("score")), cfg)

    def score_runs(self, run_dirs: Sequence[Path], plan: Any) -> None:
        """Each run's score.json: one forward pass of the 8³ grid per model, one correlation pass for all."""
        from ex_color.evaluation.score import score_runs

        settings, configs = plan
        log.info("scoring %d run%s: %s", len(run_dirs), "s" if len(run_dirs) != 1 else "", settings.label())
        score_runs(list(run_dirs), settings, configs, [self.model(d) for d in run_dirs])

    def measure_seeds(self, cfg, run_dirs: Sequence[Path], configs: Mapping[str, Any]) -> None:
        """Every redux seed's selectivity.json: each intervention but none, on the named colours and a small
        cube (one small pass each)."""
        from ex_color.evaluation.seed_selectivity import measure_runs
        from ex_color.evaluation.settings import EvalSettings

        kinds = [kind for kind in configs if kind != "none"]
        if kinds:
            count = f"{len(run_dirs)} seed{'s' if len(run_dirs) != 1 else ''}"
            log.info("selectivity of %s: %s", count, ", ".join(kinds))
            hd = EvalSettings.from_config(cfg.get("eval")).hd
            measure_runs(list(run_dirs), configs, hd, [self.model(d) for d in run_dirs])

    def seed_columns(self, cfg) -> list[str]:
        """`selectivity.<kind>.<field>` of each intervention but none (selectivity.json)."""
        from ex_color.evaluation.seed_selectivity import FIELDS, column

        kinds = [str(kind) for kind in (cfg.get("interventions") or []) if str(kind) != "none"]
        return [column(kind, field) for kind in kinds for field in FIELDS]

    # -- evaluation ------------------------------------------------------------------------------------

    def evaluate_run(self, run_dir: Path, configs: Mapping[str, Any], log_results: bool = False) -> Path:
        """Figures, each intervention's evaluation and report.md of a trained run; with `log_results`, the
        results also go to the tracker in progress. Returns the report's path.

        The baseline is predicted once and shared; each intervention is predicted once, and its metrics and
        figures come from those predictions. Every intervention is measured before any figure is drawn, so
        the stacked figures' error panels share one y limit across the baseline and the interventions."""
        from ex_color.evaluation.measure import RunEvaluation
        from ex_color.interventions.kinds import NoIntervention
        from ex_color.reports.results import load_run
        from ex_color.reports.run_report import write_run_report

        run_dir = Path(run_dir)
        evaluation = RunEvaluation(run_dir, self.model(run_dir))
        baseline = evaluation.measure(NoIntervention())
        results = {}
        for kind, icfg in configs.items():
            result = results[kind] = measure_and_save(evaluation, icfg)
            metrics = result.metrics
            log.info(
                "%s: per-colour MSE max %.4g mean %.4g, on/off-target error ratio %.3g",
                kind,
                metrics.intervened.max,
                metrics.intervened.mean,
                metrics.selectivity.error_ratio,
            )
        top = stacked_top([baseline, *results.values()], run_dir, measured=results)
        log.info("drawing the figures of %s", run_dir)
        FigureWriter(run_dir, error_top=top).draw(applicable(RUN_FIGURES, baseline), baseline)
        for kind, result in results.items():
            if kind != "none":  # `none` has the run's figures, drawn above
                draw(result, run_dir, error_top=top)
        run_result = load_run(run_dir)
        if log_results:
            log_to_tracker(run_dir, run_result)
        return write_run_report(run_dir, run_result)

    def write_report(self, run_dir: Path) -> list[Path]:
        """report.md and its paper tables, from the run's files; report.md last."""
        from ex_color.reports.run_report import write_run_report_files

        return write_run_report_files(Path(run_dir))

    def run_columns(self, run_dir: Path) -> dict[str, float]:
        """None beyond metrics.json's, which reports.results reads into typed InterventionMetrics."""
        return {}

    def intervene(self, run_dir: Path, icfg) -> tuple[Path, Any]:
        """`excolor intervene`: one intervention measured, saved and drawn; (its folder, InterventionResult)."""
        from ex_color.evaluation.measure import RunEvaluation

        run_dir = Path(run_dir)
        result = measure_and_save(RunEvaluation(run_dir, self.model(run_dir)), icfg)
        draw(result, run_dir)
        return run_dir / "interventions" / result.kind, result

    # -- inference -------------------------------------------------------------------------------------

    def inputs(self, values: Sequence[str], path: Path | None) -> tuple[Any, list[str]]:
        """The colours to run: from the command line, a file, or (neither) the 17 named colours."""
        from ex_color.data.inputs import gather_inputs

        return gather_inputs(values, path)


def measure_and_save(evaluation, icfg):
    """Measure the intervention `icfg` describes on an evaluated run (`evaluation`: its RunEvaluation); write
    metrics.json, predictions.npz and intervention.yaml to RUN/interventions/<kind>/."""
    from ex_color.builders import build_intervention

    intervention = build_intervention(icfg.intervention, icfg.get("concepts") or {}, evaluation.model)
    result = evaluation.measure(intervention, icfg.get("target_hue"))
    result.save(evaluation.run_dir / "interventions" / result.kind, OmegaConf.to_yaml(icfg, resolve=True))
    return result


def draw(result, run_dir: Path, theme: str = "light", error_top: float | None = None) -> list[Path]:
    """The figures of a measured intervention; `none` has the run's figures. `error_top`: the stacked
    figure's y limit shared with the run's other conditions (default: `figures.stacked_top` of this one, its
    baseline and the interventions saved in the run)."""
    writer = FigureWriter(run_dir, theme, error_top=error_top)
    if result.kind == "none":
        return writer.draw(applicable(RUN_FIGURES, result), result)
    return writer.draw(applicable(INTERVENTION_FIGURES, result), result)


def log_to_tracker(run_dir: Path, result) -> bool:
    """Figures, intervention metrics and named-colour tables (`result`: the run's RunResult) into the wandb run
    in progress, if any."""
    if tracking.active_run() is None:
        return False
    from ex_color.reports.tracker_logging import run_payload

    return tracking.log_results(*run_payload(run_dir, result))
