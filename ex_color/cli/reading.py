"""The commands that read runs: `excolor report`, `intervene`, `infer` and `plot`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ex_color.cli.common import HYDRA_ARGS, KindOption, RunOption, app, guarded


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
            "or a metric column such as loss, recon, repulsion/mean (lower is better), or a redux seed's "
            "selectivity.<kind>.delta_ratio (higher is better).",
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

    from ex_color.reports.render import print_tables
    from ex_color.tasks.report import report as report_task

    summary, written = guarded(report_task, list(paths or []), best, output, run_reports)

    print_tables(summary.tables(), summary.lines())
    for path in written:
        print(f"written: {path}", flush=True)


@app.command(context_settings=HYDRA_ARGS)
def intervene(
    kind: KindOption = None,
    run: RunOption = None,
    overrides: Annotated[
        Optional[list[str]],
        typer.Argument(help="Hydra overrides of the intervention, e.g. intervention.mapper.b=0.7"),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace RUN/interventions/KIND when it holds other settings' result."),
    ] = False,
) -> None:
    """Intervene on a concept and measure what changed.

    Evaluates the run's model with and without the intervention (the run's settings for KIND, then the
    overrides) and writes metrics.json, predictions.npz and figures to RUN/interventions/KIND/. A result
    there measured with other settings (the run's own, or an earlier intervene's) is replaced only with
    --overwrite.
    """
    from ex_color.reports.tables import intervention_table, print_table

    def task():
        from ex_color.tasks.intervene import intervene as intervene_task

        if kind is None:
            from ex_color.errors import UserError

            raise UserError("--kind is required (a config in configs/intervention/: none, suppression, repulsion, ...)")
        return intervene_task(kind, run, list(overrides or []), overwrite=overwrite)

    out_dir, result = guarded(task)
    if hasattr(result, "table"):  # another domain's metrics (ex_color.domains)
        from ex_color.reports.render import print_tables

        print_tables([result.table()])
    else:
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
        Optional[Path],
        typer.Option("--input", help="An .npy or .csv file of N×3 floats in [0, 1]; a digits run: .npy, N×64."),
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
    if len(inputs) <= 64 and inputs.shape[-1] == 3:
        from ex_color.reports.tables import inference_table, print_table

        print_table(inference_table(inputs, outputs, latents, errors, labels))
    else:
        print(
            f"{len(inputs)} {'colours' if inputs.shape[-1] == 3 else 'inputs'}: mean MSE {float(errors.mean()):.4g}, max {float(errors.max()):.4g}"
        )
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
