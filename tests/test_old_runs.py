"""Runs saved before the package layout of December 2026 still work: their configs name `_target_`s at the old
module paths (`ex_color.metrics_log.MetricsCSV`). The fixture is a real run made by `main` at 3833d0b
(`excolor train experiment=smoke history.snapshots=6 trainer.checkpoint_every=100`, interrupted at step 102)."""

import shutil
from pathlib import Path

import pytest

from conftest import excolor
from ex_color import runs

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "run-3833d0b"


def test_the_fixture_names_the_old_module_paths():
    saved = (FIXTURE / runs.CONFIG).read_text()
    assert "ex_color.metrics_log.MetricsCSV" in saved
    assert runs.load_config(FIXTURE).logger.csv._target_ == "ex_color.training.metrics_log.MetricsCSV"
    assert runs.current_target("ex_color.tracking.wandb_logger") == "ex_color.training.tracking.wandb_logger"
    assert runs.current_target("ex_color.losses.Anchor") == "ex_color.losses.Anchor"


def test_an_old_run_resumes_reports_plots_infers_and_intervenes(tmp_path):
    run = tmp_path / "old-run"
    shutil.copytree(FIXTURE, run)
    resumed = excolor("train", "--resume", str(run), cwd=tmp_path)
    assert "resuming from step 102" in resumed.stderr + resumed.stdout
    assert runs.load_checkpoint(run)["global_step"] == 301
    steps = [int(line.split(",")[0]) for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps)) and steps[-1] == 300

    report = excolor("report", str(run), cwd=tmp_path)
    assert "recon" in report.stdout
    assert excolor("plot", "training", "--run", str(run), cwd=tmp_path).stdout.strip().endswith("training.png")
    assert excolor("plot", "history", "--run", str(run), cwd=tmp_path).stdout.strip().endswith("history.png")
    inferred = excolor("infer", "red", "--run", str(run), cwd=tmp_path)
    assert "red" in inferred.stdout
    excolor("intervene", "--kind", "suppression", "--run", str(run), cwd=tmp_path)
    assert (run / "interventions" / "suppression" / "metrics.json").is_file()
