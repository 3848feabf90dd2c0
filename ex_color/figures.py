"""The figure registry and drawing: a run's figures from its files (schedule, training) and from measured
arrays (colours, error, latents: `evaluation.measure.InterventionResult`), never by predicting again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ex_color import runs
from ex_color.errors import UserError


@dataclass(frozen=True)
class FigureKind:
    title: str
    scope: str  # "run": from the run's files; "model": from predictions; "hook": a hook intervention's map


FIGURES = {
    "schedule": FigureKind("Schedule", "run"),
    "training": FigureKind("Training curves", "run"),
    "colors": FigureKind("Predicted colours", "model"),
    "error": FigureKind("Per-colour error", "model"),
    "latents": FigureKind("Latent space", "model"),
    "intervention": FigureKind("Intervention response", "hook"),
}
RUN_FIGURES = tuple(name for name, figure in FIGURES.items() if figure.scope in ("run", "model"))
INTERVENTION_FIGURES = ("intervention", *(name for name, figure in FIGURES.items() if figure.scope == "model"))
LATENT_VIEWS = ((1, 0, 2), (1, 2, 0), (1, 3, 0))


def figure_dir(run_dir: Path, kind: str | None) -> Path:
    return run_dir / "figures" if kind in (None, "none") else run_dir / "interventions" / kind / "figures"


def figure_path(directory: Path, name: str, theme: str) -> Path:
    return directory / (f"{name}.png" if theme == "light" else f"{name}-{theme}.png")


def applicable(names: Iterable[str], result) -> list[str]:
    """The figures among `names` that a result can have: the response figure only for hook kinds."""
    return [name for name in names if name != "intervention" or result.intervention.transform() is not None]


class FigureWriter:
    """Draws figures of one run into `out_dir` (default: the run's figures/ or the intervention's)."""

    def __init__(self, run_dir: Path, theme: str = "light", out_dir: Path | None = None):
        from ex_color.plots import get_theme

        get_theme(theme)  # fail early on an unknown theme
        self.run_dir = Path(run_dir)
        self.theme = theme
        self.out_dir = out_dir

    def draw(self, names: Iterable[str], result=None) -> list[Path]:
        """`result`: an InterventionResult; model figures of `none` (or of no result given) are the baseline's,
        drawn into the run's figures/."""
        paths = []
        for name in names:
            if name not in FIGURES:
                raise UserError(f"unknown figure {name!r}; figures: {', '.join(FIGURES)}, all")
            paths.append(getattr(self, name)(result))
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
        from ex_color.plots import Cone, plot_latent_views

        predictions = result.intervened.rgb
        width = predictions.latents.shape[1]
        views = [v for v in LATENT_VIEWS if max(v) < width] or [tuple(range(min(3, width)))]
        cones = [Cone(*mark) for mark in result.intervention.cones()]
        figure = plot_latent_views(
            predictions.latents,
            predictions.outputs,
            result.probe.rgb.flat_rgb(),
            dims=views,
            cones=cones,
            title=f"Latents · {self._label(result)}",
            theme=self.theme,
        )
        return self._save("latents", result, figure)

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
        from ex_color.results import read_metrics

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
    from ex_color.schedule import Timeline, load_dopesheet

    return Timeline.from_dopesheet(load_dopesheet(Path(run_dir) / runs.DOPESHEET))


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
    from ex_color.paths import resolve_dopesheet
    from ex_color.plots import get_theme, save_figure
    from ex_color.schedule import Timeline, load_dopesheet

    get_theme(theme)
    path = resolve_dopesheet(dopesheet)
    timeline = Timeline.from_dopesheet(load_dopesheet(path))
    fig, alt = schedule_figure(timeline, theme)
    return save_figure(fig, figure_path(Path(out_dir), f"schedule-{path.stem}", theme), alt)
