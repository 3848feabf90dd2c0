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
    result = subprocess.run(
        [*EXCOLOR, *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"excolor {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """A finished `excolor train experiment=smoke` run directory."""
    workdir = tmp_path_factory.mktemp("smoke")
    result = excolor("train", "experiment=smoke", cwd=workdir)
    run_dir = Path(result.stdout.strip().splitlines()[-1].removeprefix("run directory: "))
    assert run_dir.is_dir()
    return run_dir
