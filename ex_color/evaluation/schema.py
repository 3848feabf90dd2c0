"""metrics.json: the one schema of an intervention's measurements, shared by the writer
(`evaluation.measure`), the readers (`results`, `run_report`, `tables`, `tasks.report`) and the tests."""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ex_color.errors import UserError


@dataclass(frozen=True)
class ErrorSummary:
    """Per-colour MSE over the evaluation cube."""

    max: float
    mean: float
    median: float


@dataclass(frozen=True)
class NamedColorError:
    rgb: list[float]
    baseline: float
    intervened: float
    delta: float


@dataclass(frozen=True)
class Selectivity:
    """How much of an intervention's damage lands on the concept (see `evaluation.metrics.selectivity`)."""

    target_hue: float
    target_color: str
    on_target_mean_error: float
    off_target_mean_error: float
    error_ratio: float
    baseline_error_ratio: float
    target_delta: float
    largest_far_delta: float
    largest_far_delta_color: str
    delta_ratio: float
    # hue-vs-grey selectivity of deleting a subspace: the smallest Δ among the 12 named hues over the largest Δ
    # among the 5 greys (absent from metrics.json written before issue 14: None)
    smallest_hue_delta: float | None = None
    smallest_hue_delta_color: str | None = None
    largest_grey_delta: float | None = None
    largest_grey_delta_color: str | None = None
    hue_grey_ratio: float | None = None


@dataclass(frozen=True)
class ErrorCorrelation:
    """Pearson r of per-colour MSE (over the RGB grid) against similarity^power to the concept colour
    (`anchor`, HSV with hue in turns; hue mode `mode`) or against (S·V)^power (`against: vibrancy`)."""

    against: str
    power: float
    mode: str
    anchor: list[float] | None
    r: float
    r2: float


@dataclass(frozen=True)
class CubeShape:
    hues: int
    saturations: int
    values: int


@dataclass(frozen=True)
class InterventionMetrics:
    """The contents of `interventions/<kind>/metrics.json`."""

    run: str
    intervention: dict[str, Any]  # the kind's record: `kind` first, then its settings
    eval_cube: CubeShape
    baseline: ErrorSummary
    intervened: ErrorSummary
    named_colors: dict[str, NamedColorError]
    selectivity: Selectivity
    correlation: ErrorCorrelation | None = None  # absent from metrics.json written before issue 13

    @property
    def kind(self) -> str:
        return str(self.intervention["kind"])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, where: str = "metrics.json") -> InterventionMetrics:
        """Read back, naming the first missing or mistyped key."""
        top = _fields(cls, data, where)
        if not isinstance(top["intervention"], dict) or "kind" not in top["intervention"]:
            raise UserError(f"{where}: key 'intervention' must be a mapping with 'kind'")
        named = top["named_colors"]
        if not isinstance(named, dict):
            raise UserError(f"{where}: key 'named_colors' must be a mapping")
        return cls(
            run=str(top["run"]),
            intervention=dict(top["intervention"]),
            eval_cube=CubeShape(**_fields(CubeShape, top["eval_cube"], f"{where}: eval_cube")),
            baseline=ErrorSummary(**_fields(ErrorSummary, top["baseline"], f"{where}: baseline")),
            intervened=ErrorSummary(**_fields(ErrorSummary, top["intervened"], f"{where}: intervened")),
            named_colors={
                str(name): NamedColorError(**_fields(NamedColorError, row, f"{where}: named_colors.{name}"))
                for name, row in named.items()
            },
            selectivity=Selectivity(**_fields(Selectivity, top["selectivity"], f"{where}: selectivity")),
            correlation=None
            if data.get("correlation") is None
            else ErrorCorrelation(**_fields(ErrorCorrelation, data["correlation"], f"{where}: correlation")),
        )

    @classmethod
    def load(cls, path: Path) -> InterventionMetrics:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise UserError(f"{path}: cannot read ({type(error).__name__})") from None
        return cls.from_dict(data, str(path))


def _fields(cls, data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping (got {type(data).__name__})")
    names = [f.name for f in fields(cls) if f.default is MISSING]  # keys with a default may be absent
    missing = [name for name in names if name not in data]
    if missing:
        raise UserError(f"{where}: missing key {missing[0]!r}")
    optional = [f.name for f in fields(cls) if f.default is not MISSING and f.name in data]
    return {name: data[name] for name in (*names, *optional)}
