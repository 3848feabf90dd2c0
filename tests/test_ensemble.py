"""Seeds trained together (`excolor train --seeds`): the same weights and metrics as one run per seed."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from ex_color import runs
from ex_color.config import compose
from ex_color.ensemble import StackedColorMLP
from ex_color.errors import RunFailed, UserError
from ex_color.losses import RegularizerSet
from ex_color.model import ColorMLP
from ex_color.tasks.report import summarise
from ex_color.tasks.train import build_parts, train
from ex_color.tasks.train_seeds import parse_seeds, train_seeds

from conftest import EXCOLOR, excolor

LONG_SHEET = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n0,Train,,0.01,0.01,0.05,0.1,0.02,1\n6000,,,0.005,,,,,\n"


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return runs.load_checkpoint(run_dir)["state_dict"]


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5") == [5]
    assert parse_seeds("0,3, 9") == [0, 3, 9]
    assert parse_seeds("0-1,10-11") == [0, 1, 10, 11]
    for bad, words in [("3-1", "runs backwards"), ("a", "'a' is not a seed"), ("1,1", "seed 1 appears twice"), ("0-", "'0-'")]:
        with pytest.raises(UserError, match=words):
            parse_seeds(bad)


def test_stacked_model_computes_what_each_model_computes():
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(ColorMLP(bottleneck=4, hidden=16))
    stacked = StackedColorMLP(models)
    rgb = torch.rand(3, 64, 3)
    output, captured = stacked.forward(rgb, capture=("encoder", "encoder.1"))
    for index, model in enumerate(models):
        assert torch.equal(output[index], model(rgb[index]))
        assert torch.equal(captured["encoder"][index], model.encoder(rgb[index]))
        assert torch.equal(captured["encoder.1"][index], model.encoder[1](model.encoder[0](rgb[index])))
        restored = stacked.model(index)
        assert all(torch.equal(a, b) for a, b in zip(restored.state_dict().values(), model.state_dict().values()))


def test_regularizers_of_a_stack_are_each_batch_alone():
    cfg = compose("train", ["experiment=smoke"])
    parts = build_parts(cfg, warn=False)
    regularizers = RegularizerSet(parts.regularizers, parts.batches.label_names)
    active = tuple(range(len(regularizers.names)))
    z = torch.randn(4, 64, 4, requires_grad=True)
    labels = (torch.rand(4, 64, 2) < 0.3).float()
    values = regularizers.evaluate({"encoder": z}, labels, active)
    values.sum().backward()
    for index in range(4):
        alone = z[index].detach().clone().requires_grad_()
        value = regularizers.evaluate({"encoder": alone}, labels[index], active)
        value.sum().backward()
        assert torch.equal(value, values[index].detach())
        assert torch.equal(alone.grad, z.grad[index])


def without_unit_columns(tmp_path: Path) -> Path:
    from ex_color.paths import resolve_dopesheet

    rows = [line.split(",") for line in resolve_dopesheet("dopesheets/smoke.csv").read_text().splitlines()]
    keep = [i for i, name in enumerate(rows[0]) if name not in ("reg-unit", "reg-unit-v")]
    path = tmp_path / "smoke-2.4.csv"
    path.write_text("\n".join(",".join(row[i] for i in keep) for row in rows) + "\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["ex-2.2", "normalized", "odd widths"])
def test_each_seed_gets_exactly_the_weights_and_metrics_of_its_single_run(tmp_path, variant):
    overrides = ["experiment=smoke"]
    if variant == "odd widths":  # shapes for which the CPU BLAS's batched products round differently
        overrides += ["model.hidden=7", "model.bottleneck=5"]
    if variant == "normalized":
        overrides += ["model=color-mlp-norm", "regularizers=ex-2.4", f"dopesheet={without_unit_columns(tmp_path)}"]
    seeds = [0, 1, 7]
    together = train_seeds(compose("train", overrides), seeds, tmp_path / "together")
    for seed in seeds:
        single = train(compose("train", [*overrides, f"seed={seed}"]), tmp_path / f"single-{seed}")
        member = together / f"seed-{seed}"
        a, b = weights(single), weights(member)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f"seed {seed}"
        assert (single / "metrics.csv").read_text() == (member / "metrics.csv").read_text()
        assert runs.load_config(member).seed == seed
        assert (member / "dopesheet.csv").read_text() == (single / "dopesheet.csv").read_text()


@pytest.mark.slow
def test_batch_sizes_off_multiples_of_32_agree_with_single_runs_to_rounding(tmp_path, caplog):
    # Batch 50 puts some of a member's elements where a single run's CPU kernels use scalar code.
    overrides = ["experiment=smoke", "data.batch_size=50"]
    together = train_seeds(compose("train", overrides), [0, 1], tmp_path / "together")
    assert "data.batch_size=50 is not a multiple of 32: the seeds agree with their single runs to rounding" in caplog.text
    for seed in (0, 1):
        a = weights(train(compose("train", [*overrides, f"seed={seed}"]), tmp_path / f"single-{seed}"))
        b = weights(together / f"seed-{seed}")
        assert all(torch.allclose(a[k], b[k], rtol=0, atol=1e-4) for k in a)


def test_a_seed_that_goes_non_finite_fails_alone(tmp_path, monkeypatch):
    original = StackedColorMLP.__init__

    def poisoned(self, models):
        original(self, models)
        with torch.no_grad():
            self.parameters["encoder.0.bias"][1] = float("nan")  # member 1: seed 5

    monkeypatch.setattr(StackedColorMLP, "__init__", poisoned)
    with pytest.raises(RunFailed, match=r"1 of 3 seeds failed \(seed 5: regularizer .* became non-finite at step 0\); the others finished"):
        train_seeds(compose("train", ["experiment=smoke"]), [4, 5, 6], tmp_path / "together")
    failed = json.loads((tmp_path / "together" / "seed-5" / "error.json").read_text())
    assert failed["seed"] == 5 and failed["exit_code"] == 1
    assert not (tmp_path / "together" / "seed-5" / runs.CHECKPOINT).exists()
    for seed in (4, 6):
        assert all(torch.isfinite(w).all() for w in weights(tmp_path / "together" / f"seed-{seed}").values())
        assert len((tmp_path / "together" / f"seed-{seed}" / "metrics.csv").read_text().splitlines()) == 302
    summary = summarise([tmp_path / "together"])
    assert [r.path.name for r in summary.runs] == ["seed-4", "seed-6"]
    assert [p.name for p in summary.failed] == ["seed-5"]


@pytest.mark.slow
def test_cli_trains_seeds_into_run_directories_that_report_and_intervene_read(tmp_path):
    result = excolor("train", "--seeds", "0,2", "experiment=smoke", cwd=tmp_path)
    root = Path(result.stdout.strip().splitlines()[-1].removeprefix("run directory: "))
    assert (tmp_path / "outputs" / "latest").resolve() == root
    assert sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) == ["seed-0", "seed-2"]
    for seed in (0, 2):
        member = root / f"seed-{seed}"
        assert runs.resolve_run(member) == member
        assert (member / ".hydra" / "overrides.yaml").read_text().split() == ["-", "experiment=smoke", "-", f"seed={seed}"]
    report = excolor("report", cwd=tmp_path)
    assert "seed=0" in report.stdout and "seed=2" in report.stdout
    excolor("intervene", "--kind", "suppression", "--run", str(root / "seed-2"), cwd=tmp_path)
    assert (root / "seed-2" / "interventions" / "suppression" / "metrics.json").is_file()


@pytest.mark.parametrize(
    "args,words",
    [
        (["--seeds", "0-1", "seed=3"], "--seeds and seed=..."),
        (["--seeds", "2-1"], "runs backwards"),
        (["--seeds", "0-1", "logger=wandb"], "logger.wandb: --seeds writes metrics.csv only"),
        (["--seeds", "0-1", "optimizer._target_=torch.optim.LBFGS"], "LBFGS cannot train seeds together"),
        (["--seeds", "0-1", "+trainer.gradient_clip_val=1.0"], "trainer.gradient_clip_val"),
        (["--seeds", "0-1", "--resume", "somewhere"], "cannot resume"),
    ],
)
def test_cli_refuses_what_seeds_together_cannot_do_in_one_line(tmp_path, args, words):
    result = excolor("train", *args, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"excolor: error: {result.stderr.strip().removeprefix('excolor: error: ')}"]
    assert words in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("seed-*"))


@pytest.mark.slow
def test_interrupted_ensemble_leaves_nothing_behind(tmp_path):
    (tmp_path / "long.csv").write_text(LONG_SHEET)
    process = subprocess.Popen(
        [*EXCOLOR, "train", "--seeds", "0-1", "experiment=smoke", "dopesheet=long.csv", "hydra.run.dir=together"],
        cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    first_rows = tmp_path / "together" / "seed-1" / "metrics.csv"
    deadline = time.monotonic() + 120
    while not first_rows.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "SIGINT at step" in stderr.strip().splitlines()[-1] and "nothing was kept" in stderr
    assert not (tmp_path / "together").exists()
    assert not (tmp_path / "outputs" / "latest").exists()


@pytest.mark.slow
def test_a_sweep_trains_each_job_s_seeds_together(tmp_path):
    excolor("train", "-m", "--seeds", "0-1", "experiment=smoke", "model.bottleneck=4,5", "hydra.sweep.dir=sweep", cwd=tmp_path)
    members = sorted(p.relative_to(tmp_path / "sweep").as_posix() for p in (tmp_path / "sweep").glob("*/seed-*"))
    assert members == ["0/seed-0", "0/seed-1", "1/seed-0", "1/seed-1"]
    assert runs.load_config(tmp_path / "sweep" / "1" / "seed-1").model.bottleneck == 5
    report = excolor("report", "sweep", cwd=tmp_path).stdout
    assert "model.bottleneck=5 seed=1" in report


@pytest.mark.slow
def test_run_with_seeds_evaluates_each_seed_and_summarises_them(tmp_path):
    result = excolor("run", "--seeds", "0-1", "experiment=smoke", "interventions=[none,suppression]", cwd=tmp_path)
    root = Path(result.stdout.strip().splitlines()[-1].removeprefix("run directory: "))
    for seed in (0, 1):
        member = root / f"seed-{seed}"
        assert (member / "report.md").is_file()
        assert json.loads((member / "interventions" / "suppression" / "metrics.json").read_text())["selectivity"]
        assert {p.name for p in (member / "figures").glob("*.png")} >= {"colors.png", "error.png", "latents.png", "training.png"}
    summary = (root / "summary.md").read_text()
    assert summary.startswith("# Summary of 2 runs") and "seed=0" in summary and "seed=1" in summary
    assert (tmp_path / "outputs" / "latest").resolve() == root


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_seeds_on_gpu_without_cuda_is_a_one_line_error(tmp_path):
    result = excolor("train", "--seeds", "0-1", "experiment=smoke", "trainer.accelerator=gpu", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "excolor: error: trainer.accelerator=gpu: no CUDA device is available"


def test_report_finds_the_finished_seeds_of_a_failed_sweep_job(tmp_path, smoke_run):
    # A sweep job of `excolor train -m --seeds ...` where one seed failed: error.json for the job and
    # for the seed, and the other seeds' runs.
    import shutil

    job = tmp_path / "sweep" / "0"
    (job / "seed-1").mkdir(parents=True)
    shutil.copytree(smoke_run, job / "seed-0", ignore=shutil.ignore_patterns("interventions", "figures"))
    (job / "error.json").write_text('{"job": 0, "message": "1 of 2 seeds failed", "exit_code": 1}')
    (job / "seed-1" / "error.json").write_text('{"seed": 1, "message": "non-finite", "exit_code": 1}')
    summary = summarise([tmp_path / "sweep"])
    assert [r.path for r in summary.runs] == [(job / "seed-0").resolve()]
    assert [p.relative_to(tmp_path.resolve()).as_posix() for p in summary.failed] == ["sweep/0", "sweep/0/seed-1"]
