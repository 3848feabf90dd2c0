"""Sweeps on SLURM (`hydra/launcher=submitit_slurm`): quiet polling, and jobs that are safe to preempt.

`hydra_plugins.excolor_slurm.launcher.SlurmLauncher` is Hydra's submitit SLURM launcher with three
additions, made here:

- In the launching process, job states are polled by `QuietSlurmInfoWatcher`: where `sacct` fails (a
  cluster without accounting, which is common) it says so once and reads the states from `squeue`,
  instead of three lines on every poll. A new sweep never writes into a job directory that already
  holds a run: it stops before submitting anything, in one line (exit 2).
- In the job, before Hydra writes the job's `.hydra/` files, it looks at the job directory. When SLURM
  has restarted the job (`SLURM_RESTART_COUNT` > 0: `scontrol requeue`, preemption, or submitit's
  requeue on a time limit) and the directory holds a checkpoint of the same config, the job continues
  from it (`resuming from step N`) instead of starting over; a directory holding another config's run
  is refused in one line (`error.json`), never overwritten.
- submitit's preemption/time-limit signal (USR2) stops training gracefully at the end of the current
  step (checkpoint written) before submitit requeues the job, as SIGTERM already does.

The job side is used by the CLI's `sweep_job` through `continue_job` and `requeue_if_signalled`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import submitit
import submitit.slurm.slurm as submitit_slurm
from submitit.core.job_environment import SignalHandler
from submitit.core.utils import FailedJobError, UncompletedJobError
from submitit.slurm.slurm import SlurmInfoWatcher

from ex_color import runs

log = logging.getLogger(__name__)


# -- the launching process: polling without noise ----------------------------------------------------------


class QuietSlurmInfoWatcher(SlurmInfoWatcher):
    """submitit's SLURM job-state watcher, quiet where `sacct` fails.

    submitit calls `sacct` on every poll and, where it fails (no accounting database), logs a warning
    each time. This one logs each distinct sacct failure once, then reads the states from `squeue`
    (which needs no accounting) for as long as the jobs are in the queue; a job's result file tells
    submitit when it is done either way. Failures of squeue itself stay at debug level: submitit has the
    result files to fall back on.
    """

    def __init__(self, delay_s: int = 60) -> None:
        super().__init__(delay_s=delay_s)
        self.sacct_failures: dict[str, int] = {}

    def update(self) -> None:
        command = self._make_command()
        if command is None:
            return
        self._num_calls += 1
        output = self._sacct(command)
        if output is None:
            output = self._squeue()
        if output is not None:
            self._info_dict.update(self.read_info(output))
        self._last_status_check = time.time()
        for job_id in self._registered - self._finished:
            if self.is_done(job_id, mode="cache"):
                self._finished.add(job_id)

    def _sacct(self, command: list[str]) -> str | None:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as error:
            reason = str(error)
        else:
            if result.returncode == 0:
                return result.stdout
            reason = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        seen = self.sacct_failures.get(reason, 0)
        self.sacct_failures[reason] = seen + 1
        if not seen:
            log.warning("sacct failed (%s): job states come from squeue instead (said once per sweep)", reason)
        return None

    def _squeue(self) -> str | None:
        ids = sorted({x.split("_")[0] for x in self._registered - self._finished})
        command = ["squeue", "--noheader", "--array", "--states=all", "--format=%i|%T|%N", "--jobs", ",".join(ids)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as error:
            log.debug("squeue failed: %s", error)
            return None
        if result.returncode != 0:
            log.debug("squeue failed: %s", result.stderr.strip())
            return None
        return "JobID|State|NodeList\n" + result.stdout


# -- the job: what an earlier attempt left in the job directory ---------------------------------------------


def restart_count() -> int:
    """How many times SLURM has restarted this job (0 on its first attempt, and outside SLURM)."""
    try:
        return int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)
    except ValueError:
        return 0


def checkpoints(run_dir: Path) -> list[Path]:
    """The checkpoints of a run directory: its own, or its seeds' (`excolor train --seeds`)."""
    own = run_dir / runs.CHECKPOINT
    if own.exists():
        return [own]
    return sorted(
        p / runs.CHECKPOINT
        for p in run_dir.glob("seed-*")
        if (p / runs.CHECKPOINT).exists() and not (p / "error.json").exists()
    )


