"""`excolor search`: an Optuna study over the experiment's recipe (tasks.search)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ex_color.cli.common import HYDRA_ARGS, Overrides, app, guarded
from ex_color.cli.hydra_entry import parse_seeds


@app.command(context_settings=HYDRA_ARGS)
def search(
    overrides: Overrides = None,
    trials: Annotated[Optional[int], typer.Option("--trials", help="Trials in the study (all workers).")] = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Each trial's seeds (e.g. 100-119).")] = None,
    storage: Annotated[
        Optional[str],
        typer.Option("--storage", help="postgresql://USER@HOST/DB: a study that several workers share."),
    ] = None,
    directory: Annotated[
        Optional[Path],
        typer.Option("--dir", help="The search directory (default searches/NAME/TIME); workers give the same one."),
    ] = None,
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="Continue a search directory to its trials (or --trials).")
    ] = None,
) -> None:
    """Search the experiment's recipe with Optuna: its `search:` block's objectives over its space.

    Each trial is an `excolor run --seeds` redux in DIR/trial-<k>/. Writes search.md, search.json and
    figures/, and prints the best trial as an `excolor run` command line. See docs/search.md.
    """
    from ex_color.tasks.search import search as search_task

    parsed = guarded(parse_seeds, seeds) if seeds is not None else None
    result = guarded(search_task, list(overrides or []), trials, parsed, directory, storage, resume)
    best = result.data["best"]
    print(f"{result.ran} trial{'s' if result.ran != 1 else ''} run here; {len(result.data['trials'])} in the study")
    if best is not None:
        values = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in best["values"].items())
        print(f"best trial: {best['number']} ({values})\n  {best['command']}")
    print(f"search directory: {result.directory}", flush=True)
