"""The figures of a run's latent history (history.npz, ex_color/history.py), from its files alone: the
phase-history figure (figures/history.png) and the latent-evolution animation (figures/evolution.gif, and
evolution.mp4 where ffmpeg is installed), whose schedule comes from the run's dopesheet and loss from its
metrics.csv."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from ex_color import runs
from ex_color.errors import UserError
from ex_color.figures.registry import figure_path
from ex_color.figures.writer import run_timeline
from ex_color.history import load_history
from ex_color.reports.results import read_metrics

HISTORY_FIGURES = ("history", "evolution")


def parse_views(text: str | None, width: int, default: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """`--views "1,0;1,2;1,3"` (pairs of latent dims, x then y, separated by ';' or spaces); the default when
    None. UserError naming the first pair that is not two distinct dims of a `width`-dim latent."""
    if text is None:
        pairs = [tuple(view) for view in default]
    else:
        pairs = []
        for item in (part for part in re.split(r"[;\s]+", text.strip()) if part):
            match = re.fullmatch(r"\(?(\d+),(\d+)\)?", item)
            if match is None:
                raise UserError(f"--views {text!r}: each view is two latent dims, x,y (e.g. '1,0;1,2;1,3')")
            pairs.append((int(match.group(1)), int(match.group(2))))
        if not pairs:
            raise UserError(f"--views {text!r}: no views given (e.g. '1,0;1,2;1,3')")
    for pair in pairs:
        if pair[0] == pair[1] or max(pair) >= width:
            raise UserError(f"--views: ({pair[0]}, {pair[1]}) is not two distinct dims of the {width}-dim latent")
    return [(int(a), int(b)) for a, b in pairs]


def _title(run_dir: Path, what: str) -> str:
    name = runs.load_config(run_dir).get("name", run_dir.name)
    return f"{what} · {name}"


def draw_history(
    run_dir: Path, out_dir: Path, theme: str = "light", views: str | None = None, thumbnails: int = 10
) -> Path:
    """figures/history.png (+ .txt) of a run with a latent history."""
    from ex_color.plots import save_figure
    from ex_color.plots.history import HISTORY_VIEWS, THUMBNAIL_VIEW, plot_history

    history = load_history(run_dir)
    width = history.latents.shape[2]
    chosen = parse_views(views, width, HISTORY_VIEWS)
    thumb = chosen[0] if views is not None else THUMBNAIL_VIEW
    if thumbnails < 0:
        raise UserError(f"--thumbnails must be ≥ 0 (got {thumbnails})")
    fig, alt = plot_history(
        history.steps,
        history.latents,
        history.colours,
        views=chosen,
        thumbnail_view=thumb,
        thumbnails=thumbnails,
        title=_title(run_dir, "Latent history"),
        theme=theme,
    )
    return save_figure(fig, figure_path(out_dir, "history", theme), alt)


def draw_evolution(
    run_dir: Path,
    out_dir: Path,
    theme: str = "light",
    views: str | None = None,
    fps: float = 12.0,
    frames_per_snapshot: int = 1,
    dpi: int = 80,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> tuple[list[Path], str | None]:
    """figures/evolution.gif (+ .txt), and evolution.mp4 where ffmpeg exists: (paths written, why no MP4).
    `progress(total)` returns the callback each rendered frame calls."""
    from ex_color.plots.evolution import EVOLUTION_VIEWS, EvolutionAnimation
    from ex_color.plots.video import save_animation

    history = load_history(run_dir)
    chosen = parse_views(views, history.latents.shape[2], EVOLUTION_VIEWS)
    if not fps > 0 or fps > 100:
        raise UserError(f"--fps must be above 0 and at most 100 (got {fps:g})")
    if frames_per_snapshot < 1:
        raise UserError(f"--frames-per-snapshot must be ≥ 1 (got {frames_per_snapshot})")
    if not 20 <= dpi <= 300:
        raise UserError(f"--dpi must be from 20 to 300 (got {dpi})")
    schedule = {}
    try:
        timeline = run_timeline(run_dir)
        schedule = {name: timeline.values[name] for name in timeline.names}
    except (OSError, UserError):
        pass  # no dopesheet beside the run: the animation goes without the schedule
    loss = {}
    if (run_dir / runs.METRICS).exists():
        steps, series = read_metrics(run_dir / runs.METRICS)
        loss = {name: (steps, series[name]) for name in ("loss", "recon") if name in series}
    suffix = "" if theme == "light" else f"-{theme}"
    animation = EvolutionAnimation(
        history.steps,
        history.latents,
        history.colours,
        views=chosen,
        schedule=schedule,
        loss=loss,
        frames_per_snapshot=frames_per_snapshot,
        title=_title(run_dir, "Latent evolution"),
        theme=theme,
        dpi=dpi,
    )
    count = len(animation)
    return save_animation(
        animation.frame,
        count,
        out_dir / f"evolution{suffix}.gif",
        fps,
        animation.alt_text(),
        mp4=out_dir / f"evolution{suffix}.mp4",
        on_frame=progress(count) if progress is not None else None,
    )
