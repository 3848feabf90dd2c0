"""`plot(...)`: draw a run's figures from what its directory holds (model checkpoint, metrics, dopesheet)."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from ex_color import runs
from ex_color.errors import UserError

log = logging.getLogger(__name__)

FIGURES = ("colors", "error", "latents", "training", "schedule", "intervention")
RUN_FIGURES = ("schedule", "training", "colors", "error", "latents")
INTERVENTION_FIGURES = ("colors", "error", "latents", "intervention")
HOOK_KINDS = ("suppression", "repulsion")
LATENT_VIEWS = ((1, 0, 2), (1, 2, 0), (1, 3, 0))


def figure_dir(run_dir: Path, kind: str | None) -> Path:
    return run_dir / "figures" if kind is None else run_dir / "interventions" / kind / "figures"


def figure_path(directory: Path, name: str, theme: str) -> Path:
    return directory / (f"{name}.png" if theme == "light" else f"{name}-{theme}.png")


def intervention_config(run_dir: Path, kind: str) -> DictConfig:
    """The config `excolor intervene` used for this kind on this run, else the shipped default."""
    saved = run_dir / "interventions" / kind / "intervention.yaml"
    if saved.exists():
        return OmegaConf.load(saved)
    from ex_color.config import compose, known_options

    if kind not in known_options("intervention"):
        raise UserError(f"--kind {kind}: unknown intervention; kinds: {', '.join(known_options('intervention'))}")
    return compose("intervene", [f"intervention={kind}"])


class RunFigures:
    """Draws the figures of one run, baseline or under one intervention."""

    def __init__(self, run_dir: Path, kind: str | None = None, cfg: DictConfig | None = None, theme: str = "light"):
        from ex_color.tasks.intervene import Evaluator, eval_settings, prepare

        self.run_dir = run_dir
        self.kind = kind
        self.theme = theme
        self.run_cfg = runs.load_config(run_dir)
        self.settings = eval_settings(self.run_cfg)
        if kind is None:
            model = runs.load_model(run_dir)
            self.baseline = self.evaluator = Evaluator(model, [], int(self.settings["chunk_size"]))
            self.record = {"kind": "none"}
        else:
            cfg = cfg if cfg is not None else intervention_config(run_dir, kind)
            self.baseline, self.evaluator, self.record, _ = prepare(cfg, run_dir)
        self.out_dir = figure_dir(run_dir, kind)
        self.label = "no intervention" if kind in (None, "none") else kind

    def save(self, name: str, fig_and_alt) -> Path:
        from ex_color.plots import save_figure

        fig, alt = fig_and_alt
        return save_figure(fig, figure_path(self.out_dir, name, self.theme), alt)

    def colors(self) -> Path:
        from ex_color.data.cubes import ColorCube
        from ex_color.plots import plot_color_grid

        d = self.settings["display"]
        cube = ColorCube.hsv(d["hues"], d["saturations"], d["values"]).permute("svh")
        pred = self.evaluator(cube.flat_rgb()).outputs.reshape(cube.rgb.shape)
        return self.save(
            "colors",
            plot_color_grid(pred, cube.rgb, cube.coords["s"], cube.coords["v"], cube.coords["h"],
                            title=f"Predicted colours · {self.label}", theme=self.theme),
        )

    def error(self) -> Path:
        from ex_color.evaluation import per_color_error
        from ex_color.plots import plot_error_series
        from ex_color.tasks.intervene import hd_cube

        cube = hd_cube(self.settings)
        rgb = cube.flat_rgb()
        error = per_color_error(self.evaluator(rgb).outputs, rgb).reshape(cube.shape)
        baseline = None
        if self.kind not in (None, "none"):
            baseline = per_color_error(self.baseline(rgb).outputs, rgb).reshape(cube.shape)
        return self.save(
            "error",
            plot_error_series(error, cube.coords["h"], cube.coords["s"], cube.coords["v"],
                              title=f"Reconstruction error · {self.label}", baseline=baseline, theme=self.theme),
        )

    def cones(self) -> list:
        from ex_color.plots import Cone

        kind = self.record.get("kind")
        if kind not in HOOK_KINDS:
            return []
        direction = tuple(self.record["concept_vector"])
        shaper = self.record["falloff" if kind == "suppression" else "mapper"]
        cones = [Cone(direction, math.acos(max(-0.999, min(0.999, float(shaper.get("a", 0.0))))), "dashed", "starts acting")]
        if kind == "repulsion":
            cones.append(Cone(direction, math.acos(max(-0.999, min(0.999, float(shaper["b"])))), "solid", "mapper ends"))
        return cones

    def latents(self) -> Path:
        from ex_color.data.cubes import ColorCube
        from ex_color.plots import plot_latent_views

        cube = ColorCube.rgb_grid(int(self.settings["rgb"]["steps"]))
        rgb = cube.flat_rgb()
        result = self.evaluator(rgb)
        width = result.latents.shape[1]
        views = [v for v in LATENT_VIEWS if max(v) < width] or [tuple(range(min(3, width)))]
        return self.save(
            "latents",
            plot_latent_views(result.latents, result.outputs, rgb, dims=views, cones=self.cones(),
                              title=f"Latents · {self.label}", theme=self.theme),
        )

    def intervention(self) -> Path:
        import torch

        from ex_color.plots import plot_intervention_curve

        kind = self.record.get("kind")
        if kind not in HOOK_KINDS:
            raise UserError(f"the intervention figure needs --kind suppression or repulsion (got {kind or 'none'})")
        fn = self.evaluator.placements[0].fn
        concept = torch.tensor(self.record["concept_vector"], dtype=torch.float32)
        # A unit vector orthogonal to the concept: the plane in which we sweep the angle.
        basis = torch.eye(len(concept))[int(torch.argmin(concept.abs()))]
        perp = basis - (basis @ concept) * concept
        perp = perp / perp.norm()
        theta = torch.linspace(-math.pi, math.pi, 721)
        unit = torch.cos(theta)[:, None] * concept + torch.sin(theta)[:, None] * perp
        with torch.no_grad():
            out = fn(unit)
        align_in = np.linspace(-1, 1, 401)
        sweep = torch.tensor(align_in, dtype=torch.float32)
        probe = sweep[:, None] * concept + torch.sqrt(1 - sweep**2)[:, None] * perp
        with torch.no_grad():
            align_out = (fn(probe) @ concept).numpy()
        lobe = torch.stack([out @ concept, out @ perp], dim=1).numpy()
        params = {k: v for k, v in self.record.get("falloff" if kind == "suppression" else "mapper", {}).items()}
        return self.save(
            "intervention",
            plot_intervention_curve(align_in, align_out, kind, params, title=f"Intervention · {kind}",
                                    theme=self.theme, lobe_xy=lobe),
        )

    def training(self) -> Path:
        from ex_color.plots import plot_training

        steps, series = read_metrics(self.run_dir / runs.METRICS)
        timeline = run_timeline(self.run_dir)
        return self.save(
            "training",
            plot_training(steps, series, timeline.phases, timeline.events,
                          title=f"Training · {self.run_cfg.get('name', self.run_dir.name)}", theme=self.theme),
        )

    def schedule(self) -> Path:
        return self.save("schedule", schedule_figure(run_timeline(self.run_dir), self.theme))


def read_metrics(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Steps and every loss series of a run's metrics.csv (rows may hold only some keys)."""
    if not path.exists():
        raise UserError(f"{path}: no metrics (was the run trained with a CSV logger?)")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise UserError(f"{path}: no metrics rows")
    steps = np.array([int(float(r["step"])) for r in rows])
    series = {}
    for key in rows[0]:
        if key.startswith("train/") and key != "train/lr":
            series[key.removeprefix("train/")] = np.array([float(r[key]) if r.get(key) else np.nan for r in rows])
    return steps, series


