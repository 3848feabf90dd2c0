"""Running a task under Hydra's own entry point: run directories, sweeps and their jobs, seeds together."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ex_color.cli.common import fail, guarded


def sweep_job(task, cfg):
    """One job of a sweep: a user mistake or a failed run fails this job alone, in one line naming the
    job (and leaves error.json in its directory); the other jobs go on."""
    from hydra.core.hydra_config import HydraConfig

    from ex_color.errors import Interrupted, RunFailed, UserError
    from ex_color.launch.slurm import requeue_if_signalled
    from ex_color.launch.sweeps import ERROR_FILE, record_failure
    from ex_color.reuse import RunDirectoryInUse
    from ex_color.tasks.run import continue_job

    job_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = continue_job(task, cfg)  # the task, or (a requeued SLURM job) what its last attempt left
        (job_dir / ERROR_FILE).unlink(missing_ok=True)  # an earlier attempt's failure, now mended
        return result
    except Interrupted as error:  # a signal stops the whole sweep, not just this job
        requeue_if_signalled()  # SLURM's preemption/time-limit signal: submitit requeues the job and exits
        typer.echo(f"excolor: error: {error}", err=True)
        raise SystemExit(error.exit_code) from None
    except (UserError, RunFailed) as error:
        code = 2 if isinstance(error, UserError) else 1
        if code == 2 and not isinstance(error, RunDirectoryInUse):
            from ex_color.runs import discard_unfinished

            discard_unfinished(job_dir, log_name=f"{HydraConfig.get().job.name}.log")
        typer.echo(f"excolor: error: {record_failure(str(error), code)}", err=True)
        return None
    except Exception as error:  # a bug, not a mistake: its traceback goes to the job's log, the job is counted
        import logging
        import traceback

        trace = logging.LogRecord("excolor", logging.ERROR, __file__, 0, "%s", (traceback.format_exc(),), None)
        for handler in logging.getLogger().handlers:  # the job's log file, not the terminal
            if isinstance(handler, logging.FileHandler):
                handler.handle(trace)
        line = record_failure(f"{type(error).__name__}: {error} (traceback in the job's log)", 1)
        typer.echo(f"excolor: error: {line}", err=True)
        return None


def run_hydra(config_name: str, overrides: list[str], task, validate=None, overwrite: bool = False) -> None:
    """Compose `configs/<config_name>.yaml` with Hydra's own entry point (run dirs, multirun, launchers)."""
    import hydra

    from ex_color.config import check_overrides
    from ex_color.paths import config_dir
    from ex_color.launch.sweeps import last_sweep

    if {"-m", "--multirun"} & set(overrides) and {"--cfg", "-c", "--info", "-i"} & set(overrides):
        fail("-m and --cfg/--info: Hydra prints the config of one run, not of a sweep; drop -m")
    guarded(check_overrides, config_name, overrides, validate)
    before = guarded(check_output_dir, config_name, overrides, overwrite)

    @hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=config_name)
    def main(cfg):
        from hydra.core.hydra_config import HydraConfig

        from ex_color.launch.sweeps import in_sweep

        if in_sweep():
            result = sweep_job(task, cfg)
            if isinstance(result, Path):
                print(f"run directory: {result}", flush=True)
            return
        try:
            result = guarded(task, cfg)
        except SystemExit as stop:
            if stop.code == 2:  # a user mistake: leave no half-made run directory behind
                from ex_color.runs import discard_unfinished

                discard_unfinished(Path(HydraConfig.get().runtime.output_dir), keep=before)
            raise
        if isinstance(result, Path):
            print(f"run directory: {result}", flush=True)

    sys.argv = [f"excolor-{config_name}", *overrides]
    main()
    sweep = last_sweep()
    if sweep is not None and sweep.failures:
        fail(sweep.message(), sweep.exit_code)


def check_output_dir(config_name: str, overrides: list[str], overwrite: bool = False) -> frozenset[Path]:
    """A run (or sweep) directory that cannot be made, or that holds a run (unless `overwrite`: then the old
    run is removed), stops the command before anything starts. Returns what the run directory holds now."""
    from ex_color.config import HELP_FLAGS, INFO_FLAGS, VALUE_FLAGS, output_dir
    from ex_color.reuse import claim_output
    from ex_color.runs import check_writable

    if any(o in (*VALUE_FLAGS, *INFO_FLAGS, *HELP_FLAGS) for o in overrides):
        return frozenset()  # prints a config or help; makes no run directory
    multirun = any(o in ("-m", "--multirun") for o in overrides)
    check_writable(output_dir(config_name, overrides, multirun), "hydra.sweep.dir" if multirun else "hydra.run.dir")
    return claim_output(config_name, overrides, overwrite)


MAX_SEEDS = 4096


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> [0, …, 7]; '0,3,9' and '0-3,10-11' too. Raises UserError naming the bad part."""
    import re

    from ex_color.config import SEED_LIMIT
    from ex_color.errors import UserError

    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise UserError(f"--seeds {text}: {part!r} is not a seed or a range like 0-7")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise UserError(f"--seeds {text}: range {part!r} runs backwards")
        if high >= SEED_LIMIT:
            raise UserError(f"--seeds {text}: seed {high} is too large (seeds run from 0 to {SEED_LIMIT - 1})")
        if len(seeds) + high - low + 1 > MAX_SEEDS:
            raise UserError(f"--seeds {text}: more than {MAX_SEEDS} seeds")
        seeds.extend(range(low, high + 1))
        if len(seeds) > MAX_SEEDS:
            raise UserError(f"--seeds {text}: more than {MAX_SEEDS} seeds")
    if len(seeds) != len(set(seeds)):
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        raise UserError(f"--seeds {text}: seed {repeated[0]} appears twice")
    return seeds


def seeds_together(config_name: str, seeds: str, overrides: list[str], task, validate, overwrite=False) -> None:
    """`excolor <config_name> --seeds ...`: compose once, then `task(cfg, seeds=[...])`."""
    from functools import partial

    if any(o.split("=", 1)[0].lstrip("+~") == "seed" for o in overrides):
        fail("--seeds and seed=...: give the seeds with --seeds alone")
    chosen = guarded(parse_seeds, seeds)
    run_hydra(config_name, overrides, partial(task, seeds=chosen), validate, overwrite)
