"""Re-used run directories: a command that writes a run never writes over one it did not make.

A directory holds a run when it has any file a run leaves (its config, a checkpoint, metrics.csv, the
latent history) itself or in a `seed-<k>/` of seeds trained together, finished or not. `train`, `run`,
each job of a sweep (`-m`) and `--seeds` refuse such a directory before anything is written, in one line
that says how to continue it (`excolor train --resume DIR`) and how to replace it on purpose
(`--overwrite`, which removes the old run first). A refusal creates, changes and deletes nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ex_color import runs
from ex_color.errors import UserError

# The files a run leaves, any of which makes a directory a run's (history.npz: ex_color/history.py).
RUN_FILES = (runs.CONFIG, runs.CHECKPOINT, runs.METRICS, Path("history.npz"), Path("checkpoints"))


class RunDirectoryInUse(UserError):
    """A command would write a run into a directory that already holds one."""


def holds_run(directory: Path) -> bool:
    """True when `directory` holds a run, finished or not, or the seeds of one (`seed-<k>/`)."""
    directory = Path(directory)
    if not directory.is_dir():
        return False
    if any((directory / name).exists() for name in RUN_FILES):
        return True
    return any(member.is_dir() and holds_run(member) for member in directory.glob("seed-*"))


def progress_text(directory: Path) -> str:
    """`finished, 600 steps`, `at step 200 of 600`, or `no checkpoint` for the run in `directory`."""
    checkpoints = [directory / runs.CHECKPOINT, *sorted(directory.glob(f"seed-*/{runs.CHECKPOINT}"))]
    found = [path for path in checkpoints if path.is_file()]
    if not found:
        return "no checkpoint"
    try:
        checkpoint = runs.load_checkpoint(found[0].parent.parent)
    except UserError:
        return "an unreadable checkpoint"
    step, length = int(checkpoint.get("global_step", 0)), checkpoint["excolor"].get("schedule_length")
    if length is not None and step >= int(length):
        return f"finished, {step} steps"
    return f"at step {step} of {length or '?'}"


def refusal(directory: Path, command: str, key: str) -> str:
    """The one line that refuses `directory` and says how to continue or replace it."""
    state = progress_text(directory)
    runs_to_a_report = command.split()[0] == "run"  # `excolor run` continues to report.md (summary.md for seeds)
    unfinished = not state.startswith(("finished", "no checkpoint"))
    if runs_to_a_report and state.startswith("finished"):
        unfinished = not any((directory / name).is_file() for name in ("report.md", "summary.md"))
    how = (
        f"continue it with: excolor {'run' if runs_to_a_report else 'train'} --resume {directory}; "
        if unfinished
        else ""
    )
    return (
        f"{key} {directory}: already holds a run ({state}); {how}replace it with: excolor {command} --overwrite ...; "
        "or choose another directory"
    )


def check_reuse(directory: Path, command: str, key: str, overwrite: bool) -> None:
    """RunDirectoryInUse unless `directory` holds no run, or `overwrite` (then `replace` may remove it)."""
    if holds_run(directory) and not overwrite:
        raise RunDirectoryInUse(refusal(Path(directory), command, key))
    if overwrite and holds_run(directory):
        check_replaceable(Path(directory), key)


def check_replaceable(directory: Path, key: str) -> None:
    """`--overwrite` removes a run directory, never the working directory, a folder above it, or a repository."""
    resolved = directory.resolve()
    here = Path.cwd().resolve()
    if resolved == here or resolved in here.parents or resolved == Path(resolved.anchor):
        raise UserError(f"{key} {directory}: is the working directory or above it; --overwrite removes run directories")
    if (resolved / ".git").exists():
        raise UserError(f"{key} {directory}: holds a git repository; --overwrite removes run directories only")


def replace(directory: Path) -> None:
    """Remove the run in `directory` (checked by `check_reuse` with overwrite), so that a new one starts."""
    directory = Path(directory)
    if holds_run(directory):
        shutil.rmtree(directory)


def snapshot(directory: Path) -> frozenset[Path]:
    """Every path under `directory` now: what a failing command's clean-up must leave (`runs.discard_unfinished`)."""
    directory = Path(directory).absolute()
    if not directory.is_dir():
        return frozenset()
    return frozenset({directory, *directory.rglob("*")})


def claim_output(config_name: str, arguments: list[str], overwrite: bool) -> frozenset[Path]:
    """Before Hydra starts: refuse the run directory (or, with -m, each job directory of the sweep) that
    already holds a run, or with `overwrite` remove the old run; returns what the run directory holds now,
    for the clean-up of a run that fails on a user mistake (`runs.discard_unfinished`)."""
    from ex_color.config import output_layout

    multirun = any(a in ("-m", "--multirun") for a in arguments)
    run_dir, sweep_dir, subdir, jobs = output_layout(config_name, arguments, multirun)
    if not multirun:
        check_reuse(run_dir, config_name, "hydra.run.dir", overwrite)
        if overwrite:
            replace(run_dir)
        return snapshot(run_dir)
    if subdir != "${hydra.job.num}":
        if overwrite:
            raise UserError(
                f"--overwrite with -m replaces the jobs of hydra.sweep.subdir=${{hydra.job.num}} (got {subdir})"
            )
        return frozenset()
    job_dirs = [sweep_dir / str(number) for number in range(jobs)]
    for job_dir in job_dirs:
        check_reuse(job_dir, f"{config_name} -m", "sweep job", overwrite)
    if overwrite:
        for job_dir in job_dirs:
            replace(job_dir)
    return frozenset()
