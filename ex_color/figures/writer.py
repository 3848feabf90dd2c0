"""Drawing a run's figures from its files (schedule, training) and from measured
arrays (colours, error, latents, stacked, similarity: `evaluation.measure.InterventionResult`), never by
predicting again."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ex_color import runs
from ex_color.errors import DamagedFile, UserError
from ex_color.figures.registry import FIGURES, figure_dir, figure_path
from ex_color.figures.views import figure_views, latent_widths, removed_dims
from ex_color.paths import resolve_dopesheet


def stacked_error(result, which: str = "intervened"):
    """The stacked figure's error panel: per-colour MSE on the loss cube at the highest saturation [H, V]."""
    return result.errors("loss", which)[:, -1, :]


def stacked_top(results, run_dir: Path | None = None, measured: Iterable[str] = ()) -> float:
    """The y limit of the stacked figures' error panels, shared by the conditions of a run: 5% above the
    highest error at full saturation on the loss cube of `results` (InterventionResults, each with its
    baseline) and of the other interventions saved in `run_dir` (predictions.npz's `stacked_error_max`;
    those `measured`, whose results are given, are not read again)."""
    import numpy as np

    tops = [float(np.nanmax(stacked_error(r, which))) for r in results for which in ("baseline", "intervened")]
    if run_dir is not None:
        from ex_color.errors import DamagedFile, reading

        skip = set(measured)
        for saved in sorted(Path(run_dir).glob("interventions/*/predictions.npz")):
            if saved.parent.name in skip:
                continue
            with reading(saved), np.load(saved, allow_pickle=False) as arrays:
                if "inputs" not in arrays.files:  # every predictions.npz has them; stacked_error_max came later
                    raise DamagedFile(saved, "no 'inputs' array: not an intervention's predictions")
                if "stacked_error_max" in arrays.files:
                    tops.append(float(arrays["stacked_error_max"]))
    top = max((t for t in tops if np.isfinite(t)), default=0.0)
    return top * 1.05 if top > 0 else 1.0


