"""The `excolor` command line: parses arguments, composes the config, calls one task. Nothing else.

Heavy libraries (torch, Lightning, Hydra) are imported inside the commands so that `--help` and
argument errors answer instantly.
"""

from __future__ import annotations

import sys
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


SEEDS_HELP = (
    "Train these seeds together in one process (e.g. 0-7 or 0,3,9), each into seed-<k>/ of one directory "
    "(an ordinary run; resumable with --resume DIR); much faster than a seed sweep."
)


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
    from ex_color.errors import Interrupted, RunFailed, UserError

    try:
        return task(*args, **kwargs)
    except UserError as error:
        fail(str(error), 2)
    except RunFailed as error:
        fail(str(error), 1)
    except Interrupted as error:
        fail(str(error), error.exit_code)


def sweep_job(task, cfg):
    """One job of a sweep: a user mistake or a failed run fails this job alone, in one line naming the
    job (and leaves error.json in its directory); the other jobs go on."""
    from hydra.core.hydra_config import HydraConfig

    from ex_color.errors import Interrupted, RunFailed, UserError
    from ex_color.slurm import requeue_if_signalled
    from ex_color.tasks.run import continue_job
    from ex_color.sweeps import record_failure

    try:
        return continue_job(task, cfg)  # the task, or (a requeued SLURM job) what its last attempt left
    except Interrupted as error:  # a signal stops the whole sweep, not just this job
        requeue_if_signalled()  # SLURM's preemption/time-limit signal: submitit requeues the job and exits
        typer.echo(f"excolor: error: {error}", err=True)
        raise SystemExit(error.exit_code) from None
    except (UserError, RunFailed) as error:
        code = 2 if isinstance(error, UserError) else 1
        if code == 2:
            from ex_color.runs import discard_unfinished

            discard_unfinished(Path(HydraConfig.get().runtime.output_dir))
        typer.echo(f"excolor: error: {record_failure(str(error), code)}", err=True)
        return None


def run_hydra(config_name: str, overrides: list[str], task, validate=None) -> None:
    """Compose `configs/<config_name>.yaml` with Hydra's own entry point (run dirs, multirun, launchers)."""
    import hydra

    from ex_color.config import check_overrides
    from ex_color.paths import config_dir
    from ex_color.sweeps import last_sweep

    if {"-m", "--multirun"} & set(overrides) and {"--cfg", "-c", "--info", "-i"} & set(overrides):
        fail("-m and --cfg/--info: Hydra prints the config of one run, not of a sweep; drop -m")
    guarded(check_overrides, config_name, overrides, validate)
    guarded(check_output_dir, config_name, overrides)

    @hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=config_name)
    def main(cfg):
        from hydra.core.hydra_config import HydraConfig

        from ex_color.sweeps import in_sweep

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

                discard_unfinished(Path(HydraConfig.get().runtime.output_dir))
            raise
        if isinstance(result, Path):
            print(f"run directory: {result}", flush=True)

    sys.argv = [f"excolor-{config_name}", *overrides]
    main()
    sweep = last_sweep()
    if sweep is not None and sweep.failures:
        fail(sweep.message(), sweep.exit_code)


def check_output_dir(config_name: str, overrides: list[str]) -> None:
    """A run (or sweep) directory that cannot be made stops the command before anything starts."""
    from ex_color.config import HELP_FLAGS, INFO_FLAGS, VALUE_FLAGS, output_dir
    from ex_color.runs import check_writable

    if any(o in (*VALUE_FLAGS, *INFO_FLAGS, *HELP_FLAGS) for o in overrides):
        return  # prints a config or help; makes no run directory
    multirun = any(o in ("-m", "--multirun") for o in overrides)
    check_writable(output_dir(config_name, overrides, multirun), "hydra.sweep.dir" if multirun else "hydra.run.dir")


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
) -> None:
    """Train a model (experiment 2.2 by default).

    The last line printed names the run directory; outputs/latest points at it.
    """
    if resume is not None:
        if seeds is not None or overrides:
            fail("--resume continues a run with the config and seeds it was started with; give it alone")
        from ex_color.tasks.train import resume_run

        run_dir = guarded(resume_run, resume)
        print(f"run directory: {run_dir}", flush=True)
        return
    if seeds is not None:
        from ex_color.tasks.train import train as train_task
        from ex_color.tasks.train import validate_seeds

        seeds_together("train", seeds, list(overrides or []), train_task, validate_seeds)
        return
    from ex_color.tasks.train import train as train_task
    from ex_color.tasks.train import validate

    run_hydra("train", list(overrides or []), train_task, validate)


