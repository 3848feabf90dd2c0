"""Sweeps on a real single-node SLURM cluster (scripts/local-slurm.sh: munge, slurmctld, slurmd), through
the real CLI and the `submitit_slurm` launcher: same bits as joblib, failures isolated, quiet without
accounting, and requeued jobs that resume from their checkpoint, bit-identical to uninterrupted ones.

The cluster is started once (both test workers share it) where the machine allows it: root, with the
packages installed (`.ci/run` installs them with `scripts/local-slurm.sh start`). Elsewhere these tests
skip, saying why in one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ex_color.launch import slurm
from ex_color.runs import CHECKPOINT, CONFIG

from conftest import EXCOLOR, REPO, assert_same_run, excolor

pytestmark = pytest.mark.slow

SCRIPT = REPO / "scripts" / "local-slurm.sh"
CLUSTER_DIR = Path(os.environ.get("EXCOLOR_SLURM_DIR", "/tmp/excolor-slurm"))
SLURM = "hydra/launcher=submitit_slurm"
LONG_SHEET = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n0,Train,,0.01,0.01,0.05,0.1,0.02,1\n3000,,,0.005,,,,,\n"


def _why_no_cluster() -> str | None:
    """None when a local cluster is up (started here if need be), else why the SLURM tests skip."""
    missing = [name for name in ("munged", "slurmctld", "slurmd", "sbatch") if shutil.which(name) is None]
    if missing:
        return (
            f"SLURM tests skipped: {', '.join(missing)} not installed "
            "(`sudo scripts/local-slurm.sh start` installs them from Debian's packages)"
        )
    env = {**os.environ, "EXCOLOR_SLURM_DIR": str(CLUSTER_DIR)}
    if os.geteuid() == 0:
        result = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, env=env, timeout=120)
    else:
        result = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True, text=True, env=env, timeout=60)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return f"SLURM tests skipped: no local cluster ({last})"
    return None


@pytest.fixture(scope="session")
def cluster() -> dict:
    """The environment that points sbatch/squeue/scontrol at the local cluster."""
    reason = _why_no_cluster()
    if reason is not None:
        pytest.skip(reason)
    return {"SLURM_CONF": str(CLUSTER_DIR / "slurm.conf")}


def test_a_slurm_sweep_equals_joblib_bit_for_bit_and_warns_once(cluster, tmp_path):
    args = ["train", "-m", "experiment=smoke", "seed=0,1"]
    result = excolor(*args, SLURM, "hydra.sweep.dir=slurm", cwd=tmp_path, env=cluster)
    excolor(*args, "hydra/launcher=joblib", "hydra.sweep.dir=joblib", cwd=tmp_path)
    for job in ("0", "1"):
        assert_same_run(tmp_path / "slurm" / job, tmp_path / "joblib" / job)
        assert (tmp_path / "slurm" / job / CONFIG).read_text() == (tmp_path / "joblib" / job / CONFIG).read_text()
    assert sorted(p.name for p in (tmp_path / "slurm").iterdir()) == [".submitit", "0", "1", "multirun.yaml"]

    # No accounting on this cluster (as on many): one line says so, not three lines on every poll.
    output = result.stdout + result.stderr
    assert output.count("sacct failed (Slurm accounting storage is disabled)") == 1, output
    assert "Bypassing sacct error" not in output and "Slurm accounting storage is disabled\n" not in result.stderr

    report = excolor("report", "slurm", cwd=tmp_path)
    assert "Across 2 runs" in report.stdout and "seed=0" in report.stdout and "seed=1" in report.stdout

    # The same sweep directory again: refused before anything is submitted, nothing overwritten.
    before = (tmp_path / "slurm" / "0" / "metrics.csv").read_text()
    again = excolor(*args, SLURM, "hydra.sweep.dir=slurm", cwd=tmp_path, env=cluster, check=False)
    assert again.returncode == 2, again.stderr
    assert again.stderr.strip().splitlines()[-1] == (
        "excolor: error: sweep job slurm/0: already holds a run (finished, 301 steps); "
        "replace it with: excolor train -m --overwrite ...; or choose another directory"
    )
    assert (tmp_path / "slurm" / "0" / "metrics.csv").read_text() == before

    # A setting SLURM refuses: its reason in one line, exit 2 (not a traceback, not sbatch's lines twice).
    refused = excolor(
        *args, SLURM, "hydra.launcher.partition=nosuch", "hydra.sweep.dir=other", cwd=tmp_path, env=cluster, check=False
    )
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        "excolor: error: sbatch refused the sweep: invalid partition specified: nosuch; "
        "Batch job submission failed: Invalid partition name specified"
    ], refused.stderr


def test_a_run_sweep_on_slurm_isolates_a_failing_job_and_reports(cluster, tmp_path):
    (tmp_path / "ok.csv").write_text("STEP,PHASE,ACTION,lr\n0,Train,,0.01\n50,,,0.01\n")
    (tmp_path / "boom.csv").write_text("STEP,PHASE,ACTION,lr\n0,Train,,1e30\n50,,,1e30\n")
    result = excolor(
        "run",
        "-m",
        "experiment=smoke",
        "regularizers=none",
        "interventions=[none,suppression]",
        f"dopesheet={tmp_path / 'ok.csv'},{tmp_path / 'boom.csv'}",
        SLURM,
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        env=cluster,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("excolor: error: 1 of 2 sweep jobs failed (job 1)")
    sweep = tmp_path / "sweep"
    failure = json.loads((sweep / "1" / "error.json").read_text())
    assert failure["exit_code"] == 1 and "non-finite" in failure["message"]
    assert (sweep / "0" / "report.md").is_file()
    assert (sweep / "0" / "interventions" / "suppression" / "metrics.json").is_file()
    report = excolor("report", "sweep", cwd=tmp_path)
    assert "Across 1 run" in report.stdout and "Left out 1 failed sweep job" in report.stdout
    assert "suppression/error_ratio" in report.stdout


def test_a_seeds_sweep_on_slurm(cluster, tmp_path):
    excolor(
        "train",
        "-m",
        "--seeds",
        "0-1",
        "experiment=smoke",
        "model.bottleneck=4,5",
        SLURM,
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        env=cluster,
    )
    excolor("train", "--seeds", "0-1", "experiment=smoke", "model.bottleneck=5", "hydra.run.dir=local", cwd=tmp_path)
    members = sorted(p.relative_to(tmp_path / "sweep").as_posix() for p in (tmp_path / "sweep").glob("*/seed-*"))
    assert members == ["0/seed-0", "0/seed-1", "1/seed-0", "1/seed-1"]
    for seed in ("seed-0", "seed-1"):  # the job trained its seeds as they train on this machine
        assert (tmp_path / "sweep" / "1" / seed / "metrics.csv").read_text() == (
            tmp_path / "local" / seed / "metrics.csv"
        ).read_text()
    report = excolor("report", "sweep", cwd=tmp_path)
    assert "Across 4 runs" in report.stdout


def _requeued_sweep(tmp_path: Path, cluster: dict, extra: list[str], how: str, checkpoint: Path):
    """Start a one-job sweep, requeue it (scontrol requeue, or submitit's preemption signal USR2) once its
    first checkpoint exists, and wait for it; returns (result, seconds from the requeue to the resume)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **cluster}
    args = [
        "train",
        "-m",
        *extra,
        "experiment=smoke",
        "dopesheet=long.csv",
        "trainer.checkpoint_every=200",
        SLURM,
        "hydra.sweep.dir=sweep",
    ]
    process = subprocess.Popen(
        [*EXCOLOR, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 180
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.poll() is None, process.communicate()
    jobs = {p.name.split("_")[0] for p in (tmp_path / "sweep" / ".submitit").iterdir() if p.name[0].isdigit()}
    assert len(jobs) == 1, jobs
    jobs = sorted(jobs)
    requeued_at = time.time()
    if how == "requeue":
        subprocess.run(["scontrol", "requeue", jobs[0]], env=env, check=True)
    else:
        subprocess.run(["scancel", "--signal=USR2", jobs[0]], env=env, check=True)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout + stderr
    return stdout + stderr, requeued_at


def _resumed(log: Path, requeued_at: float) -> tuple[int, float]:
    """(the step the requeued attempt resumed from, seconds from the requeue to that line)."""
    import datetime

    for line in log.read_text().splitlines():
        if "resuming from step" in line:
            stamp = datetime.datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            return int(line.split("resuming from step ")[1].split()[0]), stamp - requeued_at
    raise AssertionError(f"no 'resuming from step' in {log}:\n{log.read_text()}")


@pytest.mark.parametrize("how", ["requeue", "usr2"])
def test_a_requeued_job_resumes_from_its_checkpoint_bit_identical(cluster, tmp_path, how):
    (tmp_path / "long.csv").write_text(LONG_SHEET)
    _, requeued_at = _requeued_sweep(tmp_path, cluster, ["seed=0"], how, tmp_path / "sweep" / "0" / CHECKPOINT)
    step, seconds = _resumed(tmp_path / "sweep" / "0" / "train.log", requeued_at)
    print(f"requeued job ({how}) resumed from step {step} after {seconds:.1f} s")
    assert 0 < step < 3001
    excolor(
        "train",
        "experiment=smoke",
        "dopesheet=long.csv",
        "trainer.checkpoint_every=200",
        "seed=0",
        "hydra.run.dir=straight",
        cwd=tmp_path,
    )
    assert_same_run(tmp_path / "sweep" / "0", tmp_path / "straight")
    assert len((tmp_path / "sweep" / "0" / "metrics.csv").read_text().splitlines()) == 3002  # no step twice


def test_a_requeued_seeds_job_resumes_bit_identical(cluster, tmp_path):
    (tmp_path / "long.csv").write_text(LONG_SHEET)
    _, requeued_at = _requeued_sweep(
        tmp_path, cluster, ["--seeds", "0-1"], "requeue", tmp_path / "sweep" / "0" / "seed-1" / CHECKPOINT
    )
    step, _ = _resumed(tmp_path / "sweep" / "0" / "train.log", requeued_at)
    assert 0 < step < 3001
    assert not list((tmp_path / "sweep").rglob("error.json"))
    excolor(
        "train",
        "--seeds",
        "0-1",
        "experiment=smoke",
        "dopesheet=long.csv",
        "trainer.checkpoint_every=200",
        "hydra.run.dir=straight",
        cwd=tmp_path,
    )
    for seed in ("seed-0", "seed-1"):
        assert_same_run(tmp_path / "sweep" / "0" / seed, tmp_path / "straight" / seed)


def test_what_a_requeued_job_does_with_its_directory(smoke_run, tmp_path):
    config = (smoke_run / CONFIG).read_text()
    assert slurm.plan_job(tmp_path / "empty", config, restarts=1).action == "start"
    finished = slurm.plan_job(smoke_run, config, restarts=1)
    assert (finished.action, finished.step, finished.length) == ("finished", 301, 301)
    other = slurm.plan_job(smoke_run, config.replace("seed: 0", "seed: 7"), restarts=1)
    assert other.action == "refuse" and other.message.endswith(
        "of another config; the requeued job does not overwrite it"
    )
    fresh = slurm.plan_job(smoke_run, config, restarts=0)  # not a restart: a new job never writes over a run
    assert fresh.action == "refuse" and "choose another hydra.sweep.dir" in fresh.message