def run_timeline(run_dir: Path):
    from ex_color.schedule import Timeline, load_dopesheet

    return Timeline.from_dopesheet(load_dopesheet(run_dir / runs.DOPESHEET))


def schedule_figure(timeline, theme: str):
    from ex_color.plots import plot_schedule

    title = f"Schedule · {Path(timeline.source).name}"
    return plot_schedule(timeline.length, timeline.values, timeline.keyframes, timeline.spaces,
                         timeline.phases, timeline.events, title=title, theme=theme)


def plot_dopesheet(dopesheet: Path, out_dir: Path, theme: str = "light") -> Path:
    """The schedule figure of a CSV alone, before any training."""
    from ex_color.paths import resolve_dopesheet
    from ex_color.plots import save_figure
    from ex_color.schedule import Timeline, load_dopesheet

    path = resolve_dopesheet(dopesheet)
    timeline = Timeline.from_dopesheet(load_dopesheet(path))
    fig, alt = schedule_figure(timeline, theme)
    return save_figure(fig, figure_path(Path(out_dir), f"schedule-{path.stem}", theme), alt)


def plot(what: str, run_dir: str | Path | None = None, kind: str | None = None, theme: str = "light",
         dopesheet: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    """Draw figure `what` ('all' for every figure that applies); returns the PNG paths."""
    from ex_color.plots import get_theme

    get_theme(theme)  # fail early on an unknown theme
    if what not in (*FIGURES, "all"):
        raise UserError(f"unknown figure {what!r}; figures: {', '.join(FIGURES)}, all")
    if what == "schedule" and dopesheet is not None:
        return [plot_dopesheet(dopesheet, out_dir or Path("figures"), theme)]
    run_dir = runs.resolve_run(run_dir)
    if kind == "none":
        kind = None
    figures = RunFigures(run_dir, kind, theme=theme)
    if out_dir is not None:
        figures.out_dir = Path(out_dir)
    if what == "all":
        names = INTERVENTION_FIGURES if kind is not None else RUN_FIGURES
        names = [n for n in names if n != "intervention" or figures.record.get("kind") in HOOK_KINDS]
    else:
        if kind is not None and what in ("training", "schedule"):
            raise UserError(f"the {what} figure belongs to the run, not an intervention: drop --kind")
        names = [what]
    return [getattr(figures, name)() for name in names]


def draw_intervention_figures(run_dir: Path, kind: str, cfg: DictConfig, theme: str = "light") -> list[Path]:
    if kind == "none":
        return plot("all", run_dir, None, theme)
    figures = RunFigures(run_dir, kind, cfg, theme)
    names = [n for n in INTERVENTION_FIGURES if n != "intervention" or kind in HOOK_KINDS]
    return [getattr(figures, name)() for name in names]
