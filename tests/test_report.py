"""`summarise` and `write_run_report` on run directories made by hand (no training): statistics, the best
run in the right direction, what counts as a run, and the errors."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ex_color.errors import UserError
from ex_color.evaluation.schema import (
    CubeShape,
    ErrorSummary,
    InterventionMetrics,
    NamedColorError,
    Selectivity,
)
from ex_color.reports.results import final_losses
from ex_color.reports.run_report import write_run_report
from ex_color.tasks.report import find_runs, summarise, write_summary


def make_run(path: Path, seed: int, loss: float, ratio: float | None = None, steps: int = 200) -> Path:
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "config.yaml").write_text(
        f"name: demo\nseed: {seed}\ndopesheet: dopesheets/smoke.csv\nmodel: {{bottleneck: 4, hidden: 16, normalize: false}}\n"
    )
    (path / ".hydra" / "overrides.yaml").write_text(f"- experiment=smoke\n- seed={seed}\n")
    (path / "checkpoints").mkdir()
    (path / "checkpoints" / "last.ckpt").write_bytes(b"")
    rows = ["step,train/loss,train/lr,train/recon"]
    for step in range(steps):
        # the last 2 steps (1% of 200) average to `loss`
        value = loss + (0.001 if step == steps - 1 else -0.001 if step == steps - 2 else 1.0)
        rows.append(f"{step},{value},0.01,{value / 2}")
    (path / "metrics.csv").write_text("\n".join(rows) + "\n")
    if ratio is not None:
        for kind, r in (("none", 1.5), ("repulsion", ratio)):
            folder = path / "interventions" / kind
            folder.mkdir(parents=True)
            metrics = InterventionMetrics(
                run=str(path),
                intervention={"kind": kind},
                eval_cube=CubeShape(48, 12, 12),
                baseline=ErrorSummary(max=0.02, mean=0.002, median=0.001),
                intervened=ErrorSummary(max=0.5 * r, mean=0.01 * r, median=0.01),
                named_colors={"red": NamedColorError(rgb=[1, 0, 0], baseline=0.01, intervened=0.1, delta=0.09)},
                selectivity=Selectivity(
                    target_hue=0.0,
                    target_color="red",
                    on_target_mean_error=0.1,
                    off_target_mean_error=0.02,
                    error_ratio=r,
                    baseline_error_ratio=1.5,
                    target_delta=0.09,
                    largest_far_delta=0.045 / r,
                    largest_far_delta_color="cyan",
                    delta_ratio=2 * r,
                ),
            )
            (folder / "metrics.json").write_text(metrics.to_json())
    return path


@pytest.fixture()
def sweep(tmp_path) -> Path:
    root = tmp_path / "multirun" / "demo" / "2026-01-01_00-00-00"
    for job, (loss, ratio) in enumerate([(0.03, 4.0), (0.01, 6.0), (0.02, 5.0)]):
        make_run(root / str(job), job, loss, ratio)
    (root / "multirun.yaml").write_text("{}\n")
    return root


def test_final_loss_is_the_mean_of_the_last_percent(tmp_path):
    run = make_run(tmp_path / "r", 0, 0.05)
    steps, window, losses = final_losses(run / "metrics.csv")
    assert (steps, window) == (200, 2)
    assert losses["loss"] == pytest.approx((0.05, 0.049, 0.051))
    assert "lr" not in losses and losses["recon"][0] == pytest.approx(0.025)


def test_summary_statistics_and_best_run_in_both_directions(sweep):
    summary = summarise([sweep])
    assert [r.path.name for r in summary.runs] == ["0", "1", "2"] and summary.labels == ["0", "1", "2"]
    stat = summary.stats["loss"]
    assert stat.n == 3 and stat.mean == pytest.approx(0.02)
    assert stat.std == pytest.approx(np.std([0.03, 0.01, 0.02], ddof=1))
    assert (stat.min, stat.max) == (pytest.approx(0.01), pytest.approx(0.03))
    assert summary.columns[:2] == ["loss", "recon"]
    assert "repulsion/error_ratio" in summary.columns and "none/error_ratio" not in summary.columns
    # Default: selectivity (higher is better) when interventions were evaluated.
    assert summary.best_metric == "repulsion/error_ratio" and summary.best_run.path.name == "1"
    assert summarise([sweep], best="loss").best_run.path.name == "1"
    assert summarise([sweep], best="repulsion/max").best_run.path.name == "0"  # errors: lower is better
    assert summarise([sweep], best="train/recon").best_metric == "recon"
    line = summary.best_line()
    assert line.startswith("Best run by repulsion/error_ratio (higher is better): 1 = 6 (")


def test_summary_tables_and_markdown(sweep, tmp_path):
    summary = summarise([sweep])
    across, per_run = summary.tables()
    assert across.headers == ["metric", "better", "mean ± std", "min", "max", "runs"]
    loss_row = next(row for row in across.rows if row[0] == "`loss`")
    assert loss_row[1] == "lower" and loss_row[2].startswith("0.02 ± 0.01")
    assert [row[0] for row in per_run.rows] == ["0", "1 ★", "2"]
    assert [row[1] for row in per_run.rows] == ["seed=0", "seed=1", "seed=2"]  # the overrides that vary
    (sweep / "1" / "report.md").write_text("# hi\n")
    out = write_summary(summary, tmp_path / "out" / "summary.md")
    text = out.read_text()
    assert "[1](../multirun/demo/2026-01-01_00-00-00/1/report.md) ★" in text
    assert (out.parent / "../multirun/demo/2026-01-01_00-00-00/1/report.md").resolve().is_file()
    assert "**Best run by repulsion/error_ratio (higher is better)" in text


def test_what_counts_as_a_run(sweep, tmp_path):
    (sweep / "0" / "checkpoints" / "last.ckpt").unlink()  # never finished a checkpoint
    (sweep / "2" / "error.json").write_text('{"job": 2, "exit_code": 1}')  # a failed sweep job
    (sweep / "1" / "wandb" / "x" / ".hydra").mkdir(parents=True)  # nothing below a run is searched
    runs, failed = find_runs([sweep])
    assert [p.name for p in runs] == ["1"] and [p.name for p in failed] == ["2"]
    summary = summarise([sweep, sweep / "1"])  # named twice: counted once
    assert len(summary.runs) == 1 and summary.labels == ["1"]
    assert any("Left out 1 failed sweep job" in line for line in summary.lines())


def test_clear_errors(sweep, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"empty: no runs found \(a run directory holds"):
        summarise([tmp_path / "empty"])
    with pytest.raises(UserError, match="nowhere: no such directory"):
        summarise([tmp_path / "nowhere"])
    with pytest.raises(UserError, match=r"--best nope: unknown metric; metrics: loss, recon, .*selectivity"):
        summarise([sweep], best="nope")
    plain = make_run(tmp_path / "plain", 0, 0.1)
    with pytest.raises(UserError, match="--best selectivity: no run has an intervention"):
        summarise([plain], best="selectivity")
    assert summarise([plain]).best_metric == "loss"
    with pytest.raises(UserError, match="is a directory"):
        write_summary(summarise([plain]), tmp_path)


def test_run_report_from_files_alone(sweep):
    path = write_run_report(sweep / "1")
    text = path.read_text()
    assert text.startswith("# demo · seed 1")
    assert "| `loss` | 0.01 | 0.009 – 0.011 |" in text
    assert "### repulsion" in text and "| on/off-target error ratio | 1.5 | 6 |" in text
    assert math.isclose(float(text.split("| [repulsion](#repulsion) | ")[1].split(" |")[0]), 3.0)


def test_metrics_json_round_trips_through_its_schema_and_names_what_is_missing(sweep):
    path = sweep / "1" / "interventions" / "repulsion" / "metrics.json"
    metrics = InterventionMetrics.load(path)
    assert metrics.kind == "repulsion" and metrics.selectivity.error_ratio == 6.0
    assert InterventionMetrics.from_dict(json.loads(metrics.to_json())) == metrics
    data = json.loads(path.read_text())
    del data["selectivity"]["delta_ratio"]
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"metrics.json: selectivity: missing key 'delta_ratio'"):
        summarise([sweep])


def test_metrics_json_without_correlation_still_reads_and_with_it_reaches_report_and_summary(sweep):
    """metrics.json written before the correlation section existed (no key at all) reads back as None; once
    present it shows in report.md's intervention section and as KIND/r2 (higher is better) in the summary."""
    from ex_color.evaluation.schema import ErrorCorrelation

    path = sweep / "1" / "interventions" / "repulsion" / "metrics.json"
    data = json.loads(path.read_text())
    data.pop("correlation", None)
    path.write_text(json.dumps(data))
    assert InterventionMetrics.load(path).correlation is None
    assert "Error against" not in write_run_report(sweep / "1").read_text()
    assert "repulsion/r2" not in summarise([sweep]).columns

    for job in ("0", "1", "2"):
        job_path = sweep / job / "interventions" / "repulsion" / "metrics.json"
        data = json.loads(job_path.read_text())
        data["correlation"] = {
            "against": "similarity",
            "power": 2.0,
            "mode": "angular",
            "anchor": [0.0, 1.0, 1.0],
            "r": [0.8, 0.85, 0.9][int(job)],
            "r2": [0.8, 0.85, 0.9][int(job)] ** 2,
        }
        job_path.write_text(json.dumps(data))
    metrics = InterventionMetrics.load(path)
    assert metrics.correlation == ErrorCorrelation("similarity", 2.0, "angular", [0.0, 1.0, 1.0], 0.85, 0.85**2)
    assert InterventionMetrics.from_dict(json.loads(metrics.to_json())) == metrics
    text = write_run_report(sweep / "1").read_text()
    assert "**Error against similarity**" in text and "| similarity^2 to HSV (0, 1, 1), angular hue | 0.85 |" in text
    summary = summarise([sweep], best="repulsion/r2")
    assert "repulsion/r2" in summary.columns and summary.best_run.path == sweep / "2"
