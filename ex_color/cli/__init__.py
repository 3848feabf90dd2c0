"""The `excolor` command line: parses arguments, composes the config, calls one task. Nothing else.

Heavy libraries (torch, Lightning, Hydra) are imported inside the commands so that `--help` and
argument errors answer instantly. One module per family of commands; importing them registers them on `app`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ex_color.cli import training  # noqa: F401, I001  (registers train and run first, for --help's order)
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


def main() -> None:
    app()
