"""Shared fixtures: one real smoke training run (through the CLI) reused by the tests that need a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXCOLOR = [sys.executable, "-m", "ex_color.cli"]


def excolor(*args: str, cwd: Path, check: bool = True, env: dict | None = None, timeout: int = 600):
    """Run the real CLI in a subprocess."""
    full_env = {**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore", **(env or {})}
    result = subprocess.run([*EXCOLOR, *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"excolor {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def one_line_error(result, *fragments, code: int = 2) -> str:
    """A refusal: exit `code`, one line on stderr holding every fragment, no traceback; returns the line."""
    assert result.returncode == code, (result.returncode, result.stderr)
    text = result.stderr.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text


INSTALLED = Path(sys.executable).with_name("excolor")  # the console script pip made in this environment


def installed_excolor(*args: str, cwd: Path, check: bool = True, timeout: int = 600):
    """Run the installed `excolor` script as a researcher would: from `cwd`, with no PYTHONPATH (unlike
    `python -m ex_color.cli`, Python puts only the script's own folder on the import path)."""
    assert INSTALLED.exists(), f"{INSTALLED}: not installed (make install)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(WANDB_MODE="offline", PYTHONWARNINGS="ignore")
    result = subprocess.run([str(INSTALLED), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"excolor {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def interrupted_at_checkpoint(
    args, cwd: Path, checkpoint: Path, run_dir: str | None = "interrupted", wait: float = 120
) -> str:
    """Start `excolor *args hydra.run.dir=run_dir` (`run_dir` None: `excolor *args`), send SIGINT once
    `checkpoint` exists, and return its stderr after checking that it stopped gracefully (exit status 130)."""
    import signal
    import time

    process = subprocess.Popen(
        [*EXCOLOR, *args, *([f"hydra.run.dir={run_dir}"] if run_dir is not None else [])],
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + wait
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    return stderr


def assert_same_run(a: Path, b: Path) -> None:
    """Two run directories hold the same bits: step, weights, optimizer state and metrics.csv."""
    import torch

    ca, cb = (torch.load(d / "checkpoints" / "last.ckpt", weights_only=True) for d in (a, b))
    assert ca["global_step"] == cb["global_step"]
    assert all(torch.equal(ca["state_dict"][k], cb["state_dict"][k]) for k in ca["state_dict"])
    adam_a, adam_b = ca["optimizer_states"][0]["state"], cb["optimizer_states"][0]["state"]
    assert all(torch.equal(adam_a[i][k], adam_b[i][k]) for i in adam_a for k in adam_a[i])
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """A finished `excolor train experiment=smoke` run directory."""
    workdir = tmp_path_factory.mktemp("smoke")
    result = excolor("train", "experiment=smoke", cwd=workdir)
    run_dir = Path(result.stdout.strip().splitlines()[-1].removeprefix("run directory: "))
    assert run_dir.is_dir()
    return run_dir
