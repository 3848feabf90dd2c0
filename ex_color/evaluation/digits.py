"""Measuring a digits run: per-class reconstruction error, baseline and intervened, and how selective an
intervention on the concept digit is.

The evaluation set is the held-out validation part of the split (`data.validation_fraction`, `split_seed`),
the same images for every seed. For each digit d, ``mse(d)`` is the mean over its images of the per-image
MSE over the 64 pixels; ``Δ(d) = mse_intervened(d) − mse_baseline(d)``. Selectivity for the concept digit c:

* ``ratio_median = Δ(c) / max(median_{d≠c} Δ(d), floor)``
* ``ratio_max    = Δ(c) / max(max_{d≠c} Δ(d), floor)``

with ``floor = 1e-4`` (1% of a typical per-class baseline MSE, ≈ 0.01): with full labels the other digits'
Δ is about 1e-6 and sometimes negative, which would make the ratio meaningless (docs/digits.md). The absolute
Δs are reported beside the ratios. The **redux score** of a digits experiment is ``ratio_median`` after its
plan (`score.plan`, e.g. [ablation]); score.json also holds Δ(c), ratio_max and the largest other Δ.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ex_color.errors import UserError
from ex_color.reports.render import TextTable, number

FLOOR = 1e-4
METRICS_FILE = "class-metrics.json"
SCORE_KEYS = ("plan", "concept")


def per_image_error(outputs: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    return np.square(np.asarray(outputs, np.float64) - np.asarray(inputs, np.float64)).mean(-1)


def per_class(errors: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """[10]: the mean error of each digit's images (NaN for a digit with none)."""
    sums = np.bincount(digits, weights=errors, minlength=10)
    counts = np.bincount(digits, minlength=10)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


@dataclass(frozen=True)
class ClassSelectivity:
    concept: int
    delta: float  # Δ(concept)
    median_other: float  # median Δ of the other digits (unfloored)
    max_other: float
    max_other_digit: int  # the digit that leaks most
    ratio_median: float
    ratio_max: float
    floor: float = FLOOR

    @classmethod
    def of(cls, deltas: np.ndarray, concept: int) -> ClassSelectivity:
        others = np.delete(np.arange(10), concept)
        other = deltas[others]
        worst = int(others[int(np.nanargmax(other))])
        median, largest = float(np.nanmedian(other)), float(np.nanmax(other))
        delta = float(deltas[concept])
        return cls(concept, delta, median, largest, worst, delta / max(median, FLOOR), delta / max(largest, FLOOR))


@dataclass(frozen=True)
class DigitsMetrics:
    """One intervention on a digits run: per-class MSE before and after, Δ, selectivity."""

    run: str
    intervention: dict[str, Any]
    images: int
    baseline: list[float]  # per class, digits 0-9
    intervened: list[float]
    delta: list[float]
    baseline_mean: float
    intervened_mean: float
    selectivity: ClassSelectivity

    def table(self):
        """Per-class MSE, baseline and intervened, and Δ: a TextTable (report.md, `excolor intervene`)."""
        rows = [
            [str(d), number(b), number(a), number(delta)]
            for d, (b, a, delta) in enumerate(zip(self.baseline, self.intervened, self.delta))
        ]
        s = self.selectivity
        note = (
            f"Δ({s.concept}) {number(s.delta)}; median Δ of the other digits {number(s.median_other)}, largest "
            f"{number(s.max_other)} ({s.max_other_digit}); ratio median {number(s.ratio_median)}, ratio max "
            f"{number(s.ratio_max)} (denominators floored at {s.floor:g})."
        )
        return TextTable("Per-class MSE", ["digit", "baseline", "intervened", "Δ"], rows, note=note)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> DigitsMetrics:
        try:
            data = json.loads(Path(path).read_text())
            data["selectivity"] = ClassSelectivity(**data["selectivity"])
            return cls(**data)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserError(f"{path}: not a digits metrics file ({type(error).__name__})") from None


def measure(
    run: str,
    record: dict,
    inputs: np.ndarray,
    digits: np.ndarray,
    baseline: np.ndarray,
    intervened: np.ndarray,
    concept: int,
) -> DigitsMetrics:
    before = per_image_error(baseline, inputs)
    after = per_image_error(intervened, inputs)
    b, a = per_class(before, digits), per_class(after, digits)
    return DigitsMetrics(
        run,
        record,
        int(len(inputs)),
        b.tolist(),
        a.tolist(),
        (a - b).tolist(),
        float(before.mean()),
        float(after.mean()),
        ClassSelectivity.of(a - b, concept),
    )


# -- the redux score -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsScore:
    """`score:` of a digits experiment: the plan's interventions (applied in order with the run's own
    settings) and the concept digit; the score is ratio_median on the validation images."""

    plan: tuple[str, ...]
    concept: int

    @classmethod
    def from_config(cls, node: Any, concept: int) -> DigitsScore | None:
        from omegaconf import OmegaConf

        if node is None:
            return None
        spec = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node)
        unknown = sorted(set(spec) - set(SCORE_KEYS))
        if unknown:
            raise UserError(f"score.{unknown[0]}: unknown key for a digits score; known keys: {', '.join(SCORE_KEYS)}")
        plan = spec.get("plan") or []
        plan = [plan] if isinstance(plan, str) else plan
        if not isinstance(plan, list) or not plan or not all(isinstance(kind, str) for kind in plan):
            raise UserError(f"score.plan: expected a non-empty list of intervention kinds (got {spec.get('plan')!r})")
        concept = spec.get("concept", concept)
        if concept not in range(10):
            raise UserError(f"score.concept: a digit 0-9 (got {concept!r})")
        return cls(tuple(plan), int(concept))

    def label(self) -> str:
        return f"Δ({self.concept}) / median Δ(others) after {' + '.join(self.plan)}"


def score_records(deltas: Sequence[np.ndarray], settings: DigitsScore) -> list[dict[str, Any]]:
    """score.json of each run from its per-class Δ after the plan: score (ratio_median) and its columns."""
    records = []
    for delta in deltas:
        s = ClassSelectivity.of(np.asarray(delta), settings.concept)
        records.append(
            {
                "score": s.ratio_median,
                "label": settings.label(),
                "settings": {"plan": list(settings.plan), "concept": settings.concept, "floor": FLOOR},
                "columns": {
                    f"delta_{settings.concept}": s.delta,
                    "ratio_median": s.ratio_median,
                    "ratio_max": s.ratio_max,
                    "max_other_delta": s.max_other,
                },
            }
        )
    return records


def pca_errors(train: np.ndarray, held: np.ndarray, held_digits: np.ndarray, width: int) -> tuple[float, np.ndarray]:
    """(mean, per-class) held-out MSE of PCA with `width` components fitted on the training images (centred,
    numpy SVD): the linear baseline an autoencoder of that latent width should match or beat."""
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(np.asarray(train, np.float64) - mean, full_matrices=False)
    basis = vt[:width]
    centred = np.asarray(held, np.float64) - mean
    errors = per_image_error(centred @ basis.T @ basis + mean, held)
    return float(errors.mean()), per_class(errors, held_digits)
