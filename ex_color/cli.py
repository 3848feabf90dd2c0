"""The `excolor` command line: parses arguments, composes the config, calls one task. Nothing else.

Heavy libraries (torch, Lightning, Hydra) are imported inside the commands so that `--help` and
argument errors answer instantly.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="excolor",
    help="Concept anchoring and intervention experiments on a tiny colour autoencoder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# Hydra overrides (key=value, +key=value, ~key) and Hydra's own flags (-m, --cfg job) pass through.
HYDRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}
Overrides = Annotated[
    Optional[list[str]],
    typer.Argument(help="Hydra overrides, e.g. seed=1 experiment=smoke model.bottleneck=5; -m for a sweep."),
]


def version_callback(value: bool) -> None:
    if value:
        from ex_color import __version__

        typer.echo(f"excolor {__version__}")
        raise typer.Exit()


@app.callback()
def excolor(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Concept anchoring and intervention experiments on a tiny colour autoencoder.

    Every command that composes a config takes Hydra overrides (key=value); `excolor train --help` shows how.
    """


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"excolor: error: {message}", err=True)
    raise SystemExit(code)


def guarded(task, *args, **kwargs):
    """Run a task; user mistakes become one line on stderr and exit 2, failed runs exit 1."""
    from ex_color.errors import RunFailed, UserError

    try:
        return task(*args, **kwargs)
    except UserError as error:
        fail(str(error), 2)
    except RunFailed as error:
        fail(str(error), 1)


def run_hydra(config_name: str, overrides: list[str], task) -> None:
    """Compose `configs/<config_name>.yaml` with Hydra's own entry point (run dirs, multirun, launchers)."""
    import hydra

    from ex_color.config import check_overrides
    from ex_color.paths import config_dir

    guarded(check_overrides, config_name, overrides)

    @hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=config_name)
    def main(cfg):
        result = guarded(task, cfg)
        if isinstance(result, Path):
            print(f"run directory: {result}", flush=True)

    sys.argv = [f"excolor-{config_name}", *overrides]
    main()


@app.command(context_settings=HYDRA_ARGS)
def train(
    overrides: Overrides = None,
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="Continue an interrupted run in this directory.")
    ] = None,
) -> None:
    """Train a model (experiment 2.2 by default). The last line names the run directory."""
    if resume is not None:
        from ex_color.tasks.train import resume_run

        run_dir = guarded(resume_run, resume)
        print(f"run directory: {run_dir}", flush=True)
        return
    from ex_color.tasks.train import train as train_task

    run_hydra("train", list(overrides or []), train_task)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