class FigureWriter:
    """Draws figures of one run into `out_dir` (default: the run's figures/ or the intervention's)."""

    def __init__(
        self, run_dir: Path, theme: str = "light", out_dir: Path | None = None, error_top: float | None = None
    ):
        """`error_top`: the y limit of the stacked figures' error panels, shared by the conditions of a run
        (`stacked_top`); default: from the drawn condition, its baseline and the run's saved interventions."""
        from ex_color.plots import get_theme

        get_theme(theme)  # fail early on an unknown theme
        self.run_dir = Path(run_dir)
        self.theme = theme
        self.out_dir = out_dir
        self.error_top = error_top

    def draw(self, names: Iterable[str], result=None) -> list[Path]:
        """`result`: an InterventionResult; model figures of `none` (or of no result given) are the baseline's,
        drawn into the run's figures/."""
        paths = []
        for name in names:
            if name not in FIGURES:
                raise UserError(f"unknown figure {name!r}; figures: {', '.join(FIGURES)}, all")
            paths.append(getattr(self, name.replace("-", "_"))(result))
        return paths

    def _save(self, name: str, result, fig_and_alt) -> Path:
        from ex_color.plots import save_figure

        kind = None if result is None else result.kind
        directory = self.out_dir or figure_dir(self.run_dir, kind)
        fig, alt = fig_and_alt
        return save_figure(fig, figure_path(Path(directory), name, self.theme), alt)

    @staticmethod
    def _label(result) -> str:
        return "no intervention" if result.kind == "none" else result.kind

    def colors(self, result) -> Path:
        from ex_color.plots import plot_color_grid

        cube = result.probe.display
        pred = result.intervened.display.outputs.reshape(cube.rgb.shape)
        figure = plot_color_grid(
            pred,
            cube.rgb,
            cube.coords["s"],
            cube.coords["v"],
            cube.coords["h"],
            title=f"Predicted colours · {self._label(result)}",
            theme=self.theme,
        )
        return self._save("colors", result, figure)

    def error(self, result) -> Path:
        from ex_color.plots import plot_error_series

        cube = result.probe.hd
        baseline = result.hd_errors("baseline") if result.intervention.changes_model else None
        figure = plot_error_series(
            result.hd_errors(),
            cube.coords["h"],
            cube.coords["s"],
            cube.coords["v"],
            title=f"Reconstruction error · {self._label(result)}",
            baseline=baseline,
            theme=self.theme,
        )
        return self._save("error", result, figure)

    def latents(self, result) -> Path:
        return self._latent_views("latents", result)

    def latents_grid(self, result) -> Path:
        return self._latent_views("latents-grid", result, columns=3)

    def _latent_views(self, name: str, result, columns: int | None = None) -> Path:
        from ex_color.plots import Cone, plot_latent_views

        predictions = result.intervened.rgb
        cones = [Cone(*mark) for mark in result.intervention.cones()]
        title = f"Latents · {self._label(result)}"
        removed = removed_dims(result)
        if removed:
            full = latent_widths(result)[0]
            kept = [d for d in range(full) if d not in removed]
            title += (
                f" ({', '.join(map(str, removed))} removed; {', '.join(map(str, kept))} → "
                f"{', '.join(map(str, range(len(kept))))})"
            )
        figure = plot_latent_views(
            predictions.latents,
            predictions.outputs,
            result.probe.rgb.flat_rgb(),
            dims=figure_views(result.settings, name, result),
            cones=cones,
            title=title,
            theme=self.theme,
            columns=columns,
        )
        return self._save(name, result, figure)

    def rgb_cube(self, result=None) -> Path:
        from ex_color.plots import plot_rgb_cube

        return self._save("rgb-cube", result, plot_rgb_cube(theme=self.theme))

    def stacked(self, result) -> Path:
        import numpy as np

        from ex_color.plots import Cone, plot_stacked

        probe, predictions = result.probe, result.intervened
        views = figure_views(result.settings, "stacked", result)
        slices = probe.slices  # axes (h, s, v); the stacked figure shows s = max, v > 0
        v = slices.coords["v"]
        rows = np.flatnonzero(v > 0)
        pred = predictions.slices.outputs.reshape(slices.shape + (3,))[:, -1, rows].transpose(1, 0, 2)
        true = slices.rgb[:, -1, rows].transpose(1, 0, 2)
        loss = probe.loss
        top = self.error_top if self.error_top is not None else stacked_top([result], self.run_dir)
        figure = plot_stacked(
            predictions.rgb.latents,
            predictions.rgb.outputs,
            probe.rgb.flat_rgb(),
            views,
            pred,
            true,
            v[rows],
            slices.coords["h"] * 360.0,
            stacked_error(result),
            loss.coords["h"] * 360.0,
            loss.coords["v"],
            y_max=top,
            cones=[Cone(*mark) for mark in result.intervention.cones()],
            title=f"Stacked result · {self._label(result)}",
            theme=self.theme,
            saturation=float(slices.coords["s"][-1]),
        )
        return self._save("stacked", result, figure)

    def similarity(self, result) -> Path:
        from ex_color.plots import plot_error_similarity

        if not result.intervention.changes_model:
            raise UserError("the similarity figure needs an intervention that changes the model (got none)")
        x, y = result.correlation_arrays()
        correlation = result.settings.correlation
        xlabel = correlation.label(result.metrics.selectivity.target_color)
        figure = plot_error_similarity(
            x,
            y,
            result.probe.rgb.flat_rgb(),
            xlabel=xlabel,
            title=f"Error against {correlation.against} · {self._label(result)}",
            theme=self.theme,
        )
        return self._save("similarity", result, figure)

    def intervention(self, result) -> Path:
        from ex_color.interventions.kinds import response_curve
        from ex_color.plots import plot_intervention_curve

        intervention = result.intervention if result is not None else None
        fn = intervention.transform() if intervention is not None else None
        if fn is None:
            kind = intervention.name if intervention is not None else "none"
            raise UserError(f"the intervention figure needs a hook intervention (suppression, repulsion; got {kind})")
        align_in, align_out, lobe = response_curve(fn, intervention.concept[1])
        figure = plot_intervention_curve(
            align_in,
            align_out,
            intervention.name,
            dict(intervention.params),
            title=f"Intervention · {intervention.name}",
            theme=self.theme,
            lobe_xy=lobe,
        )
        return self._save("intervention", result, figure)

    def training(self, result=None) -> Path:
        from ex_color.plots import plot_training
        from ex_color.reports.results import read_metrics

        steps, series = read_metrics(self.run_dir / runs.METRICS)
        timeline = run_timeline(self.run_dir)
        name = runs.load_config(self.run_dir).get("name", self.run_dir.name)
        figure = plot_training(
            steps, series, timeline.phases, timeline.events, title=f"Training · {name}", theme=self.theme
        )
        return self._save("training", None, figure)

    def schedule(self, result=None) -> Path:
        return self._save("schedule", None, schedule_figure(run_timeline(self.run_dir), self.theme))


def run_timeline(run_dir: Path):
    """The run's schedule (its dopesheet.csv), checked against the length its checkpoint was trained to."""
    from ex_color.schedule import Timeline, load_dopesheet

    path = Path(run_dir) / runs.DOPESHEET
    timeline = Timeline.from_dopesheet(load_dopesheet(path))
    trained = runs.checkpoint_metadata(run_dir).get("schedule_length")
    if trained is not None and timeline.length != int(trained):
        raise DamagedFile(path, f"a schedule of {timeline.length} steps; the run's checkpoint has {trained}")
    return timeline


def schedule_figure(timeline, theme: str):
    from ex_color.plots import plot_schedule

    title = f"Schedule · {Path(timeline.source).name}"
    return plot_schedule(
        timeline.length,
        timeline.values,
        timeline.keyframes,
        timeline.spaces,
        timeline.phases,
        timeline.events,
        title=title,
        theme=theme,
    )


def plot_dopesheet(dopesheet: Path, out_dir: Path, theme: str = "light") -> Path:
    """The schedule figure of a CSV alone, before any training."""
    from ex_color.plots import get_theme, save_figure
    from ex_color.schedule import Timeline, load_dopesheet

    get_theme(theme)
    path = resolve_dopesheet(dopesheet)
    timeline = Timeline.from_dopesheet(load_dopesheet(path))
    fig, alt = schedule_figure(timeline, theme)
    return save_figure(fig, figure_path(Path(out_dir), f"schedule-{path.stem}", theme), alt)
