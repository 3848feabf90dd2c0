"""The `excolor` command line: parses arguments, composes the config, calls one task. Nothing else.

Heavy libraries (torch, Lightning, Hydra) are imported inside the commands so that `--help` and
argument errors answer instantly. One module per family of commands; importing them registers them on `app`.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from ex_color.cli import training  # noqa: F401, I001  (registers train and run first, for --help's order)
from ex_color.cli import search  # noqa: F401
from ex_color.cli import reading  # noqa: F401
from ex_color.cli.common import app

__all__ = ["app", "main"]


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
    importable_cwd()


def importable_cwd() -> None:
    """The working directory first on the import path, as `python -m` has it: a config's `_target_` then
    names the researcher's own files there (`my_terms.GramSpread`, `my_model.MyAutoencoder`) when `excolor`
    is the installed script too, whose own folder is all Python puts on the path."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def main() -> None:
    app()
