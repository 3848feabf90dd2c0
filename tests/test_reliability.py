"""Interruption, resume, failure inside training, determinism and safe loading, through the real CLI."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from ex_color import runs
from ex_color.errors import UserError, WriteFailed

from conftest import EXCOLOR, assert_same_run, excolor

pytestmark = pytest.mark.slow

LONG_SHEET = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n0,Train,,0.01,0.01,0.05,0.1,0.02,1\n6000,,,0.005,,,,,\n"


def checkpoint_state(run_dir: Path):
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    return checkpoint["global_step"], checkpoint["state_dict"], checkpoint["optimizer_states"][0]["state"]


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_a_checkpoint_and_resume_is_bit_identical(tmp_path, sig, code):
    (tmp_path / "long.csv").write_text(LONG_SHEET)
    args = ["train", "experiment=smoke", "dopesheet=long.csv", "trainer.checkpoint_every=200"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        [*EXCOLOR, *args, "hydra.run.dir=interrupted"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    checkpoint = tmp_path / "interrupted" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    message = stderr.strip().splitlines()[-1]
    assert message.startswith(f"excolor: error: {sig.name} at step") and "excolor train --resume" in message
    stopped_at, _, _ = checkpoint_state(tmp_path / "interrupted")
    assert 0 < stopped_at < 6001
    assert not (tmp_path / "outputs" / "latest").exists()  # an unfinished run is not the latest good one

    resumed = excolor("train", "--resume", "interrupted", cwd=tmp_path)
    assert resumed.stdout.strip().endswith(f"run directory: {tmp_path / 'interrupted'}")
    excolor(*args, "hydra.run.dir=straight", cwd=tmp_path)
    assert_same_run(tmp_path / "interrupted", tmp_path / "straight")
    metrics = (tmp_path / "interrupted" / "metrics.csv").read_text().splitlines()
    assert len(metrics) == 6002  # header + one row per step, none twice

    again = excolor("train", "--resume", "interrupted", cwd=tmp_path, check=False)
    assert again.returncode == 2 and "already finished" in again.stderr


def test_non_finite_term_stops_naming_term_layer_and_step_and_keeps_last_good_checkpoint(tmp_path, smoke_run):
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "latest").symlink_to(smoke_run)
    # reg-anchor switches on at step 150 with a target so far away that its loss overflows float32.
    (tmp_path / "boom.csv").write_text(
        "STEP,PHASE,ACTION,lr,reg-anchor::step-end\n0,Train,,0.01,0\n150,,,0.01,1\n300,,,0.01,1\n"
    )
    result = excolor(
        "train",
        "experiment=smoke",
        "dopesheet=boom.csv",
        "hydra.run.dir=boom",
        "trainer.checkpoint_every=100",
        "trainer.log_every=50",
        "regularizers.reg-anchor.loss.point=[1e30,0,0,0]",
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert (
        "'reg-anchor'" in line and "layer encoder" in line and "step 150" in line and "Traceback" not in result.stderr
    )
    step, weights, _ = checkpoint_state(tmp_path / "boom")
    assert step == 100 and all(torch.isfinite(w).all() for w in weights.values())
    assert (tmp_path / "outputs" / "latest").resolve() == smoke_run.resolve()
    assert runs.load_model(tmp_path / "boom") is not None


def test_same_config_and_seed_through_the_cli_gives_identical_runs(tmp_path):
    excolor("train", "experiment=smoke", "seed=7", "hydra.run.dir=a", cwd=tmp_path)
    excolor("train", "experiment=smoke", "seed=7", "hydra.run.dir=b", cwd=tmp_path)
    assert_same_run(tmp_path / "a", tmp_path / "b")


def test_checkpoints_load_without_executing_pickled_code(smoke_run, tmp_path):
    # A checkpoint that would run code when unpickled is refused, not executed.
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    bad_run = tmp_path / "bad"
    (bad_run / "checkpoints").mkdir(parents=True)
    (bad_run / ".hydra").mkdir()
    (bad_run / ".hydra" / "config.yaml").write_text((smoke_run / ".hydra" / "config.yaml").read_text())
    torch.save({"state_dict": {}, "excolor": Payload()}, bad_run / "checkpoints" / "last.ckpt")
    with pytest.raises(UserError, match="corrupt or not ours"):
        runs.load_model(bad_run)
    assert not (tmp_path / "pwned").exists()


def test_artifacts_are_written_through_a_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "x.json"
    target.write_text("old")

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", explode)
    with pytest.raises(WriteFailed, match="cannot write .*x.json: disk full"):
        runs.atomic_write_text(target, "new")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_ctrl_c_outside_training_is_one_line_and_exit_130(capsys):
    """A KeyboardInterrupt in a command's task (a report, a plot; training has its own message) is said."""
    from ex_color.cli.common import guarded

    def task():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stop:
        guarded(task)
    assert stop.value.code == 130 and capsys.readouterr().err == "excolor: error: interrupted (SIGINT)\n"
