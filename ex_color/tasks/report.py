"""Reports read back from run directories (nothing is recomputed, so they can be re-run at any time):

- `write_run_report(run_dir)`: report.md of one run — config in brief, final losses, figures, and the
  metrics of every intervention evaluated on it — linked by relative paths.
- `summarise(paths, best)`: final losses and intervention metrics across runs (one run, several, or a
  sweep directory searched recursively): mean ± standard deviation, min, max, per run, and the best run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from ex_color import runs
from ex_color.errors import UserError
from ex_color.render import TextTable, escape, image, number

REPORT = Path("report.md")
RUN_FIGURES = {
    "schedule": "Schedule",
    "training": "Training curves",
    "colors": "Predicted colours",
    "error": "Per-colour error",
    "latents": "Latent space",
    "intervention": "Intervention response",
}
INTERVENTION_FIGURES = ("intervention", "colors", "error", "latents")
KIND_ORDER = ("none", "suppression", "repulsion", "ablation", "prune")
# Folders inside a run that never hold another run: not searched.
NOT_RUNS = {".hydra", "checkpoints", "interventions", "figures", "wandb", ".submitit"}
# The share of the last steps averaged into a "final" loss.
FINAL_SHARE = 0.01


# ----------------------------------------------------------------------------- reading one run


def is_run_dir(path: Path) -> bool:
    """A training run: its config and a checkpoint, and not a sweep job that failed (error.json)."""
    return (path / runs.CONFIG).is_file() and (path / runs.CHECKPOINT).is_file() and not is_failed_job(path)


def is_failed_job(path: Path) -> bool:
    from ex_color.sweeps import ERROR_FILE

    return (path / ERROR_FILE).is_file()


def final_losses(path: Path) -> tuple[int, int, dict[str, tuple[float, float, float]]]:
    """(steps logged, window, {term: (mean, min, max) over the window}) of a run's metrics.csv, where the
    window is the last ~1% of the steps (at least one)."""
    if not path.is_file():
        return 0, 0, {}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return 0, 0, {}
    window = max(1, round(FINAL_SHARE * len(rows)))
    tail = rows[-window:]
    losses = {}
    for key in rows[0]:
        if not key.startswith("train/") or key == "train/lr":
            continue
        values = np.array([float(r[key]) for r in tail if r.get(key) not in (None, "")], dtype=float)
        values = values[np.isfinite(values)]
        if len(values):
            losses[key.removeprefix("train/")] = (float(values.mean()), float(values.min()), float(values.max()))
    steps = int(float(rows[-1]["step"])) + 1
    return steps, window, losses


def kind_order(kinds) -> list[str]:
    return sorted(kinds, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER), k))


@dataclass
class RunResult:
    """What one run directory says about itself."""

    path: Path
    config: dict
    overrides: list[str]
    steps: int
    window: int
    losses: dict[str, tuple[float, float, float]]
    interventions: dict[str, dict] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.config.get("name", self.path.name))

    def metrics(self) -> dict[str, float]:
        """Flat metric columns: final losses (`loss`, `recon`, `reg-…`), then per intervention its
        intervened `max`/`mean` per-colour error and, for a real intervention, its selectivity."""
        out = {name: mean for name, (mean, _, _) in self.losses.items()}
        for kind in kind_order(self.interventions):
            metrics = self.interventions[kind]
            out[f"{kind}/max"] = float(metrics["intervened"]["max"])
            out[f"{kind}/mean"] = float(metrics["intervened"]["mean"])
            if kind != "none":
                out[f"{kind}/error_ratio"] = float(metrics["selectivity"]["error_ratio"])
                out[f"{kind}/delta_ratio"] = float(metrics["selectivity"]["delta_ratio"])
        return out


def load_run(path: Path) -> RunResult:
    from omegaconf import OmegaConf

    cfg = runs.load_config(path)
    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except Exception:
        config = OmegaConf.to_container(cfg, resolve=False)
    overrides_file = path / ".hydra" / "overrides.yaml"
    overrides = [str(o) for o in (OmegaConf.load(overrides_file) or [])] if overrides_file.is_file() else []
    steps, window, losses = final_losses(path / runs.METRICS)
    interventions = {}
    folder = path / "interventions"
    if folder.is_dir():
        for metrics_file in sorted(folder.glob("*/metrics.json")):
            try:
                interventions[metrics_file.parent.name] = json.loads(metrics_file.read_text())
            except (OSError, ValueError) as error:
                raise UserError(f"{metrics_file}: cannot read ({type(error).__name__})") from None
    return RunResult(path, config, overrides, steps, window, losses, interventions)


def figures_in(directory: Path, names) -> list[tuple[str, Path, str]]:
    """(name, png, alt text) of the light-theme figures present in a folder, in the order given."""
    found = []
    for name in names:
        png = directory / f"{name}.png"
        if png.is_file():
            txt = png.with_suffix(".txt")
            alt = txt.read_text().strip() if txt.is_file() else RUN_FIGURES.get(name, name)
            found.append((name, png, alt))
    return found


# ----------------------------------------------------------------------------- one run: report.md


def short_target(target: str) -> str:
    return str(target).rsplit(".", 1)[-1]


def call_text(node: dict) -> str:
    """`Anchor(point=[1, 0, 0, 0])` from a config node with `_target_` (or a record with `type`)."""
    name = short_target(node.get("_target_") or node.get("type") or "?")
    args = ", ".join(f"{k}={v}" for k, v in node.items() if k not in ("_target_", "type", "_partial_"))
    return f"{name}({args})"


def config_table(result: RunResult) -> TextTable:
    cfg = result.config
    model = cfg.get("model") or {}
    data = cfg.get("data") or {}
    cube = data.get("cube") or {}
    rows = [
        ["experiment", escape(result.name)],
        ["seed", str(cfg.get("seed", "?"))],
        ["overrides", f"`{' '.join(result.overrides)}`" if result.overrides else "none"],
        [
            "model",
            escape(
                f"{short_target(model.get('_target_', 'ColorMLP'))}: bottleneck {model.get('bottleneck')}, "
                f"hidden {model.get('hidden')}, explicit normalisation {'yes' if model.get('normalize') else 'no'}"
            ),
        ],
        [
            "data",
            escape(
                f"HSV cube {cube.get('hues')}×{cube.get('saturations')}×{cube.get('values')}, batch "
                f"{data.get('batch_size')}, labels "
                + ", ".join(f"{k} ×{v}" for k, v in (data.get("labels") or {}).items())
                + f", {'hard' if data.get('hard_labels') else 'soft'} labels"
            ),
        ],
        ["dopesheet", f"[dopesheet.csv](dopesheet.csv) (given as `{cfg.get('dopesheet')}`)"],
        ["steps", f"{result.steps:,}"],
        ["optimizer", escape(short_target((cfg.get("optimizer") or {}).get("_target_", "?")))],
        ["loggers", escape(", ".join(cfg.get("logger") or {}) or "none")],
    ]
    if cfg.get("interventions") is not None:
        rows.append(["interventions", escape(", ".join(cfg["interventions"]))])
    extra = {k: v for k, v in (cfg.get("intervention_overrides") or {}).items() if v}
    if extra:
        rows.append(["intervention overrides", escape("; ".join(f"{k}: {' '.join(v)}" for k, v in extra.items()))])
    return TextTable("", ["setting", "value"], rows, align=["l", "l"])


def regularizer_table(result: RunResult) -> TextTable | None:
    regs = result.config.get("regularizers") or {}
    if not regs:
        return None
    rows = []
    for name, reg in regs.items():
        labels = reg.get("labels") or {}
        rows.append([
            f"`{name}`",
            escape(call_text(reg.get("loss") or {})),
            escape(", ".join(reg.get("layers") or [])),
            escape(", ".join(f"{k} ×{v}" for k, v in labels.items()) or "all samples"),
        ])
    note = "Weights follow the dopesheet column of the same name (1.0 where a term has no column)."
    return TextTable("Regularizers", ["term", "loss", "layers", "labels"], rows, align=["l"] * 4, note=note)


def losses_table(result: RunResult) -> TextTable:
    rows = [[f"`{name}`", number(mean), f"{number(lo)} – {number(hi)}"] for name, (mean, lo, hi) in result.losses.items()]
    title = f"Final losses (mean of the last {result.window} of {result.steps:,} steps)"
    return TextTable(title, ["term", "final", "range over those steps"], rows)


def settings_text(record: dict) -> str:
    parts = []
    for key, value in record.items():
        if key in ("kind", "concept_vector"):
            continue
        if isinstance(value, dict):
            value = call_text(value)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key}: {value}")
    if "concept_vector" in record:
        parts.append("concept vector: [" + ", ".join(f"{v:g}" for v in record["concept_vector"]) + "]")
    return escape("; ".join(parts)) or "no settings"


def interventions_overview(result: RunResult) -> TextTable:
    rows = []
    kinds = kind_order(result.interventions)
    base = result.interventions[kinds[0]]["baseline"]
    rows.append(["baseline (no intervention)", number(base["max"]), number(base["mean"]), "", ""])
    base_ratio = None
    for kind in kinds:
        m = result.interventions[kind]
        sel = m["selectivity"]
        base_ratio = sel.get("baseline_error_ratio", base_ratio)
        if kind == "none":
            continue
        rows.append([
            f"[{kind}](#{kind})",
            number(m["intervened"]["max"]),
            number(m["intervened"]["mean"]),
            number(sel["error_ratio"]),
            number(sel["delta_ratio"]),
        ])
    if base_ratio is not None:
        rows[0][3] = number(base_ratio)
    note = (
        "Per-colour MSE over the evaluation cube. Error ratio: mean error on-target (hue within 30° of the "
        "concept, saturation and value above 0.5) over off-target (hue more than 90° away); Δ ratio: the "
        "error increase of the concept's colour over the largest increase among far colours and grays. "
        "Higher ratios: damage lands on the concept."
    )
    return TextTable("Interventions at a glance", ["model", "max error", "mean error", "error ratio", "Δ ratio"], rows, note=note)


def intervention_section(result: RunResult, kind: str) -> str:
    m = result.interventions[kind]
    sel = m["selectivity"]
    cube = m.get("eval_cube") or {}
    parts = [f"### {kind}\n"]
    if kind == "none":
        parts.append("The trained model as it is, evaluated the same way as the interventions (its figures are the run's, above).\n")
    else:
        parts.append(f"Settings: {settings_text(m['intervention'])}.\n")
    if cube:
        parts.append(f"Evaluated on an HSV cube of {cube.get('hues')}×{cube.get('saturations')}×{cube.get('values')} colours.\n")
    target = escape(sel.get("target_color", "?"))
    selectivity_title = f"Selectivity (target: {target}, hue {number(sel.get('target_hue'), 3)}°)"
    rgb = {name: ", ".join(f"{x:g}" for x in row["rgb"]) for name, row in m["named_colors"].items()}
    if kind == "none":
        tables = [
            TextTable("Per-colour MSE", ["", "baseline"], [[s, number(m["baseline"][s])] for s in ("max", "mean", "median")]),
            TextTable("Named colours", ["colour", "rgb", "baseline"], [
                [escape(name), rgb[name], number(row["baseline"])] for name, row in m["named_colors"].items()
            ], align=["l", "l", "r"]),
            TextTable(selectivity_title, ["", "baseline"], [
                ["on/off-target error ratio", number(sel.get("baseline_error_ratio"))],
            ]),
        ]
    else:
        tables = [
            TextTable("Per-colour MSE", ["", "baseline", kind], [
                [s, number(m["baseline"][s]), number(m["intervened"][s])] for s in ("max", "mean", "median")
            ]),
            TextTable("Named colours", ["colour", "rgb", "baseline", "intervened", "Δ"], [
                [escape(name), rgb[name], number(row["baseline"]), number(row["intervened"]), number(row["delta"])]
                for name, row in m["named_colors"].items()
            ], align=["l", "l", "r", "r", "r"]),
            TextTable(selectivity_title, ["", "baseline", kind], [
                ["on/off-target error ratio", number(sel.get("baseline_error_ratio")), number(sel.get("error_ratio"))],
                ["on-target mean error", "", number(sel.get("on_target_mean_error"))],
                ["off-target mean error", "", number(sel.get("off_target_mean_error"))],
                [f"Δ {target} / largest far Δ ({escape(sel.get('largest_far_delta_color', '?'))})", "",
                 number(sel.get("delta_ratio"))],
            ]),
        ]
    parts += [table.markdown() for table in tables]
    if kind != "none":
        folder = result.path / "interventions" / kind / "figures"
        for name, png, alt in figures_in(folder, INTERVENTION_FIGURES):
            parts.append(f"{image(alt, png.relative_to(result.path).as_posix())}\n")
    return "\n".join(parts)


def run_report_markdown(result: RunResult) -> str:
    seed = result.config.get("seed", "?")
    parts = [
        f"# {escape(result.name)} · seed {seed}\n",
        f"Run directory: `{result.path}`. Written {datetime.now():%Y-%m-%d %H:%M} from the files in this "
        f"directory; rewrite it with `excolor report {result.path} --run-reports`.\n",
        "## Configuration\n",
        config_table(result).markdown(),
    ]
    regs = regularizer_table(result)
    if regs is not None:
        parts.append(regs.markdown())
    parts += ["## Training\n", losses_table(result).markdown()]
    for name, png, alt in figures_in(result.path / "figures", ("schedule", "training")):
        parts.append(f"{image(alt, png.relative_to(result.path).as_posix())}\n")
    model_figures = figures_in(result.path / "figures", ("colors", "error", "latents"))
    if model_figures:
        parts.append("### The trained model\n")
        for name, png, alt in model_figures:
            parts.append(f"{image(alt, png.relative_to(result.path).as_posix())}\n")
    parts.append("## Interventions\n")
    if not result.interventions:
        parts.append("No intervention evaluated yet (`excolor intervene --kind KIND --run DIR`).\n")
    else:
        parts.append(interventions_overview(result).markdown())
        for kind in kind_order(result.interventions):
            parts.append(intervention_section(result, kind))
    return "\n".join(parts)


def write_run_report(run_dir: str | Path | None) -> Path:
    """Write `report.md` in a run directory from what it holds; returns its path."""
    run_dir = runs.resolve_run(run_dir)
    return runs.atomic_write_text(run_dir / REPORT, run_report_markdown(load_run(run_dir)))


# ----------------------------------------------------------------------------- many runs: a summary


def natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def find_runs(paths) -> tuple[list[Path], list[Path]]:
    """(run directories, failed sweep jobs) named by `paths`, each a run or searched recursively; finding
    no run is an error."""
    if not paths:
        if not runs.LATEST.exists():
            raise UserError("no path given and outputs/latest does not exist: name a run or sweep directory")
        paths = [runs.LATEST]
    found: dict[Path, None] = {}
    failed: dict[Path, None] = {}
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise UserError(f"{given}: no such directory")
        if not path.is_dir():
            raise UserError(f"{given}: not a directory")
        here = []
        if is_run_dir(path):
            here.append(path.resolve())
        else:
            for root, dirs, _ in os.walk(path):
                if is_run_dir(Path(root)):
                    here.append(Path(root).resolve())
                    dirs[:] = []
                elif is_failed_job(Path(root)):
                    failed[Path(root).resolve()] = None
                    dirs[:] = []
                else:
                    dirs[:] = [d for d in dirs if d not in NOT_RUNS]
        if not here:
            also = f"; {len(failed)} failed sweep job(s) with error.json" if failed else ""
            raise UserError(
                f"{given}: no runs found (a run directory holds {runs.CONFIG} and {runs.CHECKPOINT}){also}"
            )
        found.update(dict.fromkeys(sorted(here, key=natural_key)))
    return list(found), sorted(failed, key=natural_key)


def higher_is_better(metric: str) -> bool:
    return metric.endswith(("/error_ratio", "/delta_ratio"))


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
class Summary:
    runs: list[RunResult]
    labels: list[str]
    root: Path
    columns: list[str]
    stats: dict[str, Stat]
    best_metric: str | None = None
    best_index: int | None = None
    failed: list[Path] = field(default_factory=list)

    @property
    def best_run(self) -> RunResult | None:
        return self.runs[self.best_index] if self.best_index is not None else None

    def varying_overrides(self) -> tuple[list[str], list[list[str]]]:
        """(overrides common to every run, each run's other overrides)."""
        common = set(self.runs[0].overrides)
        for run in self.runs[1:]:
            common &= set(run.overrides)
        common_list = [o for o in self.runs[0].overrides if o in common] if len(self.runs) > 1 else []
        return common_list, [[o for o in run.overrides if o not in common_list] for run in self.runs]

    def key_columns(self, full: bool = False) -> list[str]:
        """The per-run table's metric columns: all of them, or (terminal) the final loss and
        reconstruction loss, each intervention's error ratio and the metric that picks the best run."""
        if full:
            return list(self.columns)
        keep = [c for c in self.columns if c in ("loss", "recon") or c.endswith("/error_ratio")]
        if self.best_metric and self.best_metric not in keep:
            keep.append(self.best_metric)
        return keep

    def best_line(self) -> str:
        if self.best_run is None:
            return ""
        metric = self.best_metric
        direction = "higher" if higher_is_better(metric) else "lower"
        value = self.best_run.metrics()[metric]
        return (
            f"Best run by {metric} ({direction} is better): {self.labels[self.best_index]} "
            f"= {number(value)} ({self.best_run.path})"
        )

    def lines(self) -> list[str]:
        """What follows the tables: the best run, and the failed sweep jobs left out."""
        lines = [self.best_line()] if self.best_run is not None else []
        if self.failed:
            lines.append(f"Left out {len(self.failed)} failed sweep job(s) (see error.json): " + ", ".join(str(p) for p in self.failed))
        return lines

    def tables(self, link_from: Path | None = None, full: bool = False) -> list[TextTable]:
        """The across-runs table and the per-run table (`full`: every metric column); with `link_from`
        (a folder), run names link to each run's report.md relative to it."""
        n = len(self.runs)
        across = TextTable(
            f"Across {n} run{'s' if n != 1 else ''} under {self.root}",
            ["metric", "better", "mean ± std", "min", "max", "runs"],
            [
                [f"`{c}`", "higher" if higher_is_better(c) else "lower", s.mean_text(), number(s.min), number(s.max), str(s.n)]
                for c, s in self.stats.items()
            ],
            align=["l", "l", "r", "r", "r", "r"],
            note=(
                f"Losses: mean of the last {FINAL_SHARE:.0%} of each run's steps"
                + ("; KIND/max, KIND/mean: per-colour error under that intervention; error_ratio, delta_ratio: its "
                   "selectivity (on-target over off-target damage)" if any("/" in c for c in self.columns) else "")
                + ("; ± sample standard deviation over runs." if n > 1 else ".")
            ),
        )
        common, own = self.varying_overrides()
        columns = self.key_columns(full)
        rows = []
        for index, run in enumerate(self.runs):
            label = escape(self.labels[index])
            report = run.path / REPORT
            if link_from is not None and report.is_file():
                label = f"[{label}]({Path(os.path.relpath(report, link_from)).as_posix()})"
            if index == self.best_index:
                label += " ★"
            metrics = run.metrics()
            rows.append([label, escape(" ".join(own[index])) or "–", *(number(metrics.get(c)) for c in columns)])
        note = f"Overrides of every run: {' '.join(common)}. " if common else ""
        if self.best_index is not None:
            note += f"★ best by {self.best_metric}."
        per_run = TextTable(
            "Per run", ["run", "overrides", *[f"`{c}`" for c in columns]], rows,
            align=["l", "l", *["r"] * len(columns)], note=note.strip(),
        )
        return [across, per_run]

    def markdown(self, link_from: Path) -> str:
        across, per_run = self.tables(link_from, full=True)
        parts = [f"# Summary of {len(self.runs)} run{'s' if len(self.runs) != 1 else ''}\n",
                 across.markdown("##"), per_run.markdown("##")]
        if self.best_run is not None:
            parts.append(f"**{escape(self.best_line())}**\n")
        parts += [f"{escape(line)}\n" for line in self.lines()[1 if self.best_run is not None else 0:]]
        return "\n".join(parts)


def resolve_best(best: str | None, columns: list[str]) -> str | None:
    """The metric column `--best` names; `selectivity`: the repulsion (else suppression, else another
    intervention's) error ratio. Default: selectivity when interventions were evaluated, else `loss`."""
    ratios = [c for c in columns if c.endswith("/error_ratio")]
    if best is None:
        if ratios:
            best = "selectivity"
        elif "loss" in columns:
            return "loss"
        else:
            return None
    name = best.removeprefix("train/")
    if name == "selectivity":
        for choice in ("repulsion/error_ratio", "suppression/error_ratio", *ratios):
            if choice in columns:
                return choice
        raise UserError("--best selectivity: no run has an intervention evaluated (excolor run, or excolor intervene)")
    if name not in columns:
        raise UserError(f"--best {best}: unknown metric; metrics: {', '.join(columns)}, selectivity")
    return name


def summarise(paths, best: str | None = None) -> Summary:
    """Read every run under `paths` and summarise its final losses and intervention metrics."""
    found, failed = find_runs(paths)
    results = [load_run(p) for p in found]
    seen: dict[str, None] = {}
    for result in results:
        seen.update(dict.fromkeys(result.metrics()))
    kinds = kind_order({c.split("/")[0] for c in seen if "/" in c})
    ordered = [c for c in seen if "/" not in c] + [
        f"{k}/{m}" for k in kinds for m in ("max", "mean", "error_ratio", "delta_ratio") if f"{k}/{m}" in seen
    ]
    stats = {c: Stat.of([r.metrics().get(c, math.nan) for r in results]) for c in ordered}
    root = Path(os.path.commonpath(found)) if len(found) > 1 else found[0]
    labels = [Path(os.path.relpath(p, root)).as_posix() if len(found) > 1 else p.name for p in found]
    summary = Summary(results, labels, root, ordered, stats, failed=failed)
    metric = resolve_best(best, ordered)
    if metric is not None:
        values = [r.metrics().get(metric, math.nan) for r in results]
        finite = [(v, i) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
        if not finite:
            raise UserError(f"--best {best or metric}: no run has a value for {metric}")
        summary.best_metric = metric
        summary.best_index = (max if higher_is_better(metric) else min)(finite)[1]
    return summary


def write_summary(summary: Summary, output: str | Path) -> Path:
    output = Path(output)
    if output.is_dir():
        raise UserError(f"--output {output}: is a directory; name a file, e.g. {output / 'summary.md'}")
    return runs.atomic_write_text(output, summary.markdown(output.resolve().parent))


def report(paths, best: str | None = None, output: str | Path | None = None, run_reports: bool = False):
    """`excolor report`: the summary of the runs under `paths`, written as Markdown to `output` if given,
    and each run's report.md (re)written with `run_reports`. Returns (summary, files written)."""
    summary = summarise(paths, best)
    written = [write_run_report(r.path) for r in summary.runs] if run_reports else []
    if output is not None:
        written.append(write_summary(summary, output))
    return summary, written