def progress(run_dir: Path) -> tuple[int, int | None] | None:
    """(steps done, steps in all) of the run in `run_dir` (the least advanced seed's), None without one."""
    found = checkpoints(run_dir)
    if not found:
        return None
    import torch

    done, length = None, None
    for path in found:
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - a checkpoint we cannot read resumes nothing
            return (0, None)
        step = int(checkpoint.get("global_step", 0))
        done = step if done is None else min(done, step)
        length = checkpoint.get("excolor", {}).get("schedule_length", length)
    return (done or 0, length)


@dataclass
class Plan:
    """What this job does with its directory: start, resume (from `step`), or refuse (`message`)."""

    action: str  # "start", "resume", "finished", "refuse"
    run_dir: Path
    step: int = 0
    length: int | None = None
    message: str = ""


_plan: Plan | None = None


def plan_job(job_dir: Path, config_text: str, restarts: int) -> Plan:
    """Decide from the job directory, before Hydra writes `.hydra/` into it."""
    found = progress(job_dir)
    if found is None:
        return Plan("start", job_dir)
    done, length = found
    where = f"{job_dir} holds a run ({done} of {length or '?'} steps)"
    if restarts == 0:
        return Plan(
            "refuse",
            job_dir,
            done,
            length,
            f"{where}; a new sweep job does not overwrite it: choose another hydra.sweep.dir",
        )
    previous = job_dir / runs.CONFIG
    if not previous.exists() or previous.read_text() != config_text:
        return Plan(
            "refuse", job_dir, done, length, f"{where} of another config; the requeued job does not overwrite it"
        )
    if length is not None and done >= length:
        return Plan("finished", job_dir, done, length)
    return Plan("resume", job_dir, done, length)


def current_plan() -> Plan | None:
    """What this job does with its directory (decided on the node before Hydra wrote into it), when SLURM
    runs it; None elsewhere."""
    return _plan


# -- the job: submitit's preemption / time-limit signal, made graceful -----------------------------------

_submitit_handler: Callable | None = None
_signalled: int | None = None


def _on_preemption_signal(signum, frame) -> None:
    """USR2 from SLURM (preemption, or the time limit near): stop training at the end of the step, with a
    checkpoint, then let submitit requeue; outside training, submitit's handler at once."""
    global _signalled

    term = signal.getsignal(signal.SIGTERM)
    # While training runs, its graceful stop handles SIGTERM (at other times submitit's own handler does).
    if callable(term) and not isinstance(getattr(term, "__self__", None), SignalHandler):
        _signalled = signum
        term(signal.SIGTERM, frame)
    elif _submitit_handler is not None:
        _submitit_handler(signum, frame)


def install_preemption_handler() -> None:
    """In a submitit SLURM job: route submitit's USR2 handler through the graceful stop."""
    global _submitit_handler

    current = signal.getsignal(signal.SIGUSR2)
    if isinstance(getattr(current, "__self__", None), SignalHandler):
        _submitit_handler = current
        signal.signal(signal.SIGUSR2, _on_preemption_signal)


def requeue_if_signalled() -> None:
    """After training stopped on USR2 (checkpoint saved): submitit requeues the job and exits (or says
    why it does not, e.g. too many time-outs, and the caller reports the interruption)."""
    global _signalled
    if _signalled is None or _submitit_handler is None:
        return
    signum, _signalled = _signalled, None
    try:
        _submitit_handler(signum, None)  # requeues, then exits the process
    except Exception as error:  # noqa: BLE001 - submitit's own "not requeued because ..." message
        log.warning("%s", error)


# -- the launcher (hydra_plugins/excolor_slurm) -----------------------------------------------------------------------------------------


