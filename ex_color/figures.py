"""The figure registry and drawing: a run's figures from its files (schedule, training) and from measured
arrays (colours, error, latents, stacked, similarity: `evaluation.measure.InterventionResult`), never by
predicting again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ex_color import runs
from ex_color.errors import UserError


@dataclass(frozen=True)
class FigureKind:
    title: str
    # "run": from the run's files; "model": from predictions; "changed": from the predictions of an
    # intervention that changes the model (not `none`); "hook": a hook intervention's map; "static": from
    # nothing (drawn beside an intervention that deletes two or more latent dims, or by `excolor plot`)
    scope: str


FIGURES = {
    "schedule": FigureKind("Schedule", "run"),
    "training": FigureKind("Training curves", "run"),
    "colors": FigureKind("Predicted colours", "model"),
    "error": FigureKind("Per-colour error", "model"),
    "latents": FigureKind("Latent space", "model"),
    "latents-grid": FigureKind("Latent space, six views", "model"),
    "stacked": FigureKind("Stacked result", "model"),
    "similarity": FigureKind("Error against similarity", "changed"),
    "intervention": FigureKind("Intervention response", "hook"),
    "rgb-cube": FigureKind("The RGB cube along its grey axis", "static"),
    # from the run's latent history (history.npz; ex_color/history_figures.py), not part of `all`
    "history": FigureKind("Latent history", "history"),
    "evolution": FigureKind("Latent evolution (animation)", "history"),
}
RUN_FIGURES = tuple(name for name, figure in FIGURES.items() if figure.scope in ("run", "model"))
INTERVENTION_FIGURES = (
    "intervention",
    *(name for name, figure in FIGURES.items() if figure.scope in ("model", "changed", "static")),
)
GRID_MIN_WIDTH = 5  # `latents-grid` is drawn by `excolor run` for latents this wide (before any prune)


def figure_dir(run_dir: Path, kind: str | None) -> Path:
    return run_dir / "figures" if kind in (None, "none") else run_dir / "interventions" / kind / "figures"


def figure_path(directory: Path, name: str, theme: str) -> Path:
    return directory / (f"{name}.png" if theme == "light" else f"{name}-{theme}.png")


def applicable(names: Iterable[str], result, asked: bool = False) -> list[str]:
    """The figures among `names` that a result can have: the response figure only for hook kinds, the
    similarity scatter only for interventions that change the model, the RGB cube only beside one that
    deletes two or more latent dims, and (unless `asked` for by name) the six-view grid only for a latent
    of at least GRID_MIN_WIDTH dims."""
    intervention = result.intervention
    return [
        name
        for name in names
        if (name != "intervention" or intervention.transform() is not None)
        and (FIGURES[name].scope != "changed" or intervention.changes_model)
        and (name != "rgb-cube" or deletes_a_subspace(intervention))
        and (name != "latents-grid" or asked or latent_widths(result)[0] >= GRID_MIN_WIDTH)
    ]


def deletes_a_subspace(intervention) -> bool:
    """Whether an intervention deletes two or more latent dims (ablation, prune, or any kind with `dims`):
    its vivid colours collapse onto the grey axis, which the rgb-cube figure explains."""
    dims = getattr(intervention, "dims", None)
    return bool(intervention.changes_model and isinstance(dims, (list, tuple)) and len(set(dims)) >= 2)


def latent_widths(result) -> tuple[int, int]:
    """(the trained model's latent width, the width under the intervention: narrower after a prune)."""
    return int(result.baseline.rgb.latents.shape[1]), int(result.intervened.rgb.latents.shape[1])


def removed_dims(result) -> tuple[int, ...]:
    """The latent dims an intervention removed (a prune's `dims`), or () when the latent kept its width."""
    full, width = latent_widths(result)
    if width >= full:
        return ()
    dims = sorted({d % full for d in getattr(result.intervention, "dims", None) or ()})
    return tuple(dims) if len(dims) == full - width else tuple(range(width, full))


def check_views(settings, width: int, figures: Iterable[str] = ("stacked", "latents", "latents-grid")) -> None:
    """Refuse, in one line naming its `eval` key, a view naming a dim outside a latent of `width` dims (views
    left at the shipped defaults are fitted instead, see `figure_views`)."""
    for figure in figures:
        key, views = settings.views(figure)
        if key in settings.default_views:
            continue
        for view in views:
            outside = [d for d in view if d is not None and d >= width]
            if outside:
                shown = "[" + ", ".join("null" if d is None else str(d) for d in view) + "]"
                raise UserError(
                    f"eval.{key}: view {shown} names dim {outside[0]}, but the latent has {width} dims "
                    f"(0–{width - 1}; null projects an axis to 0)"
                )


def fitted_views(views, width: int) -> list[tuple[int | None, ...]]:
    """Views for a latent of `width` dims: each dim past the width is replaced by the lowest dim the view
    lacks, or projected (None) when there is none; views left without a dim are dropped."""
    out = []
    for view in views:
        spare = [d for d in range(width) if d not in view]
        fitted = tuple(d if d is None or d < width else (spare.pop(0) if spare else None) for d in view)
        if any(d is not None for d in fitted) and fitted not in out:
            out.append(fitted)
    return out


def pruned_views(views, width: int, removed: Iterable[int]) -> list[tuple[int | None, ...]]:
    """Views of a `width`-dim latent mapped through a prune of dims `removed`: a kept dim takes its place
    in the narrower latent, a removed one becomes None (projected to 0); views left without a dim are dropped."""
    kept = [d for d in range(width) if d not in set(removed)]
    out = []
    for view in views:
        mapped = tuple(kept.index(d) if d is not None and d in kept else None for d in view)
        if any(d is not None for d in mapped) and mapped not in out:
            out.append(mapped)
    return out


def figure_views(settings, figure: str, result) -> list[tuple[int | None, ...]]:
    """The latent views of `figure` (stacked, latents, latents-grid) for a result, from `eval`. Views left at
    the shipped defaults are fitted to the latent as drawn (`fitted_views`: a pruned model's narrower latent
    is shown whole, in its own numbering). Views set in config name dims of the trained latent: checked
    against its width (`check_views`), then, for a pruned model, mapped through the prune (`pruned_views`:
    a removed dim becomes a projected axis), so such a view shows the same dims before and after."""
    full, width = latent_widths(result)
    key, views = settings.views(figure)
    if key in settings.default_views:
        views = fitted_views(views, width)
    else:
        check_views(settings, full, (figure,))
        removed = removed_dims(result)
        views = pruned_views(views, full, removed) if removed else list(views)
    if not views:  # every view lost its dims: the first dims left
        views = [tuple(d if d < width else None for d in range(3))]
    return views


def stacked_error(result, which: str = "intervened"):
    """The stacked figure's error panel: per-colour MSE on the loss cube at the highest saturation [H, V]."""
    return result.errors("loss", which)[:, -1, :]


def stacked_top(results, run_dir: Path | None = None) -> float:
    """The y limit of the stacked figures' error panels, shared by the conditions of a run: 5% above the
    highest error at full saturation on the loss cube of `results` (InterventionResults, each with its
    baseline) and of the interventions saved in `run_dir` (predictions.npz's `stacked_error_max`)."""
    import numpy as np

    tops = [float(np.nanmax(stacked_error(r, which))) for r in results for which in ("baseline", "intervened")]
    if run_dir is not None:
        for saved in sorted(Path(run_dir).glob("interventions/*/predictions.npz")):
            try:
                with np.load(saved) as arrays:
                    if "stacked_error_max" in arrays.files:
                        tops.append(float(arrays["stacked_error_max"]))
            except (OSError, ValueError):
                continue  # an unreadable file is the intervention's problem, not this figure's
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
