"""A plain (not editable) install works: the wheel carries the config tree and the dopesheets, and its
`excolor` script trains from any directory without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-w", str(out), "-q"],
        check=True,
        capture_output=True,
        text=True,
        cwd=out,
    )
    (built,) = out.glob("ex_color-*.whl")
    return built


def test_the_wheel_ships_every_config_and_dopesheet(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [
        path.relative_to(REPO / "ex_color").as_posix()
        for folder in ("configs", "dopesheets")
        for path in (REPO / "ex_color" / folder).rglob("*")
        if path.is_file()
    ]
    assert len(shipped) > 50
    missing = [name for name in shipped if f"ex_color/{name}" not in names]
    assert not missing, missing


@pytest.mark.slow
def test_the_installed_wheel_trains_from_a_directory_of_its_own(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    # the dependencies from this environment, ex_color only from the wheel (PYTHONPATH comes first)
    env = {**os.environ, "PYTHONPATH": str(target), "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore"}
    where = subprocess.run(
        [sys.executable, "-c", "import ex_color.paths as p; print(p.config_dir())"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(target)
    result = subprocess.run(
        [str(target / "bin" / "excolor"), "train", "experiment=smoke", "hydra.run.dir=run"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert (work / "run" / "checkpoints" / "last.ckpt").is_file()
    assert (work / "run" / "dopesheet.csv").read_bytes() == (REPO / "dopesheets" / "smoke.csv").read_bytes()
