"""Seeds trained together (`excolor train --seeds`): one loop for one seed or many, ordinary run directories."""

import json
from pathlib import Path

import pytest
import torch

from ex_color import runs
from ex_color.cli.hydra_entry import parse_seeds
from ex_color.config import compose
from ex_color.errors import RunFailed, UserError
from ex_color.model import ColorMLP, member_state, stack_models
from ex_color.tasks.report import summarise
from ex_color.tasks.train import train

from conftest import assert_same_run, excolor, interrupted_at_checkpoint

LONG_SHEET = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n0,Train,,0.01,0.01,0.05,0.1,0.02,1\n6000,,,0.005,,,,,\n"

# How far a member of an ensemble may drift from its single run after the smoke experiment's 301 steps:
# the same maths, rounded differently by batched kernels (README: "Seeds trained together").
MEMBER_TOLERANCE = 1e-4


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return runs.load_checkpoint(run_dir)["state_dict"]


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5") == [5]
    assert parse_seeds("0,3, 9") == [0, 3, 9]
    assert parse_seeds("0-1,10-11") == [0, 1, 10, 11]
    for bad, words in [
        ("3-1", "runs backwards"),
        ("a", "'a' is not a seed"),
        ("1,1", "seed 1 appears twice"),
        ("0-", "'0-'"),
    ]:
        with pytest.raises(UserError, match=words):
            parse_seeds(bad)


@pytest.mark.parametrize("normalize", [False, True])
def test_stacked_models_run_the_model_s_own_forward_member_by_member(normalize):
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(ColorMLP(bottleneck=5, hidden=7, normalize=normalize))
    stacked = stack_models(models)
    assert stack_models(models[:1]) is models[0]
    rgb = torch.rand(3, 64, 3)
    captured = {}
    stacked.encoder.register_forward_hook(lambda module, inputs, output: captured.__setitem__("encoder", output))
    output = stacked(rgb)
    for index, model in enumerate(models):
        torch.testing.assert_close(output[index], model(rgb[index]), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(captured["encoder"][index], model.encoder(rgb[index]), rtol=1e-6, atol=1e-6)
        state = member_state(stacked, index, 3)
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_one_seed_together_is_the_single_run_bit_for_bit(tmp_path):
    single = train(compose("train", ["experiment=smoke", "seed=3"]), tmp_path / "single")
    together = train(compose("train", ["experiment=smoke"]), tmp_path / "together", seeds=[3])
    assert_same_run(single, together / "seed-3")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["ex-2.2", "normalized", "odd widths"])
def test_each_seed_agrees_with_its_single_run_and_the_ensemble_is_deterministic(tmp_path, variant):
    overrides = ["experiment=smoke"]
    if variant == "odd widths":
        overrides += ["model.hidden=7", "model.bottleneck=5", "data.batch_size=50"]
    if variant == "normalized":
        overrides += ["model=color-mlp-norm"]
    seeds = [0, 1, 7]
    together = train(compose("train", overrides), tmp_path / "together", seeds=seeds)
    again = train(compose("train", overrides), tmp_path / "again", seeds=seeds)
    for seed in seeds:
        assert_same_run(together / f"seed-{seed}", again / f"seed-{seed}")
        single = train(compose("train", [*overrides, f"seed={seed}"]), tmp_path / f"single-{seed}")
        member = together / f"seed-{seed}"
        a, b = weights(single), weights(member)
        assert a.keys() == b.keys()
        assert max(float((a[k] - b[k]).abs().max()) for k in a) < MEMBER_TOLERANCE, f"seed {seed}"
        assert runs.load_config(member).seed == seed
        assert (member / "dopesheet.csv").read_text() == (single / "dopesheet.csv").read_text()


