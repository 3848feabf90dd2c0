"""Real training through the real CLI (smoke experiment), and the run directory it leaves."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from ex_color.config import compose
from ex_color.tasks.train import train

from conftest import excolor

pytestmark = pytest.mark.slow


def read_metrics(run_dir: Path) -> dict[str, np.ndarray]:
    with open(run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([float(r[key]) if r[key] != "" else np.nan for r in rows]) for key in rows[0]}


def test_smoke_run_directory_holds_everything(smoke_run):
    assert (smoke_run / ".hydra" / "config.yaml").is_file()
    assert (smoke_run / ".hydra" / "overrides.yaml").is_file()
    assert (smoke_run / "dopesheet.csv").read_text().startswith("STEP,PHASE,ACTION,lr")
    assert (smoke_run / "train.log").read_text().count("training smoke: 301 steps") == 1
    assert (smoke_run.parent.parent / "latest").resolve() == smoke_run.resolve()
    cfg = OmegaConf.load(smoke_run / ".hydra" / "config.yaml")
    assert cfg.name == "smoke" and cfg.model.bottleneck == 4


def test_smoke_run_loss_falls_and_every_step_is_logged(smoke_run):
    metrics = read_metrics(smoke_run)
    assert metrics["step"].tolist() == list(range(301))
    for term in ("reg-anchor", "reg-separate", "reg-planar", "reg-unit-v", "reg-unit"):
        assert f"train/{term}" in metrics
    recon = metrics["train/recon"]
    assert recon[-30:].mean() < 0.5 * recon[:30].mean()
    assert metrics["train/lr"][0] == pytest.approx(1e-8) and metrics["train/lr"][5] == pytest.approx(0.01)


def test_checkpoint_restores_model_and_schedule_position(smoke_run):
    checkpoint = torch.load(smoke_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["global_step"] == 301
    assert checkpoint["excolor"]["schedule_step"] == 301
    assert checkpoint["excolor"]["model"] == {
        "_target_": "ex_color.model.ColorMLP",
        "bottleneck": 4,
        "hidden": 16,
        "normalize": False,
        "sigmoid": True,
        "nonlinear_layers": 1,
        "inputs": 3,
    }
    assert "model.encoder.0.weight" in checkpoint["state_dict"]
    assert checkpoint["optimizer_states"][0]["state"]


def test_same_seed_gives_same_weights_and_metrics(tmp_path):
    cfg = compose("train", ["experiment=smoke", "dopesheet=dopesheets/smoke.csv"])
    first = train(cfg, run_dir=tmp_path / "a")
    second = train(cfg, run_dir=tmp_path / "b")
    a = torch.load(first / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    b = torch.load(second / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (first / "metrics.csv").read_text() == (second / "metrics.csv").read_text()


def test_hydra_run_dir_override_and_final_line(tmp_path):
    result = excolor("train", "experiment=smoke", f"hydra.run.dir={tmp_path / 'mine'}", "seed=3", cwd=tmp_path)
    assert result.stdout.strip().splitlines()[-1] == f"run directory: {tmp_path / 'mine'}"
    assert OmegaConf.load(tmp_path / "mine" / ".hydra" / "config.yaml").seed == 3
    assert (tmp_path / "outputs" / "latest").resolve() == (tmp_path / "mine").resolve()


def test_dead_dopesheet_column_stops_before_training(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("STEP,PHASE,ACTION,lr,reg-polar\n0,Train,,0.01,1.0\n20,,,0.01,\n")
    result = excolor("train", "experiment=smoke", f"dopesheet={sheet}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "reg-polar" in result.stderr and "reg-anchor" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "outputs" / "latest").exists()


def test_dead_dopesheet_columns_are_accepted_with_one_warning_when_asked(tmp_path):
    """dopesheet_unknown_columns=warn (experiment 2.9's `reg-planar-v`): the columns naming no regularizer are
    named in one warning line and left out; the others schedule as usual. The default stays an error."""
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "STEP,PHASE,ACTION,lr,reg-polar,reg-anchor,reg-planar-v:log\n0,Train,,0.01,1.0,0.5,0.1\n20,,,0.01,,,1.0\n"
    )
    refused = excolor("train", "experiment=smoke", f"dopesheet={sheet}", cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "reg-polar" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    result = excolor(
        "train", "experiment=smoke", f"dopesheet={sheet}", "dopesheet_unknown_columns=warn", "hydra.run.dir=run",
        cwd=tmp_path,
    )  # fmt: skip
    warnings = [line for line in result.stderr.splitlines() if "name no regularizer" in line]
    assert len(warnings) == 1 and "'reg-polar', 'reg-planar-v:log'" in warnings[0], result.stderr
    assert "dopesheet_unknown_columns: warn" in warnings[0]
    assert OmegaConf.load(tmp_path / "run" / ".hydra" / "config.yaml").dopesheet_unknown_columns == "warn"
    with open(tmp_path / "run" / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 21 and "train/reg-polar" not in rows[0] and float(rows[0]["train/reg-anchor"]) >= 0


def test_malformed_dopesheet_is_one_line_with_row_and_column(tmp_path):
    sheet = tmp_path / "bad.csv"
    sheet.write_text("STEP,PHASE,ACTION,lr\n0,Train,,0.01\n+abc,,,0.02\n")
    result = excolor("train", "experiment=smoke", f"dopesheet={sheet}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line and "bad.csv" in line and "row 3" in line and "STEP" in line


def test_missing_term_column_runs_at_weight_one_and_says_so(tmp_path):
    sheet = tmp_path / "lr-only.csv"
    sheet.write_text("STEP,PHASE,ACTION,lr\n0,Train,,0.01\n20,,,0.01\n")
    result = excolor("train", "experiment=smoke", f"dopesheet={sheet}", cwd=tmp_path)
    assert result.stderr.count("runs at weight 1.0") == 5


def test_help_does_not_import_torch():
    code = "import sys; from ex_color.cli import app; sys.argv=['excolor','--help']\ntry: app()\nexcept SystemExit: pass\nassert 'torch' not in sys.modules and 'lightning' not in sys.modules, 'heavy import'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout
