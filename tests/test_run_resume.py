"""`excolor run --resume DIR`: an interrupted run (in training, as training ends, or while it is evaluated)
says how to finish, and finishing gives what an uninterrupted run gives."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from ex_color.config import compose
from ex_color.errors import Interrupted
from ex_color.reuse import refusal
from ex_color.tasks.run import resume, run
from ex_color.tasks.train import train
from ex_color.training.member_outputs import MemberOutputs
from tests.conftest import assert_same_run, excolor, interrupted_at_checkpoint, one_line_error

LONG_SHEET = (
    "STEP,PHASE,lr,reg-anchor,reg-separate,reg-planar,reg-unit-v,reg-unit\n0,Train,0.01,0,0,0,0,0\n600,,0,,,,,\n"
)


def _without_run_path(path: Path) -> dict:
    data = json.loads(path.read_text())
    data.pop("run", None)
    return data


def _same_evaluation(a: Path, b: Path) -> None:
    for kind in ("none", "suppression", "repulsion"):
        assert _without_run_path(a / "interventions" / kind / "metrics.json") == _without_run_path(
            b / "interventions" / kind / "metrics.json"
        ), kind
    assert (a / "report.md").is_file() and (b / "report.md").is_file()


@pytest.mark.slow
def test_an_interrupted_run_says_run_resume_and_finishing_it_equals_the_uninterrupted_run(tmp_path):
    (tmp_path / "long.csv").write_text(LONG_SHEET)
    args = ["run", "experiment=smoke", "dopesheet=long.csv", "trainer.checkpoint_every=200"]
    stderr = interrupted_at_checkpoint(args, tmp_path, tmp_path / "interrupted" / "checkpoints" / "last.ckpt")
    assert f"checkpoint saved; resume with: excolor run --resume {tmp_path / 'interrupted'}" in stderr
    assert not (tmp_path / "interrupted" / "report.md").exists()
    before = sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "interrupted").rglob("*"))
    again = excolor(*args, "hydra.run.dir=interrupted", cwd=tmp_path, check=False)
    one_line_error(again, "already holds a run (at step", "continue it with: excolor run --resume interrupted")
    assert sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "interrupted").rglob("*")) == before
    finished = excolor("run", "--resume", "interrupted", cwd=tmp_path)
    assert "report: " in finished.stderr and "report.md" in finished.stderr.split("report: ")[1]
    excolor(*args, "hydra.run.dir=whole", cwd=tmp_path)
    assert_same_run(tmp_path / "interrupted", tmp_path / "whole")
    _same_evaluation(tmp_path / "interrupted", tmp_path / "whole")

    before = sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "interrupted").rglob("*"))
    refused = excolor("run", "--resume", "interrupted", cwd=tmp_path, check=False)
    one_line_error(refused, "is complete (report.md is written); nothing to resume")
    assert sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "interrupted").rglob("*")) == before
    one_line_error(excolor("run", "--resume", "whole", "seed=2", cwd=tmp_path, check=False), "give it alone")


@pytest.mark.slow
def test_interrupted_seeds_resume_to_the_summary_of_the_uninterrupted_seeds(tmp_path):
    (tmp_path / "long.csv").write_text(LONG_SHEET)
    args = ["run", "--seeds", "0-1", "experiment=smoke", "dopesheet=long.csv", "trainer.checkpoint_every=200"]
    checkpoint = tmp_path / "interrupted" / "seed-1" / "checkpoints" / "last.ckpt"
    stderr = interrupted_at_checkpoint(args, tmp_path, checkpoint)
    assert "excolor run --resume" in stderr
    excolor("run", "--resume", "interrupted", cwd=tmp_path)
    excolor(*args, "hydra.run.dir=whole", cwd=tmp_path)
    for seed in (0, 1):
        assert_same_run(tmp_path / "interrupted" / f"seed-{seed}", tmp_path / "whole" / f"seed-{seed}")
    resumed, whole = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("interrupted", "whole"))
    assert resumed["best"] == whole["best"]
    assert resumed["seeds"] == whole["seeds"]
    one_line_error(excolor("run", "--resume", "interrupted", cwd=tmp_path, check=False), "summary.md is written")


def _signal_after_the_last_checkpoint(monkeypatch, length: int) -> None:
    """A real SIGINT to this process while the final checkpoint is written, after the last step."""
    write = MemberOutputs.on_checkpoint

    def on_checkpoint(self):
        write(self)
        if self.loop.step >= length:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(MemberOutputs, "on_checkpoint", on_checkpoint)


@pytest.mark.parametrize("command", ["train", "run"])
def test_a_signal_as_training_ends_is_not_lost(tmp_path, monkeypatch, command):
    cfg = compose(command, ["experiment=smoke"])
    _signal_after_the_last_checkpoint(monkeypatch, 301)
    with pytest.raises(Interrupted) as stop:
        (train if command == "train" else run)(cfg, tmp_path / "run")
    assert stop.value.exit_code == 130
    assert f"SIGINT as training ended (step 301): training is complete in {tmp_path / 'run'}" in str(stop.value)
    if command == "run":
        assert f"continue with: excolor run --resume {tmp_path / 'run'}" in str(stop.value)
        assert not (tmp_path / "run" / "report.md").exists()
        trained_only = refusal(tmp_path / "run", "run", "hydra.run.dir")
        assert f"(finished, 301 steps); continue it with: excolor run --resume {tmp_path / 'run'}" in trained_only
        monkeypatch.undo()
        assert resume(tmp_path / "run") == tmp_path / "run"
        assert (tmp_path / "run" / "report.md").is_file()
        assert "continue it with" not in refusal(tmp_path / "run", "run", "hydra.run.dir")


@pytest.mark.parametrize("sent,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_evaluating_keeps_the_training_and_says_how_to_finish(tmp_path, monkeypatch, sent, code):
    from ex_color.domains.color import ColorDomain

    evaluate = ColorDomain.evaluate_run

    def interrupted_evaluation(self, run_dir, configs, log_results=False):
        os.kill(os.getpid(), sent)  # the handler raises at the next instruction
        return evaluate(self, run_dir, configs, log_results)

    monkeypatch.setattr(ColorDomain, "evaluate_run", interrupted_evaluation)
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as stop:
        run(compose("run", ["experiment=smoke"]), tmp_path / "run")
    assert str(stop.value) == (
        f"{sent.name} while evaluating: training is complete in {tmp_path / 'run'}; "
        f"continue with: excolor run --resume {tmp_path / 'run'}"
    )
    assert stop.value.exit_code == code
    assert signal.getsignal(signal.SIGTERM) is handler  # ours is gone with the evaluation
    monkeypatch.undo()
    resume(tmp_path / "run")
    assert (tmp_path / "run" / "report.md").is_file()