def test_a_seed_that_goes_non_finite_fails_alone(tmp_path, monkeypatch):
    from ex_color.training import setup as setup_module

    original = setup_module.stack_models

    def poisoned(models):
        stacked = original(models)
        if len(models) > 1:
            with torch.no_grad():
                stacked.encoder[0].bias[1] = float("nan")  # member 1: seed 5
        return stacked

    monkeypatch.setattr(setup_module, "stack_models", poisoned)  # where build_loop looks it up
    with pytest.raises(
        RunFailed, match=r"1 of 3 seeds failed \(seed 5: .* became non-finite at step 0\); the others finished"
    ):
        train(compose("train", ["experiment=smoke"]), tmp_path / "together", seeds=[4, 5, 6])
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
        assert (member / ".hydra" / "overrides.yaml").read_text().split() == [
            "-",
            "experiment=smoke",
            "-",
            f"seed={seed}",
        ]
    report = excolor("report", cwd=tmp_path)
    assert "seed=0" in report.stdout and "seed=2" in report.stdout
    excolor("intervene", "--kind", "suppression", "--run", str(root / "seed-2"), cwd=tmp_path)
    assert (root / "seed-2" / "interventions" / "suppression" / "metrics.json").is_file()


@pytest.mark.parametrize(
    "args,words",
    [
        (["--seeds", "0-1", "seed=3"], "--seeds and seed=..."),
        (["--seeds", "2-1"], "runs backwards"),
        (["--seeds", "0-1", "optimizer._target_=torch.optim.LBFGS"], "LBFGS cannot train seeds together"),
        (
            ["--seeds", "0-1", "+trainer.gradient_clip_val=1.0"],
            "trainer.gradient_clip_val: unknown key; known keys: accelerator",
        ),
        (
            ["--seeds", "0-1", "--resume", "somewhere"],
            "--resume continues a run with the config and seeds it was started with",
        ),
    ],
)
def test_cli_refuses_what_seeds_together_cannot_do_in_one_line(tmp_path, args, words):
    result = excolor("train", *args, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"excolor: error: {result.stderr.strip().removeprefix('excolor: error: ')}"
    ]
    assert words in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("seed-*"))


@pytest.mark.slow
def test_an_interrupted_ensemble_resumes_bit_for_bit(tmp_path):
    (tmp_path / "long.csv").write_text(LONG_SHEET)
    args = ["train", "--seeds", "0-2", "experiment=smoke", "dopesheet=long.csv", "trainer.checkpoint_every=500"]
    stderr = interrupted_at_checkpoint(args, tmp_path, tmp_path / "interrupted" / "seed-2" / runs.CHECKPOINT)
    last = stderr.strip().splitlines()[-1]
    assert "SIGINT at step" in last and f"excolor train --resume {tmp_path / 'interrupted'}" in last
    stopped = {
        torch.load(tmp_path / "interrupted" / f"seed-{k}" / runs.CHECKPOINT, weights_only=True)["global_step"]
        for k in range(3)
    }
    assert len(stopped) == 1 and 0 < stopped.pop() < 6001
    assert not (tmp_path / "outputs" / "latest").exists()

    resumed = excolor("train", "--resume", "interrupted", cwd=tmp_path)
    assert "resuming from step" in resumed.stderr
    assert resumed.stdout.strip().endswith(f"run directory: {tmp_path / 'interrupted'}")
    excolor(*args, "hydra.run.dir=straight", cwd=tmp_path)
    for seed in range(3):
        assert_same_run(tmp_path / "interrupted" / f"seed-{seed}", tmp_path / "straight" / f"seed-{seed}")
    assert len((tmp_path / "interrupted" / "seed-1" / "metrics.csv").read_text().splitlines()) == 6002
    again = excolor("train", "--resume", "interrupted", cwd=tmp_path, check=False)
    assert again.returncode == 2 and "already finished" in again.stderr


USER_TERM = """
from dataclasses import dataclass


@dataclass(frozen=True)
class GramSpread:
    \"\"\"Written for one batch [B, n]: pushes the batch's latents apart through z @ z.T.\"\"\"

    scale: float = 1.0

    def __call__(self, z):
        return self.scale * (z @ z.T).square().mean(-1)
"""


