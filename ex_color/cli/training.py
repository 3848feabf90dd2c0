"""The commands that train: `excolor train` and `excolor run` (the main job, the redux)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ex_color.cli.common import HYDRA_ARGS, SEEDS_HELP, OverwriteOption, Overrides, app, fail, guarded
from ex_color.cli.hydra_entry import run_hydra, seeds_together


@app.command(context_settings=HYDRA_ARGS)
def train(
    overrides: Overrides = None,
    resume: Annotated[
        Optional[Path],
        typer.Option(
            "--resume", help="Continue an interrupted run (one seed, or a --seeds directory) from its checkpoints."
        ),
    ] = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help=SEEDS_HELP)] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Train a model (experiment 2.2 by default).

    The last line printed names the run directory; outputs/latest points at it.
    """
    if resume is not None:
        if seeds is not None or overrides or overwrite:
            fail("--resume continues a run with the config and seeds it was started with; give it alone")
        from ex_color.tasks.train import resume_run

        run_dir = guarded(resume_run, resume)
        print(f"run directory: {run_dir}", flush=True)
        return
    if seeds is not None:
        from ex_color.tasks.train import train as train_task
        from ex_color.tasks.train import validate_seeds

        seeds_together("train", seeds, list(overrides or []), train_task, validate_seeds, overwrite)
        return
    from ex_color.tasks.train import train as train_task
    from ex_color.tasks.train import validate

    run_hydra("train", list(overrides or []), train_task, validate, overwrite)


@app.command("run", context_settings=HYDRA_ARGS)
def run_command(
    overrides: Overrides = None,
    seeds: Annotated[
        Optional[str],
        typer.Option(
            "--seeds",
            help=SEEDS_HELP + " Each seed is then scored, the best (or, with --evaluate all, every) seed is "
            "evaluated in full, and summary.md / summary.json compare them.",
        ),
    ] = None,
    evaluate: Annotated[
        Optional[str],
        typer.Option(
            "--evaluate",
            help="With --seeds: evaluate in full the best seed by score (best, the default) or every seed (all).",
        ),
    ] = None,
    overwrite: OverwriteOption = False,
    resume: Annotated[
        Optional[Path],
        typer.Option(
            "--resume",
            help="Finish an interrupted `excolor run` (one seed, or a --seeds directory): training from its "
            "checkpoints, then the evaluation, figures and report it had not written.",
        ),
    ] = None,
) -> None:
    """The main job: train, intervene, draw every figure, write report.md.

    Takes every `train` override, plus `interventions=[none,suppression,repulsion]` and
    `'intervention_overrides.KIND=["key=value"]'`. The last line printed names the run directory.
    """
    if resume is not None:
        if seeds is not None or evaluate is not None or overrides or overwrite:
            fail("--resume finishes a run with the config and seeds it was started with; give it alone")
        from ex_color.tasks.run import resume as resume_task

        run_dir = guarded(resume_task, resume)
        print(f"run directory: {run_dir}", flush=True)
        return
    overrides = list(overrides or [])
    if evaluate is not None:
        if seeds is None:
            fail("--evaluate chooses which of several seeds are evaluated: give it with --seeds")
        if evaluate not in ("best", "all"):
            fail(f"--evaluate {evaluate}: expected best or all")
        overrides.insert(0, f"redux.evaluate={evaluate}")  # before any Hydra flag such as --cfg job
    if seeds is not None:
        from ex_color.tasks.run import run_seeds, validate_seeds

        seeds_together("run", seeds, overrides, run_seeds, validate_seeds, overwrite)
        return
    from ex_color.tasks.run import run as run_task
    from ex_color.tasks.run import validate

    run_hydra("run", overrides, run_task, validate, overwrite)
