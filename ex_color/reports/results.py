"""A run directory's results read back from its files (nothing is recomputed): config, final losses,
the metrics of every intervention evaluated on it, and its figures."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ex_color import runs
from ex_color.domains import domain_for
from ex_color.errors import DamagedFile, UserError, reading, whole_text
from ex_color.evaluation.schema import InterventionMetrics
from ex_color.evaluation.score import read_score
from ex_color.evaluation.seed_selectivity import columns_of, read_selectivity
from ex_color.reports.render import number

# The share of the last steps averaged into a "final" loss.
FINAL_SHARE = 0.01


def is_run_dir(path: Path) -> bool:
    """A training run: its config and a checkpoint, and not a sweep job that failed (error.json)."""
    return (path / runs.CONFIG).is_file() and (path / runs.CHECKPOINT).is_file() and not is_failed_job(path)


def read_overrides(path: Path) -> list[str]:
    """A run's .hydra/overrides.yaml: the command line's overrides, a list of strings."""
    from omegaconf import OmegaConf

    text = whole_text(path)
    with reading(path):
        overrides = OmegaConf.to_container(OmegaConf.create(text)) if text else None
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise DamagedFile(path, "expected a list of overrides")
    return overrides


def is_failed_job(path: Path) -> bool:
    from ex_color.launch.sweeps import ERROR_FILE

    return (path / ERROR_FILE).is_file()


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a run's metrics.csv (UserError without one or without rows; DamagedFile, naming the row,
    when it is not UTF-8 CSV, has no step column, a row of the wrong length or a value that is no number)."""
    if not path.is_file():
        raise UserError(f"{path}: no metrics (was the run trained with a CSV logger?)")
    text = whole_text(path)
    with reading(path):
        lines = [(reader.line_num, cells) for reader in [csv.reader(io.StringIO(text))] for cells in reader if cells]
    if not lines:
        raise DamagedFile(path, "empty: no header")
    header = lines[0][1]
    if "step" not in header:
        raise DamagedFile(path, f"no step column in the header ({', '.join(header[:4])}...)")
    rows = []
    for line, cells in lines[1:]:
        if len(cells) != len(header):
            raise DamagedFile(path, f"row {line} holds {len(cells)} values, the header {len(header)} (cut short?)")
        try:
            int(float(cells[header.index("step")]))
            [float(cell) for cell in cells if cell]
        except ValueError:
            raise DamagedFile(path, f"row {line}: a value that is not a number") from None
        rows.append(dict(zip(header, cells)))
    if not rows:
        raise UserError(f"{path}: no metrics rows")
    return rows


def read_metrics(path: Path, rows: list[dict[str, str]] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Steps and every loss series (`train/<name>` without the prefix; `train/lr` left out) of a run's
    metrics.csv (or of its `rows`, already read); a row may hold only some keys (NaN elsewhere)."""
    rows = read_rows(path) if rows is None else rows
    steps = np.array([int(float(r["step"])) for r in rows])
    series = {
        key.removeprefix("train/"): np.array([float(r[key]) if r.get(key) else np.nan for r in rows])
        for key in rows[0]
        if key.startswith("train/") and key != "train/lr"
    }
    return steps, series


def final_losses(
    path: Path, rows: list[dict[str, str]] | None = None
) -> tuple[int, int, dict[str, tuple[float, float, float]]]:
    """(steps logged, window, {term: (mean, min, max) over the window}) of a run's metrics.csv (or of its
    `rows`), where the window is the last ~1% of the steps (at least one)."""
    try:
        steps, series = read_metrics(path, rows)
    except UserError:
        return 0, 0, {}
    window = max(1, round(FINAL_SHARE * len(steps)))
    losses = {}
    for name, values in series.items():
        tail = values[-window:]
        tail = tail[np.isfinite(tail)]
        if len(tail):
            losses[name] = (float(tail.mean()), float(tail.min()), float(tail.max()))
    return int(steps[-1]) + 1, window, losses


# metrics.csv columns reported by their last value (logged now and then, or counted up over the run).
LAST_VALUE_PREFIXES = ("val/", "labels/")


def last_values(rows: list[dict[str, str]]) -> dict[str, float]:
    """The last finite value of each `val/…` and `labels/…` column of a run's metrics.csv rows."""
    last: dict[str, float] = {}
    for key in rows[0] if rows else ():
        name = key.removeprefix("train/")
        if not name.startswith(LAST_VALUE_PREFIXES):
            continue
        for row in reversed(rows):
            value = float(row[key]) if row.get(key) else math.nan
            if math.isfinite(value):
                last[name] = value
                break
    return last