def before_launch(launcher, jobs: int, first: int) -> None:
    """In the launching process: quiet polling, and no new sweep over job directories that hold runs."""
    from omegaconf import OmegaConf

    if not isinstance(submitit_slurm.SlurmJob.watcher, QuietSlurmInfoWatcher):
        submitit_slurm.SlurmJob.watcher = QuietSlurmInfoWatcher(delay_s=60)
    sweep = OmegaConf.to_container(launcher.config.hydra.sweep, resolve=False)
    if sweep.get("subdir") != "${hydra.job.num}":
        return
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    for number in range(first, first + jobs):
        found = progress(sweep_dir / str(number))
        if found is not None:
            done, length = found
            print(
                f"excolor: error: {sweep_dir / str(number)} holds a run ({done} of {length or '?'} steps); "
                "a new sweep does not overwrite it: choose another hydra.sweep.dir",
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(2)


class _WithoutSbatchErrors:
    """sys.stderr less what submitit echoes of a refused sbatch (`launch_failed` says it in its line)."""

    def __init__(self, stream):
        self._stream = stream
        self._dropped = False

    def write(self, text: str) -> int:
        dropped, self._dropped = self._dropped, text.lstrip().startswith("sbatch: error:")
        if self._dropped or (dropped and text == "\n"):  # print() writes the line's end on its own
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def sbatch_errors_said_once():
    previous = sys.stderr
    sys.stderr = _WithoutSbatchErrors(previous)
    try:
        yield
    finally:
        sys.stderr = previous


def launch_failed(launcher, error: Exception) -> None:
    """A sweep SLURM would not take (sbatch refused it: exit 2, a user's setting), or a job that ended
    without a result (cancelled, killed, out of memory: exit 1), in one line instead of a traceback."""
    known = isinstance(error, (FailedJobError, UncompletedJobError))  # (RuntimeErrors themselves)
    if not known and isinstance(error, (RuntimeError, OSError)) and ("srun" in str(error) or "sbatch" in str(error)):
        print(
            f"excolor: error: no SLURM here ({error}); submit from a machine of the cluster, or start one "
            "with scripts/local-slurm.sh",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(2)
    if not known:
        return
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if lines and lines[0].startswith("sbatch: error:"):
        reasons = "; ".join(line.removeprefix("sbatch: error:").strip() for line in lines)
        print(f"excolor: error: sbatch refused the sweep: {reasons}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    first = lines[0] if lines else type(error).__name__
    print(
        f"excolor: error: a SLURM job ended without a result ({first}); its output is in {sweep_dir / '.submitit'}",
        file=sys.stderr,
        flush=True,
    )
    raise SystemExit(1)


def run_on_node(launcher, sweep_overrides, job_dir_key: str, job_num: int, singleton_state):
    """The job, on its node: the submitit plugin's own `__call__`, plus a look at the job directory before
    Hydra writes `.hydra/` into it (and no `.hydra/` written over a run it refuses)."""
    global _plan

    from hydra.core.hydra_config import HydraConfig
    from hydra.core.singleton import Singleton
    from hydra.core.utils import run_job, setup_globals
    from omegaconf import OmegaConf, open_dict, read_write

    install_preemption_handler()
    Singleton.set_state(singleton_state)
    setup_globals()
    config = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, sweep_overrides)
    with open_dict(config.hydra.job) as job:
        job.id = submitit.JobEnvironment().job_id
        job.num = job_num
    HydraConfig.instance().set_config(config)
    job_dir = Path(str(OmegaConf.select(config, job_dir_key))) / str(config.hydra.sweep.subdir)
    task_config = copy.deepcopy(config)  # what Hydra saves as .hydra/config.yaml
    with read_write(task_config), open_dict(task_config):
        del task_config["hydra"]
    _plan = plan_job(job_dir, OmegaConf.to_yaml(task_config), restart_count())
    if _plan.action == "refuse":
        with open_dict(config.hydra):
            config.hydra.output_subdir = None
    return run_job(
        hydra_context=launcher.hydra_context,
        task_function=launcher.task_function,
        config=config,
        job_dir_key=job_dir_key,
        job_subdir_key="hydra.sweep.subdir",
    )
