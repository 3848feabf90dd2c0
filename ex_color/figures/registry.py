"""The figure registry: every figure's name, title and scope, where figures are saved, and which apply."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ex_color.figures.views import latent_widths


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
    # from the run's latent history (history.npz; ex_color/figures/history.py), not part of `all`
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