@pytest.mark.slow
def test_a_user_s_own_term_trains_alone_and_with_seeds_through_an_override(tmp_path):
    (tmp_path / "my_terms.py").write_text(USER_TERM)
    term = ["+regularizers.reg-x.loss._target_=my_terms.GramSpread", "+regularizers.reg-x.layers=[encoder]"]
    single = excolor("train", "experiment=smoke", *term, "hydra.run.dir=single", cwd=tmp_path)
    assert "reg-x" in single.stderr and "Traceback" not in single.stderr
    together = excolor("train", "--seeds", "0-3", "experiment=smoke", *term, "hydra.run.dir=together", cwd=tmp_path)
    assert "cannot run under torch.vmap" not in together.stderr
    for run_dir in [tmp_path / "single", *(tmp_path / "together" / f"seed-{k}" for k in range(4))]:
        header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
        assert "train/reg-x" in header
        values = [
            float(row.split(",")[header.index("train/reg-x")])
            for row in (run_dir / "metrics.csv").read_text().splitlines()[1:]
        ]
        assert len(values) == 301 and all(v == v and v >= 0 for v in values)
    a, b = weights(tmp_path / "single"), weights(tmp_path / "together" / "seed-0")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < MEMBER_TOLERANCE


@pytest.mark.slow
def test_seeds_with_wandb_make_one_wandb_run_per_seed_grouped_by_their_directory(tmp_path):
    from test_tracking import logged

    result = excolor(
        "train",
        "--seeds",
        "0-1",
        "experiment=smoke",
        "logger=wandb",
        "hydra.run.dir=together",
        cwd=tmp_path,
        env={"WANDB_MODE": "offline"},
    )
    assert "wandb: WARNING" not in result.stderr
    for seed in (0, 1):
        member = tmp_path / "together" / f"seed-{seed}"
        history, config, exit_code, _ = logged(member)
        assert exit_code == 0 and "seed" in config and "train/reg-anchor" in history
        (run_folder,) = (member / "wandb").glob("offline-run-*")
        settings = next(run_folder.glob("run-*.wandb")).read_bytes()
        assert b"together" in settings  # the group: the seeds' directory


@pytest.mark.slow
def test_tensorboard_writes_one_event_directory_per_run(tmp_path):
    excolor("train", "experiment=smoke", "logger=tensorboard", "hydra.run.dir=single", cwd=tmp_path)
    excolor("train", "--seeds", "0-1", "experiment=smoke", "logger=tensorboard", "hydra.run.dir=together", cwd=tmp_path)
    for run_dir in (tmp_path / "single", tmp_path / "together" / "seed-0", tmp_path / "together" / "seed-1"):
        (events,) = (run_dir / "tensorboard").glob("events.out.tfevents.*")
        assert events.stat().st_size > 1000
        assert (run_dir / "metrics.csv").is_file()


@pytest.mark.slow
def test_a_sweep_trains_each_job_s_seeds_together(tmp_path):
    excolor(
        "train",
        "-m",
        "--seeds",
        "0-1",
        "experiment=smoke",
        "model.bottleneck=4,5",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
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
        assert {p.name for p in (member / "figures").glob("*.png")} >= {
            "colors.png",
            "error.png",
            "latents.png",
            "training.png",
        }
    summary = (root / "summary.md").read_text()  # no score in smoke: every seed evaluated, none best
    assert summary.startswith("# smoke: 2 seeds") and "seed-0/report.md" in summary and "seed-1/report.md" in summary
    assert json.loads((root / "summary.json").read_text())["best"] is None
    assert (tmp_path / "outputs" / "latest").resolve() == root


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_seeds_on_gpu_without_cuda_is_a_one_line_error(tmp_path):
    result = excolor(
        "train", "--seeds", "0-1", "experiment=smoke", "trainer.accelerator=gpu", cwd=tmp_path, check=False
    )
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
