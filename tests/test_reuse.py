"""Nothing lost, through the real CLI: a directory that holds a run is refused by every command that writes
runs (train, run, a sweep's jobs, --seeds) unless replaced on purpose with --overwrite; a refusal creates,
changes and deletes nothing; values are checked before any directory exists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import excolor, interrupted_at_checkpoint, one_line_error

pytestmark = pytest.mark.slow


def contents(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` and its bytes (directories as None)."""
    return {
        str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else None) for p in sorted(directory.rglob("*"))
    }


def test_a_finished_run_is_refused_and_replaced_only_with_overwrite(tmp_path, smoke_run):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, symlinks=True)
    excolor("plot", "training", "--run", str(run), cwd=tmp_path)  # a file only the old run has
    before = contents(run)

    refused = excolor("train", "experiment=smoke", "seed=5", "hydra.run.dir=run", cwd=tmp_path, check=False)
    one_line_error(refused, "hydra.run.dir run: already holds a run (finished, 301 steps)", "excolor train --overwrite")
    assert contents(run) == before
    refused = excolor("run", "experiment=smoke", "hydra.run.dir=run", cwd=tmp_path, check=False)
    one_line_error(refused, "already holds a run", "excolor run --overwrite")
    assert contents(run) == before

    replaced = excolor("train", "experiment=smoke", "seed=5", "hydra.run.dir=run", "--overwrite", cwd=tmp_path)
    assert replaced.stdout.strip().endswith(f"run directory: {run}")
    assert "seed: 5" in (run / ".hydra" / "config.yaml").read_text()
    assert not (run / "figures").exists()  # the old run was removed first: none of its files survive
    assert (run / "train.log").read_text().count("training smoke") == 1


def test_overwrite_removes_a_run_directory_only(tmp_path):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("name: x\nseed: 0\nmodel: {}\n")
    refused = excolor("train", "experiment=smoke", "hydra.run.dir=.", "--overwrite", cwd=tmp_path, check=False)
    one_line_error(refused, "is the working directory or above it")
    assert (tmp_path / ".hydra" / "config.yaml").exists()


def test_an_unfinished_run_is_refused_naming_resume(tmp_path):
    (tmp_path / "long.csv").write_text("STEP,PHASE,ACTION,lr\n0,Train,,0.01\n3000,,,0.005\n")
    args = ["train", "experiment=smoke", "dopesheet=long.csv", "trainer.checkpoint_every=100"]
    interrupted_at_checkpoint(args, tmp_path, tmp_path / "interrupted" / "checkpoints" / "last.ckpt")
    before = contents(tmp_path / "interrupted")
    refused = excolor(*args, "hydra.run.dir=interrupted", cwd=tmp_path, check=False)
    one_line_error(refused, "already holds a run (at step", "continue it with: excolor train --resume interrupted")
    assert contents(tmp_path / "interrupted") == before


def test_seeds_refused_into_an_existing_seeds_directory_change_nothing(tmp_path):
    excolor("train", "--seeds", "0-1", "experiment=smoke", "hydra.run.dir=seeds", cwd=tmp_path)
    before = contents(tmp_path / "seeds")
    refused = excolor("train", "--seeds", "0-1", "experiment=smoke", "hydra.run.dir=seeds", cwd=tmp_path, check=False)
    one_line_error(refused, "hydra.run.dir seeds: already holds a run", "--overwrite")
    assert contents(tmp_path / "seeds") == before  # its .hydra/ and train.log too

    # --resume on a finished member, or on the finished seeds: refused, and no new (empty) train.log
    for target in ("seeds/seed-0", "seeds"):
        refused = excolor("train", "--resume", target, cwd=tmp_path, check=False)
        one_line_error(refused, "already finished")
    assert not (tmp_path / "seeds" / "seed-0" / "train.log").exists()
    assert contents(tmp_path / "seeds") == before


def test_a_sweep_follows_the_rule_job_by_job_and_a_job_that_succeeds_leaves_no_stale_error(tmp_path):
    # what an earlier, failed attempt of job 0 left: only its error.json (no run)
    (tmp_path / "sweep" / "0").mkdir(parents=True)
    stale = {"job": 0, "overrides": ["seed=3"], "message": "an earlier mistake", "exit_code": 2}
    (tmp_path / "sweep" / "0" / "error.json").write_text(json.dumps(stale))
    args = ["train", "-m", "experiment=smoke", "hydra.sweep.dir=sweep"]
    first = excolor(*args, "seed=3", cwd=tmp_path)
    assert "sweep jobs failed" not in first.stderr
    assert not (tmp_path / "sweep" / "0" / "error.json").exists()

    before = contents(tmp_path / "sweep")
    refused = excolor(*args, "seed=3,4", cwd=tmp_path, check=False)
    one_line_error(
        refused, "sweep job sweep/0: already holds a run (finished, 301 steps)", "excolor train -m --overwrite"
    )
    assert contents(tmp_path / "sweep") == before and not (tmp_path / "sweep" / "1").exists()

    excolor(*args, "seed=4", "--overwrite", cwd=tmp_path)
    assert "seed: 4" in (tmp_path / "sweep" / "0" / ".hydra" / "config.yaml").read_text()
    assert (tmp_path / "sweep" / "0" / "train.log").read_text().count("training smoke") == 1


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["train", "seed=-1"], ["seed:", "whole number from 0 to 4294967295", "-1"]),
        (["train", "seed=abc"], ["seed:", "'abc'"]),
        (["train", "seed=1.5"], ["seed:", "1.5"]),
        (["train", "seed=4294967296"], ["seed:", "4294967296"]),
        (["train", "-m", "seed=0,-1"], ["seed:", "-1"]),
        (["train", "--seeds", "0-4294967296"], ["--seeds 0-4294967296", "too large"]),
        (["train", "--seeds", "99999999999999999999999"], ["too large"]),
        (["train", "--seeds", "0-100000"], ["more than 4096 seeds"]),
        (["train", "optimizer._target_=torch.optim.Nope"], ["optimizer._target_:", "'torch.optim.Nope'"]),
        (["train", "+optimizer.weight_decay=-1"], ["optimizer:", "weight_decay"]),
        (["train", "logger.csv._target_=nowhere.Logger"], ["logger.csv._target_:", "'nowhere.Logger'"]),
        (
            ["run", "--seeds", "0-1", "redux.minimise=[val/nosuch]"],
            ["redux.minimise", "'val/nosuch'", "columns: recon", "labels/n/red"],
        ),
        (["run", "--seeds", "0-1", "redux.maximise=[score]"], ["redux.maximise", "'score'"]),
    ],
)
def test_values_are_checked_before_any_directory_exists(tmp_path, args, fragments):
    result = excolor(*args, "experiment=smoke", cwd=tmp_path, check=False)
    one_line_error(result, *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no outputs/, no multirun/
