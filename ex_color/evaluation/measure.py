"""Measuring a trained run: its baseline predicted once, then each intervention predicted once, and every
number of metrics.json computed from those arrays (figures are drawn from the same arrays)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ex_color import runs
from ex_color.data.colors import hue_name, named_hue
from ex_color.evaluation.metrics import error_summary, most_aligned_hue, per_color_error, selectivity
from ex_color.evaluation.predict import Predictions, predict
from ex_color.evaluation.schema import (
    CubeShape,
    ErrorCorrelation,
    ErrorSummary,
    InterventionMetrics,
    NamedColorError,
    Selectivity,
)
from ex_color.evaluation.settings import EvalSettings, Probe
from ex_color.evaluation.similarity import pearson
from ex_color.interventions.kinds import Intervention


@dataclass
class ProbePredictions:
    """One model's predictions on each part of the probe."""

    hd: Predictions
    display: Predictions
    rgb: Predictions
    named: Predictions
    loss: Predictions
    slices: Predictions

    @classmethod
    def of(cls, probe: Probe, predictions: Predictions) -> ProbePredictions:
        outputs = probe.split(predictions.outputs)
        latents = probe.split(predictions.latents)
        return cls(**{part: Predictions(outputs[part], latents[part]) for part in outputs})


@dataclass
class InterventionResult:
    intervention: Intervention
    metrics: InterventionMetrics
    baseline: ProbePredictions
    intervened: ProbePredictions
    probe: Probe
    settings: EvalSettings | None = None

    @property
    def kind(self) -> str:
        return self.intervention.name

    def hd_errors(self, which: str = "intervened") -> np.ndarray:
        """Per-colour error on the HD cube, shaped like it."""
        return self.errors("hd", which)

    def errors(self, part: str, which: str = "intervened") -> np.ndarray:
        """Per-colour error on a cube of the probe (hd, display, rgb, loss, slices), shaped like it."""
        predictions = getattr(getattr(self, which), part)
        cube = getattr(self.probe, part)
        return per_color_error(predictions.outputs, cube.flat_rgb()).reshape(cube.shape)

    def correlation_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the error correlation over the RGB grid: x = similarity^p to the concept colour (its
        hue: the selectivity's target hue) or (S·V)^p, y = the intervened model's per-colour MSE."""
        return correlation_arrays(self.settings, self.probe, self.intervened, self.metrics.selectivity.target_hue)

    def arrays(self) -> dict[str, np.ndarray]:
        """What predictions.npz holds: the HD cube's inputs, outputs and latents, baseline and intervened, and
        the highest intervened error at full saturation on the loss cube (the stacked figures share it)."""
        return {
            "inputs": self.probe.hd.flat_rgb().astype(np.float32),
            "hsv": self.probe.hd_hsv().astype(np.float32),
            "outputs": self.intervened.hd.outputs,
            "latents": self.intervened.hd.latents,
            "baseline_outputs": self.baseline.hd.outputs,
            "baseline_latents": self.baseline.hd.latents,
            "cube_shape": np.array(self.probe.hd.shape),
            "stacked_error_max": np.array(self.errors("loss")[:, -1, :].max()),
        }

    def save(self, out_dir: Path, settings_yaml: str) -> Path:
        """metrics.json, predictions.npz and intervention.yaml (the settings used) in `out_dir`."""
        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays())
        runs.atomic_write_bytes(out_dir / "predictions.npz", buffer.getvalue())
        runs.atomic_write_text(out_dir / runs.INTERVENTION_SETTINGS, settings_yaml)
        runs.atomic_write_text(out_dir / "metrics.json", self.metrics.to_json())
        return out_dir


def correlation_arrays(
    settings: EvalSettings, probe: Probe, predictions: ProbePredictions, target_hue: float
) -> tuple[np.ndarray, np.ndarray]:
    """x (the predictor of `settings.correlation`, the concept colour at `target_hue` degrees) and y (per-colour
    MSE) over the probe's RGB grid: what metrics.json's correlation and the similarity figure are made of."""
    rgb = probe.rgb.flat_rgb()
    x = settings.correlation.predictor(rgb, target_hue / 360.0)
    return x, per_color_error(predictions.rgb.outputs, rgb)


class RunEvaluation:
    """A trained run's model and probe; the baseline is predicted on first use and then shared by every
    intervention measured on this run."""

    def __init__(self, run_dir: Path, model=None):
        self.run_dir = Path(run_dir)
        self.model = runs.load_model(self.run_dir) if model is None else model  # one already loaded: not again
        self.config = runs.load_config(self.run_dir)
        self.settings = EvalSettings.from_config(self.config.get("eval"))
        self.probe = self.settings.probe()
        self._inputs = self.probe.inputs()
        self._baseline: ProbePredictions | None = None

    def predictions(self, intervention: Intervention) -> ProbePredictions:
        model, placements = intervention.applied_to(self.model)
        return ProbePredictions.of(self.probe, predict(model, self._inputs, placements, self.settings.chunk_size))

    @property
    def baseline(self) -> ProbePredictions:
        if self._baseline is None:
            from ex_color.interventions.kinds import NoIntervention

            self._baseline = self.predictions(NoIntervention())
        return self._baseline

    def measure(self, intervention: Intervention, target_hue: float | None = None) -> InterventionResult:
        baseline = self.baseline
        intervened = self.predictions(intervention) if intervention.changes_model else baseline
        metrics = self.metrics(intervention, baseline, intervened, target_hue)
        return InterventionResult(intervention, metrics, baseline, intervened, self.probe, self.settings)

    def metrics(
        self, intervention: Intervention, baseline: ProbePredictions, intervened: ProbePredictions, target_hue: Any
    ) -> InterventionMetrics:
        probe = self.probe
        inputs, hsv = probe.hd.flat_rgb(), probe.hd_hsv()
        err_before = per_color_error(baseline.hd.outputs, inputs)
        err_after = per_color_error(intervened.hd.outputs, inputs)
        named_rgb = np.stack(list(probe.named.values()))
        before = dict(zip(probe.named, per_color_error(baseline.named.outputs, named_rgb).tolist()))
        after = dict(zip(probe.named, per_color_error(intervened.named.outputs, named_rgb).tolist()))
        hue = self.target_hue(intervention, target_hue, hsv, baseline.hd.latents)
        name = hue_name(hue)
        x, y = correlation_arrays(self.settings, probe, intervened, hue)
        fit, correlation = pearson(x, y), self.settings.correlation
        return InterventionMetrics(
            run=str(self.run_dir),
            intervention=intervention.record(),
            eval_cube=CubeShape(*(int(n) for n in probe.hd.shape)),
            baseline=ErrorSummary(**error_summary(err_before)),
            intervened=ErrorSummary(**error_summary(err_after)),
            named_colors={
                colour: NamedColorError(
                    rgb=[round(float(x), 4) for x in probe.named[colour]],
                    baseline=before[colour],
                    intervened=after[colour],
                    delta=after[colour] - before[colour],
                )
                for colour in probe.named
            },
            selectivity=Selectivity(**selectivity(err_before, err_after, hsv, before, after, hue, name)),
            correlation=ErrorCorrelation(
                against=correlation.against,
                power=correlation.power,
                mode=correlation.mode,
                anchor=correlation.anchor(hue / 360.0),
                r=fit.r,
                r2=fit.r2,
            ),
        )

    @staticmethod
    def target_hue(intervention: Intervention, given: Any, hsv: np.ndarray, baseline_latents: np.ndarray) -> float:
        """The on-target hue (degrees): as given, else the concept's named colour, else the hue of the vivid
        colour whose latent points most along the concept; surgery: 0 (dimension 0 carries red)."""
        if given is not None:
            return float(given) % 360.0
        concept = intervention.concept
        if concept is None:
            return 0.0
        name, vector = concept
        if named_hue(name) is not None:
            return float(named_hue(name))
        return most_aligned_hue(hsv, baseline_latents, vector.tolist())
