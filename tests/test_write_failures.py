"""When writing fails in the middle of training (a full disk, a quota): one line, nothing lost, resumable."""

import csv
import errno
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from ex_color import runs
from ex_color.config import compose
from ex_color.errors import RunFailed
from ex_color.tasks.train import resume_run, train

from conftest import assert_same_run, excolor

pytestmark = pytest.mark.slow

SHEET = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n0,Train,,0.01,0.01,0.05,0.1,0.02,1\n1200,,,0.005,,,,,\n"
OVERRIDES = ["experiment=smoke", "trainer.checkpoint_every=200", "trainer.log_every=50"]


def metric_steps(run_dir: Path) -> list[int]:
    with open(run_dir / "metrics.csv") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


@pytest.mark.parametrize("seeds", [None, [0, 1]], ids=["single", "seeds"])
def test_a_full_disk_mid_training_stops_in_one_line_and_resumes_bit_for_bit(tmp_path, monkeypatch, seeds):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(SHEET)
    cfg = compose("train", [*OVERRIDES, f"dopesheet={sheet}"])
    original = csv.DictWriter.writerows

    def full_from_step_700(self, rows):
        rows = list(rows)
        if rows and rows[-1].get("step", 0) >= 700:
            original(self, rows[:3])  # part of the rows reach the file before the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, rows)

    monkeypatch.setattr(csv.DictWriter, "writerows", full_from_step_700)
    with pytest.raises(RunFailed) as failure:
        train(cfg, tmp_path / "failed", seeds=seeds)
    message = str(failure.value)
    assert "\n" not in message and "metrics.csv: No space left on device (at step 7" in message
    assert "the checkpoint of step 600 is kept" in message
    assert message.endswith(f"free space, then continue with: excolor train --resume {tmp_path / 'failed'}")
    members = [tmp_path / "failed"] if seeds is None else [tmp_path / "failed" / f"seed-{s}" for s in seeds]
    for member in members:
        assert runs.load_checkpoint(member)["global_step"] == 600
        assert metric_steps(member) == list(range(600))
    assert not (tmp_path / "outputs").exists()

    monkeypatch.setattr(csv.DictWriter, "writerows", original)  # space freed
    resume_run(tmp_path / "failed")
    straight = train(cfg, tmp_path / "straight", seeds=seeds)
    for member, reference in zip(members, [straight] if seeds is None else [straight / f"seed-{s}" for s in seeds]):
        assert_same_run(member, reference)


@pytest.fixture
def small_disk(tmp_path):
    """A function mounting a tmpfs of a given size (options such as `ro` too) under tmp_path; every disk it
    mounted is unmounted after the test. Skips the test where it cannot mount (not root, no mount)."""
    mounted: list[Path] = []

    def mount(size: str, options: str = "", reason: str = "needs root and tmpfs mounts to fill a real disk") -> Path:
        path = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
        path.mkdir()
        command = ["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "tmpfs", str(path)]
        if (
            os.geteuid() != 0
            or shutil.which("mount") is None
            or subprocess.run(command, capture_output=True).returncode
        ):
            pytest.skip(reason)
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", str(path)], capture_output=True)


def test_a_really_full_disk_through_the_cli(tmp_path, small_disk):
    disk = small_disk(
        "160k", reason="needs root and tmpfs mounts to fill a real disk (the test above injects the error instead)"
    )
    (tmp_path / "sheet.csv").write_text(SHEET)
    args = ["train", *OVERRIDES, f"dopesheet={tmp_path / 'sheet.csv'}"]
    result = excolor(*args, f"hydra.run.dir={disk / 'run'}", cwd=tmp_path, check=False)
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert (
        line.startswith("excolor: error: cannot write ")
        and "No space left on device" in line
        and "Traceback" not in result.stderr
    )
    assert line.endswith(f"excolor train --resume {disk / 'run'}")
    kept = runs.load_checkpoint(disk / "run")["global_step"]
    assert metric_steps(disk / "run") == list(range(kept))

    subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)
    excolor("train", "--resume", str(disk / "run"), cwd=tmp_path)
    excolor(*args, f"hydra.run.dir={tmp_path / 'straight'}", cwd=tmp_path)
    assert_same_run(disk / "run", tmp_path / "straight")


@pytest.fixture
def read_only_dir(small_disk):
    return small_disk("64k", ",ro", reason="needs root and tmpfs mounts for a read-only file system")