MAX_SEEDS = 4096


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> [0, …, 7]; '0,3,9' and '0-3,10-11' too. Raises UserError naming the bad part."""
    import re

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
        seeds.extend(range(low, high + 1))
        if len(seeds) > MAX_SEEDS:
            raise UserError(f"--seeds {text}: more than {MAX_SEEDS} seeds")
    if len(seeds) != len(set(seeds)):
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        raise UserError(f"--seeds {text}: seed {repeated[0]} appears twice")
    return seeds


def seeds_together(config_name: str, seeds: str, overrides: list[str], task, validate) -> None:
    """`excolor <config_name> --seeds ...`: compose once, then `task(cfg, seeds=[...])`."""
    from functools import partial

    if any(o.split("=", 1)[0].lstrip("+~") == "seed" for o in overrides):
        fail("--seeds and seed=...: give the seeds with --seeds alone")
    chosen = guarded(parse_seeds, seeds)
    run_hydra(config_name, overrides, partial(task, seeds=chosen), validate)


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
) -> None:
    """The main job: train, intervene, draw every figure, write report.md.

    Takes every `train` override, plus `interventions=[none,suppression,repulsion]` and
    `'intervention_overrides.KIND=["key=value"]'`. The last line printed names the run directory.
    """
    overrides = list(overrides or [])
    if evaluate is not None:
        if seeds is None:
            fail("--evaluate chooses which of several seeds are evaluated: give it with --seeds")
        if evaluate not in ("best", "all"):
            fail(f"--evaluate {evaluate}: expected best or all")
        overrides.insert(0, f"redux.evaluate={evaluate}")  # before any Hydra flag such as --cfg job
    if seeds is not None:
        from ex_color.tasks.run import run_seeds, validate_seeds

        seeds_together("run", seeds, overrides, run_seeds, validate_seeds)
        return
    from ex_color.tasks.run import run as run_task
    from ex_color.tasks.run import validate

    run_hydra("run", overrides, run_task, validate)


@app.command()
def report(
    paths: Annotated[
        Optional[list[Path]],
        typer.Argument(
            help="Run directories, or folders holding runs (a sweep), searched recursively. Default: outputs/latest."
        ),
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", help="Also write the summary as Markdown to this file.")
    ] = None,
    best: Annotated[
        Optional[str],
        typer.Option(
            "--best",
            help="Metric that picks the best run: score (the experiment's, higher is better; the default when "
            "the runs have one), selectivity (repulsion's, else suppression's, error_ratio; higher is better), "
            "or a metric column such as loss, recon, repulsion/mean (lower is better).",
        ),
    ] = None,
    run_reports: Annotated[
        bool,
        typer.Option(
            "--run-reports",
            help="Also (re)write report.md (and named-colors.html/.tex) in each run directory from its files.",
        ),
    ] = False,
) -> None:
    """Compare runs: final losses and intervention metrics.

    Shows mean ± std, min and max over the runs, a row per run, and the best run. One folder holding two
    runs or more (a sweep) also gets its figures in FOLDER/figures/ (box plots of every final metric);
    several paths get none. Prints every file written.
    """

    from ex_color.render import print_tables
    from ex_color.tasks.report import report as report_task

    summary, written = guarded(report_task, list(paths or []), best, output, run_reports)

    print_tables(summary.tables(), summary.lines())
    for path in written:
        print(f"written: {path}", flush=True)


KindOption = Annotated[
    Optional[str],
    typer.Option(
        "--kind",
        help="Intervention: a config in configs/intervention/ (none, suppression, repulsion, "
        "ablation, prune, ...), with the run's own settings for it unless overridden.",
    ),
]
RunOption = Annotated[Optional[Path], typer.Option("--run", help="Run directory (default: outputs/latest).")]


@app.command(context_settings=HYDRA_ARGS)
def intervene(
    kind: KindOption = None,
    run: RunOption = None,
    overrides: Annotated[
        Optional[list[str]],
        typer.Argument(help="Hydra overrides of the intervention, e.g. intervention.mapper.b=0.7"),
    ] = None,
) -> None:
    """Intervene on a concept and measure what changed.

    Evaluates the run's model with and without the intervention (the run's settings for KIND, then the
    overrides) and writes metrics.json, predictions.npz and figures to RUN/interventions/KIND/.
    """
    from ex_color.tables import intervention_table, print_table

    def task():
        from ex_color.tasks.intervene import intervene as intervene_task

        if kind is None:
            from ex_color.errors import UserError

            raise UserError("--kind is required (a config in configs/intervention/: none, suppression, repulsion, ...)")
        return intervene_task(kind, run, list(overrides or []))

    out_dir, result = guarded(task)
    print_table(intervention_table(result.metrics))
    print(f"results: {out_dir}", flush=True)


@app.command()
def infer(
    colors: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Colours: '#ff0000', 'r,g,b' floats in [0, 1], or names like red. Default: 17 named colours."
        ),
    ] = None,
    run: RunOption = None,
    kind: KindOption = None,
    input_file: Annotated[
        Optional[Path], typer.Option("--input", help="An .npy or .csv file of N×3 floats in [0, 1].")
    ] = None,
    output_file: Annotated[
        Optional[Path], typer.Option("--output", help="Save inputs, outputs, latents as .npz.")
    ] = None,
    overrides: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="Override of the intervention config (repeatable), e.g. intervention.mapper.b=0.7"),
    ] = None,
) -> None:
    """Run a trained model on colours you give.

    Optionally with an intervention (--kind: the run's settings for it, then --set overrides); small inputs
    print a table, --output saves arrays.
    """

    def task():
        from ex_color.tasks.infer import infer as infer_task

        return infer_task(run, colors or [], input_file, output_file, kind, list(overrides or []))

    inputs, outputs, latents, errors, labels = guarded(task)
    if len(inputs) <= 64:
        from ex_color.tables import inference_table, print_table

        print_table(inference_table(inputs, outputs, latents, errors, labels))
    else:
        print(f"{len(inputs)} colours: mean MSE {float(errors.mean()):.4g}, max {float(errors.max()):.4g}")
    if output_file is not None:
        print(f"saved: {output_file}", flush=True)


@app.command()
def plot(
    what: Annotated[
        str,
        typer.Argument(
            help="colors, error, latents, latents-grid, stacked, similarity, training, schedule, intervention, "
            "rgb-cube (needs no run), or all; history or evolution (the latent history: runs trained with "
            "history.snapshots > 0); explorer: an interactive 3-D page (figures/explorer.html)"
        ),
    ],
    run: RunOption = None,
    kind: KindOption = None,
    theme: Annotated[str, typer.Option("--theme", help="light or dark (for slides).")] = "light",
    dopesheet: Annotated[
        Optional[Path], typer.Option("--dopesheet", help="With 'schedule': plot this CSV alone, no run needed.")
    ] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Folder for the PNGs (default: the run's figures/).")
    ] = None,
    views: Annotated[
        Optional[str],
        typer.Option(
            "--views",
            help="history, evolution: latent dims x,y per view, e.g. '1,0;1,2;1,3' (default: that for history, "
            "'1,0;1,2;3,2' for evolution; history's thumbnails show the first).",
        ),
    ] = None,
    thumbnails: Annotated[int, typer.Option("--thumbnails", help="history: earlier snapshots in the strip.")] = 10,
    fps: Annotated[float, typer.Option("--fps", help="evolution: frames per second.")] = 12.0,
    frames_per_snapshot: Annotated[
        int, typer.Option("--frames-per-snapshot", help="evolution: frames per snapshot (>1: interpolated).")
    ] = 1,
    dpi: Annotated[int, typer.Option("--dpi", help="evolution: dots per inch of the frames (9 x 6.4 in).")] = 80,
) -> None:
    """Draw a run's figures (PNG, with alt text).

    Figures go to RUN/figures/, or RUN/interventions/KIND/figures/ with --kind. rgb-cube needs no run: it
    goes to --out, the run's folder with --run, else ./figures/. `evolution` writes evolution.gif, and
    evolution.mp4 where ffmpeg is installed. explorer writes RUN/figures/explorer.html, one self-contained
    page (baseline and every evaluated intervention; opening on --kind).
    """

    def task():
        from ex_color.tasks.plot import HistoryOptions
        from ex_color.tasks.plot import plot as plot_task

        history = HistoryOptions(views, thumbnails, fps, frames_per_snapshot, dpi)
        return plot_task(what, run, kind, theme, dopesheet, out, history)

    for path in guarded(task):
        print(path, flush=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
