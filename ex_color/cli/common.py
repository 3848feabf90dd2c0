"""What every command shares: the Typer app, one-line errors and exit codes, the common options."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

# On a machine with SLURM's tools (a cluster's login node), Lightning warns on every run that `srun` is
# not used: training here is one process by design, and sweeps reach SLURM through the launcher.
warnings.filterwarnings("ignore", message="The `srun` command is available on your system but is not used")

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


OVERWRITE_HELP = (
    "Replace the run (or, with -m, each sweep job's run) already in the output directory: it is removed first. "
    "Without it such a directory is refused."
)
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)]

SEEDS_HELP = (
    "Train these seeds together in one process (e.g. 0-7 or 0,3,9), each into seed-<k>/ of one directory "
    "(an ordinary run; resumable with --resume DIR); much faster than a seed sweep."
)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"excolor: error: {message}", err=True)
    raise SystemExit(code)


def guarded(task, *args, **kwargs):
    """Run a task; user mistakes become one line on stderr and exit 2, failed runs exit 1."""
    from ex_color.errors import Interrupted, RunFailed, UserError

    try:
        return task(*args, **kwargs)
    except UserError as error:
        fail(str(error), 2)
    except RunFailed as error:
        fail(str(error), 1)
    except Interrupted as error:
        fail(str(error), error.exit_code)
    except KeyboardInterrupt:  # outside training, which saves and says how to resume: nothing to continue
        fail("interrupted (SIGINT)", 130)


KindOption = Annotated[
    Optional[str],
    typer.Option(
        "--kind",
        help="Intervention: a config in configs/intervention/ (none, suppression, repulsion, "
        "ablation, prune, ...), with the run's own settings for it unless overridden.",
    ),
]
RunOption = Annotated[Optional[Path], typer.Option("--run", help="Run directory (default: outputs/latest).")]