@pytest.mark.parametrize("command", [["train"], ["run"], ["train", "--seeds", "0-1"], ["train", "-m", "seed=1,2"]])
def test_a_run_directory_under_a_file_is_refused_before_anything_starts(tmp_path, command):
    (tmp_path / "afile").write_text("")
    key = "hydra.sweep.dir" if "-m" in command else "hydra.run.dir"
    result = excolor(*command, "experiment=smoke", f"{key}={tmp_path / 'afile' / 'run'}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"excolor: error: {key} {tmp_path / 'afile' / 'run'}: {tmp_path / 'afile'} is a file, not a directory"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_run_directory_on_a_read_only_file_system_is_refused(tmp_path, read_only_dir):
    result = excolor("train", "experiment=smoke", f"hydra.run.dir={read_only_dir / 'run'}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"excolor: error: hydra.run.dir {read_only_dir / 'run'}: cannot write in {read_only_dir} (Read-only file system)"
    )
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    "args,key",
    [
        (["infer", "red", "--output", "{file}/out.npz"], "--output"),
        (["plot", "colors", "--out", "{file}/figures"], "--out"),
        (["report", "--output", "{file}/summary.md"], "--output"),
    ],
)
def test_other_destinations_under_a_file_are_refused_in_one_line(tmp_path, smoke_run, args, key):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    args = [a.replace("{file}", str(blocker)) for a in args]
    target = Path(args[args.index(key) + 1])
    result = excolor(
        *args,
        *([] if args[0] == "report" else ["--run", str(smoke_run)]),
        *([str(smoke_run)] if args[0] == "report" else []),
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"excolor: error: {key} {target}: {blocker} is a file, not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_intervene_and_plot_on_a_read_only_run_are_refused_in_one_line(tmp_path, smoke_run, read_only_dir):
    subprocess.run(["mount", "-o", "remount,rw,size=4m", str(read_only_dir)], check=True)
    run = read_only_dir / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("figures", "interventions", "report.md"))
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_dir)], check=True)
    for args, what in [
        (
            ["intervene", "--kind", "suppression"],
            f"the run's interventions folder {run / 'interventions' / 'suppression'}",
        ),
        (["plot", "all"], f"the run's figures {run / 'figures'}"),
    ]:
        result = excolor(*args, "--run", str(run), cwd=tmp_path, check=False)
        assert result.returncode == 2, result.stderr
        assert (
            result.stderr.strip().startswith(f"excolor: error: {what}: cannot write in ")
            and "Read-only file system" in result.stderr
        )


def test_figures_on_a_disk_that_fills_up_fail_in_one_line_and_leave_only_whole_files(tmp_path, small_disk, smoke_run):
    disk = small_disk("4m")
    run = disk / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("figures", "interventions", "report.md"))
    used = sum(p.stat().st_size for p in run.rglob("*") if p.is_file())
    subprocess.run(["mount", "-o", f"remount,size={used // 1024 + 120}k", str(disk)], check=True)
    result = excolor("plot", "all", "--run", str(run), cwd=tmp_path, check=False)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("excolor: error: cannot write ") and lines[-1].endswith("No space left on device")
    assert "Traceback" not in result.stderr
    from PIL import Image

    for png in (run / "figures").glob("*"):
        assert not png.name.startswith("."), f"a temporary file was left: {png.name}"
        if png.suffix == ".png":
            Image.open(png).verify()  # every figure there is whole


def test_in_a_sweep_the_job_whose_disk_fills_up_fails_alone(tmp_path, small_disk):
    disk = small_disk("160k")
    (tmp_path / "sheet.csv").write_text(SHEET)
    (tmp_path / "sweep").mkdir()
    (disk / "job0").mkdir()
    (tmp_path / "sweep" / "0").symlink_to(disk / "job0")  # job 0 writes onto the small disk
    result = excolor(
        "train",
        "-m",
        *OVERRIDES,
        f"dopesheet={tmp_path / 'sheet.csv'}",
        "seed=0,1",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert (
        "job 0 (" in result.stderr and "No space left on device" in result.stderr and "Traceback" not in result.stderr
    )
    assert result.stderr.strip().splitlines()[-1].startswith("excolor: error: 1 of 2 sweep jobs failed (job 0)")
    assert "No space left on device" in (tmp_path / "sweep" / "0" / "error.json").read_text()
    assert runs.load_checkpoint(tmp_path / "sweep" / "1")["global_step"] == 1201