def kind_order(kinds) -> list[str]:
    """Kinds in the registry's order (none, suppression, repulsion, ablation, prune, then others)."""
    from ex_color.interventions.kinds import KINDS

    order = list(KINDS)
    return sorted(kinds, key=lambda k: (order.index(k) if k in order else len(order), k))


@dataclass
class Stat:
    n: int
    mean: float
    std: float
    min: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        a = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        if not len(a):
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        std = float(a.std(ddof=1)) if len(a) > 1 else math.nan
        return cls(len(a), float(a.mean()), std, float(a.min()), float(a.max()))

    def mean_text(self) -> str:
        return number(self.mean) if self.n < 2 else f"{number(self.mean)} ± {number(self.std, 2)}"


@dataclass
class RunResult:
    """What one run directory says about itself."""

    path: Path
    config: dict
    overrides: list[str]
    steps: int
    window: int
    losses: dict[str, tuple[float, float, float]]
    interventions: dict[str, InterventionMetrics] = field(default_factory=dict)
    score: float | None = None  # the experiment's score (score.json), when it has one
    score_label: str | None = None  # what the score measures, e.g. "R² of error vs similarity^2"
    last: dict[str, float] = field(default_factory=dict)  # last_values of metrics.csv
    selectivity: dict[str, dict] = field(default_factory=dict)  # a redux seed's selectivity.json, per kind
    score_columns: dict[str, float] = field(default_factory=dict)  # score.json's `columns` (digits: Δ, ratios)
    domain_columns: dict[str, float] = field(default_factory=dict)  # the domain's `<kind>/…` (Domain.run_columns)

    @property
    def name(self) -> str:
        return str(self.config.get("name", self.path.name))

    def metrics(self) -> dict[str, float]:
        """Flat metric columns: final losses (`loss`, `recon`, `reg-…`), the score, the last validation
        values and label counts, then per intervention its intervened `max`/`mean` per-colour error and, for a
        real intervention, its selectivity (error, delta and hue/grey ratios) and the R² of its error against
        similarity (or vibrancy); the hue/grey ratio and R² are absent from metrics.json written before them.
        A redux's seed also has `selectivity.<kind>.<field>` (evaluation.seed_selectivity) after the score."""
        out = {name: mean for name, (mean, _, _) in self.losses.items()}
        if self.score is not None:
            out["score"] = self.score
        out.update(columns_of(self.selectivity))
        out.update({f"score/{name}": value for name, value in self.score_columns.items()})
        out.update(self.last)
        for kind in kind_order(self.interventions):
            metrics = self.interventions[kind]
            out[f"{kind}/max"] = float(metrics.intervened.max)
            out[f"{kind}/mean"] = float(metrics.intervened.mean)
            if kind != "none":
                out[f"{kind}/error_ratio"] = float(metrics.selectivity.error_ratio)
                out[f"{kind}/delta_ratio"] = float(metrics.selectivity.delta_ratio)
                if metrics.selectivity.hue_grey_ratio is not None:
                    out[f"{kind}/hue_grey_ratio"] = float(metrics.selectivity.hue_grey_ratio)
                if metrics.correlation is not None:
                    out[f"{kind}/r2"] = float(metrics.correlation.r2)
        out.update(self.domain_columns)
        return out


def load_run(path: Path) -> RunResult:
    from omegaconf import OmegaConf

    cfg = runs.load_config(path)
    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except Exception:
        config = OmegaConf.to_container(cfg, resolve=False)
    overrides_file = path / ".hydra" / "overrides.yaml"
    overrides = read_overrides(overrides_file) if overrides_file.is_file() else []
    try:
        rows = read_rows(path / runs.METRICS)
    except DamagedFile:
        raise
    except UserError:  # no metrics: no losses, no last values
        rows = []
    steps, window, losses = final_losses(path / runs.METRICS, rows) if rows else (0, 0, {})
    interventions = {}
    folder = path / "interventions"
    if folder.is_dir():
        for metrics_file in sorted(folder.glob("*/metrics.json")):
            interventions[metrics_file.parent.name] = InterventionMetrics.load(metrics_file)

    score = read_score(path)
    domain_columns = domain_for(cfg.get("data")).run_columns(path) if folder.is_dir() else {}
    return RunResult(
        path,
        config,
        overrides,
        steps,
        window,
        losses,
        interventions,
        score=float(score["score"]) if score and "score" in score else None,
        score_label=str(score["label"]) if score and "label" in score else None,
        last=last_values(rows),
        selectivity=read_selectivity(path),
        score_columns={str(k): float(v) for k, v in ((score or {}).get("columns") or {}).items()},
        domain_columns=domain_columns,
    )
