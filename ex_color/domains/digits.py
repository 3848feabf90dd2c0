"""The digits domain's evaluation part (`data=digits`; its data part: ex_color.data.digits), measured per class
on the held-out images (ex_color.evaluation.digits), drawn by ex_color.plots.digits, reported by
ex_color.domains.digits_report. docs/digits.md is the user guide."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ex_color import runs
from ex_color.data.inputs import check_range
from ex_color.domains import digits_report
from ex_color.errors import UserError
from ex_color.evaluation.digits import (
    METRICS_FILE,
    DigitsMetrics,
    DigitsScore,
    measure,
    per_class,
    per_image_error,
    score_records,
)
from ex_color.evaluation.score import SCORE_FILE, checked_plan, planned_model
from ex_color.figures.writer import FigureWriter
from ex_color.training import tracking

log = logging.getLogger(__name__)

PREDICTIONS = "predictions.npz"


def concept_digit(cfg) -> int:
    """The digit the experiment singles out (`data.concept`, default 3)."""
    return int(((cfg.get("data") or {}).get("concept", 3)))


class DigitsDomain:
    name = "digits"
    input_width = 64

    # -- the score -------------------------------------------------------------------------------------

    def score_plan(self, cfg) -> Any:
        """(DigitsScore, the plan's intervention configs), checked; None when the experiment has no score."""
        return checked_plan(DigitsScore.from_config(cfg.get("score"), concept_digit(cfg)), cfg)

    def score_runs(self, run_dirs: Sequence[Path], plan: Any) -> None:

        from ex_color.evaluation.predict import predict

        settings, configs = plan
        log.info("scoring %d run%s: %s", len(run_dirs), "s" if len(run_dirs) != 1 else "", settings.label())
        inputs, digits = self.evaluation_set(run_dirs[0])
        deltas = []
        for run_dir in run_dirs:
            model = runs.load_model(run_dir)
            before = per_class(per_image_error(predict(model, inputs).outputs, inputs), digits)
            planned, placements = planned_model(model, settings, configs)
            after = per_class(per_image_error(predict(planned, inputs, placements).outputs, inputs), digits)
            deltas.append(after - before)
        for run_dir, record in zip(run_dirs, score_records(deltas, settings)):
            runs.atomic_write_text(Path(run_dir) / SCORE_FILE, json.dumps(record, indent=2) + "\n")

    def measure_seeds(self, cfg, run_dirs: Sequence[Path], configs: Mapping[str, Any]) -> None:
        """Nothing beyond the score: a digits seed's selectivity is in its score's columns (score.json)."""

    def seed_columns(self, cfg) -> list[str]:
        """The score's columns (`score/…`: evaluation.digits.score_records), when the experiment has a score."""
        if cfg.get("score") is None:
            return []
        return [
            f"score/{name}" for name in (f"delta_{concept_digit(cfg)}", "ratio_median", "ratio_max", "max_other_delta")
        ]

    # -- evaluation ------------------------------------------------------------------------------------

    @staticmethod
    def evaluation_set(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
        """(pixels, digits) of the run's held-out images."""
        from ex_color.builders import plain
        from ex_color.data.digits import digits_settings

        return digits_settings(plain(runs.load_config(run_dir).data)).arrays("validation")

    def evaluate_run(self, run_dir: Path, configs: Mapping[str, Any], log_results: bool = False) -> Path:
        """The run's figures, each intervention measured (class-metrics.json, predictions.npz,
        intervention.yaml) and drawn, then report.md; the baseline is predicted once and shared. With
        `log_results`, the figures and each intervention's class selectivity go to the tracker's run."""
        evaluation = DigitsEvaluation(Path(run_dir))
        FigureWriter(evaluation.run_dir).draw(["schedule", "training"])
        digits_report.draw_condition(
            evaluation.run_dir / "figures",
            evaluation.inputs,
            evaluation.digits,
            evaluation.baseline,
            None,
            evaluation.concept,
            "no intervention",
        )
        measured = {kind: evaluation.measure_and_save(icfg)[1] for kind, icfg in configs.items()}
        if log_results:
            log_to_tracker(evaluation.run_dir, measured)
        return digits_report.write_report(evaluation.run_dir)

    def write_report(self, run_dir: Path) -> list[Path]:

        return [digits_report.write_report(Path(run_dir))]

    def run_columns(self, run_dir: Path) -> dict[str, float]:
        """Per evaluated intervention (class-metrics.json): `<kind>/mean`, the mean per-image MSE under it, and
        but for `none`, `<kind>/target_delta` (Δ of the concept digit), `<kind>/ratio_median` and
        `<kind>/ratio_max`."""
        columns: dict[str, float] = {}
        for path in sorted(Path(run_dir).glob(f"interventions/*/{METRICS_FILE}")):
            kind, metrics = path.parent.name, DigitsMetrics.load(path)
            columns[f"{kind}/mean"] = float(metrics.intervened_mean)
            if kind != "none":
                columns[f"{kind}/target_delta"] = float(metrics.selectivity.delta)
                columns[f"{kind}/ratio_median"] = float(metrics.selectivity.ratio_median)
                columns[f"{kind}/ratio_max"] = float(metrics.selectivity.ratio_max)
        return columns

    def intervene(self, run_dir: Path, icfg) -> tuple[Path, Any]:
        """`excolor intervene` on a digits run (`icfg`: the composed intervene config): one intervention
        measured, saved and drawn, report.md rewritten; returns (its folder, its DigitsMetrics)."""
        evaluation = DigitsEvaluation(Path(run_dir))
        out, metrics = evaluation.measure_and_save(icfg)
        digits_report.write_report(evaluation.run_dir)
        return out, metrics

    # -- inference -------------------------------------------------------------------------------------

    def inputs(self, values: Sequence[str], path: Path | None) -> tuple[np.ndarray, list[str]]:
        """(pixels [N, 64] in [0, 1] from the .npy file `path`, no labels); values on the command line are
        refused (they are colours)."""
        if values:
            raise UserError(f"values given on the command line: a {self.name} run takes --input FILE only")
        if path is None:
            raise UserError(f"--input: a {self.name} run needs an input file ({self.input_width} values a row)")
        pixels = self.read_inputs(path)
        return pixels, [""] * len(pixels)

    def read_inputs(self, path: Path) -> np.ndarray:
        """An [N, 64] array of pixels in [0, 1] from a .npy file."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"--input {path}: no such file")
        if path.suffix != ".npy":
            raise UserError(f"--input {path}: a digits run takes a .npy file of [N, 64] pixels")
        try:
            pixels = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise UserError(f"{path}: not a readable .npy file ({error})") from None
        if pixels.ndim != 2 or pixels.shape[1] != self.input_width:
            raise UserError(
                f"{path}: expected [N, {self.input_width}] pixels (8×8 images, row by row), got shape {list(pixels.shape)}"
            )
        if not np.issubdtype(pixels.dtype, np.number):
            raise UserError(f"{path}: expected numbers, got {pixels.dtype}")

        pixels = np.asarray(pixels, np.float64)
        check_range(pixels, str(path), column=lambda c: f"column {c + 1}")
        return pixels.astype(np.float32)


def log_to_tracker(run_dir: Path, measured: Mapping[str, Any]) -> bool:
    """The run's figures (and each intervention's) and each intervention's class selectivity into the wandb
    run in progress, if any."""
    if tracking.active_run() is None:
        return False
    images = {
        png.relative_to(run_dir).with_suffix("").as_posix(): (png, png.stem)
        for png in sorted([*run_dir.glob("figures/*.png"), *run_dir.glob("interventions/*/figures/*.png")])
    }
    scalars = {
        f"interventions/{kind}/{key}": getattr(metrics.selectivity, key)
        for kind, metrics in measured.items()
        for key in ("delta", "median_other", "max_other", "ratio_median", "ratio_max")
    }
    return tracking.log_results(scalars, images)


class DigitsEvaluation:
    """A digits run's model and held-out images; the baseline predicted once and shared."""

    def __init__(self, run_dir: Path):
        from ex_color.evaluation.predict import predict

        self.run_dir = run_dir
        self.model = runs.load_model(run_dir)
        self.concept = concept_digit(runs.load_config(run_dir))
        self.inputs, self.digits = DigitsDomain.evaluation_set(run_dir)
        self.baseline = predict(self.model, self.inputs)

    def measure_and_save(self, icfg) -> tuple[Path, Any]:
        """(folder, DigitsMetrics) of the intervention `icfg` describes: class-metrics.json, predictions.npz
        and intervention.yaml in RUN/interventions/<kind>/, and its figures (but `none`'s)."""
        from omegaconf import OmegaConf

        from ex_color.builders import build_intervention
        from ex_color.evaluation.predict import predict

        intervention = build_intervention(icfg.intervention, icfg.get("concepts") or {}, self.model)
        intervened = self.baseline
        if intervention.changes_model:
            edited, placements = intervention.applied_to(self.model)
            intervened = predict(edited, self.inputs, placements)
        inputs, digits, baseline = self.inputs, self.digits, self.baseline
        metrics = measure(
            str(self.run_dir), intervention.record(), inputs, digits, baseline.outputs, intervened.outputs, self.concept
        )
        out = self.run_dir / "interventions" / intervention.name
        buffer = io.BytesIO()
        np.savez(
            buffer,
            inputs=inputs,
            digits=digits,
            outputs=intervened.outputs,
            latents=intervened.latents,
            baseline_outputs=baseline.outputs,
            baseline_latents=baseline.latents,
        )
        runs.atomic_write_bytes(out / PREDICTIONS, buffer.getvalue())
        runs.atomic_write_text(out / runs.INTERVENTION_SETTINGS, OmegaConf.to_yaml(icfg, resolve=True))
        runs.atomic_write_text(out / METRICS_FILE, metrics.to_json())
        s = metrics.selectivity
        log.info(
            "%s: Δ(%d) %.4g, median Δ(others) %.3g, ratio_median %.3g, ratio_max %.3g (most leaked: %d)",
            intervention.name,
            self.concept,
            s.delta,
            s.median_other,
            s.ratio_median,
            s.ratio_max,
            s.max_other_digit,
        )
        if intervention.name != "none":
            digits_report.draw_condition(
                out / "figures", inputs, digits, baseline, intervened, self.concept, intervention.name, metrics=metrics
            )
        return out, metrics
