"""Latent history: plain 2-D slices of the latents on a unit disc (spec §B.12), the phase-history figure
(§B.8: three large slices of the last snapshot over a strip of thumbnails of earlier ones)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from ._common import fmt, new_figure, style_axes, suptitle
from .theme import Theme, get_theme

HISTORY_VIEWS = ((1, 0), (1, 2), (1, 3))
THUMBNAIL_VIEW = (1, 0)
LIMIT = 1.15
DISC = "#6e6e6e"  # mid grey: black and white points both show on it


def check_views(views: Sequence[Sequence[int]], width: int) -> list[tuple[int, int]]:
    """Views as (x dim, y dim) pairs; ValueError naming the first that is not two distinct dims below `width`."""
    out = []
    for view in views:
        pair = tuple(int(d) for d in view)
        if len(pair) != 2 or pair[0] == pair[1] or min(pair) < 0 or max(pair) >= width:
            raise ValueError(f"a view is two distinct latent dims below {width}; got {tuple(view)}")
        out.append(pair)
    return out


def slice_limit(z: np.ndarray, views: Sequence[tuple[int, int]]) -> float:
    """The half-width of a panel that shows the unit disc and every finite point of `z` ([..., n]) in `views`."""
    dims = sorted({d for view in views for d in view})
    values = np.abs(z[..., dims])
    values = values[np.isfinite(values)]
    return float(max(LIMIT, 1.05 * values.max())) if values.size else LIMIT


def depth_order(z: np.ndarray, view: tuple[int, int]) -> np.ndarray:
    """Drawing order for a view: by the lowest dim the view does not show (larger drawn later, on top)."""
    spare = [d for d in range(z.shape[-1]) if d not in view]
    return np.argsort(z[:, spare[0]], kind="stable") if spare else np.arange(len(z))


def draw_slice(
    ax,
    z: np.ndarray,
    colours: np.ndarray,
    view: tuple[int, int],
    th: Theme,
    *,
    limit: float = LIMIT,
    point_size: float = 14.0,
    labels: bool = True,
):
    """One plain 2-D projection into ``ax``: x = dim i, y = dim j of ``z`` [N, n], the unit disc behind, points
    in their true ``colours`` [N, 3] (rows of ``z`` that are not finite are left out). Returns the scatter."""
    i, j = view
    style_axes(ax, th, grid=False, spines=())
    ax.set_aspect("equal")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    if labels:
        ax.set_xticks([-1, 0, 1])
        ax.set_yticks([-1, 0, 1])
        ax.set_xlabel(f"dim {i}")
        ax.set_ylabel(f"dim {j}")
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.add_patch(Circle((0, 0), 1.0, facecolor=DISC, edgecolor=th.faint, lw=0.8, zorder=1))
    ax.axhline(0, color=th.grid, lw=0.5, alpha=0.5, zorder=1.1)
    ax.axvline(0, color=th.grid, lw=0.5, alpha=0.5, zorder=1.1)
    finite = np.all(np.isfinite(z), axis=1)
    z, colours = z[finite], colours[finite]
    order = depth_order(z, view)
    return ax.scatter(z[order, i], z[order, j], s=point_size, c=colours[order], linewidths=0, zorder=3)


def thumbnail_indices(steps: np.ndarray, count: int) -> list[int]:
    """Indices of about `count` snapshots before the last one, spaced evenly in log(step + 1) (the nearest
    snapshot to each target; each at most once), the first always included."""
    earlier = len(steps) - 1
    if earlier <= 0 or count <= 0:
        return []
    if earlier <= count:
        return list(range(earlier))
    logs = np.log1p(np.asarray(steps[:earlier], dtype=float))
    targets = np.linspace(logs[0], logs[-1], count)
    chosen: list[int] = []
    for target in targets:
        index = int(np.argmin(np.abs(logs - target)))
        if index not in chosen:
            chosen.append(index)
    return sorted(chosen)


def plot_history(
    steps,
    latents,
    colours,
    views: Sequence[Sequence[int]] = HISTORY_VIEWS,
    thumbnail_view: Sequence[int] = THUMBNAIL_VIEW,
    thumbnails: int = 10,
    title: str | None = None,
    theme: str | Theme = "light",
) -> tuple[Figure, str]:
    """The phase-history figure: the last snapshot in large 2-D slices (``views``, (x dim, y dim) pairs), and
    below them a strip of about ``thumbnails`` earlier snapshots in ``thumbnail_view``, spaced evenly in
    log(step), each with its step under it.

    ``steps``: [T] (steps done at each snapshot), ``latents``: [T, N, n], ``colours``: [N, 3] RGB in [0, 1]
    (the points' true colours). Each panel's square shows ±max(1.15, the farthest point); the grey disc is
    the unit circle. Returns ``(figure, alt_text)``."""
    th = get_theme(theme)
    steps = np.asarray(steps, dtype=np.int64)
    z = np.asarray(latents, dtype=float)
    colours = np.clip(np.nan_to_num(np.asarray(colours, dtype=float)), 0, 1)
    if z.ndim != 3 or len(steps) != len(z) or len(steps) == 0:
        raise ValueError(f"latents must be [T, N, n] with T = len(steps) ≥ 1; got {z.shape} for {len(steps)} steps")
    if colours.shape != (z.shape[1], 3):
        raise ValueError(f"colours must be [{z.shape[1]}, 3]; got {colours.shape}")
    width = z.shape[2]
    views = check_views(views, width)
    (thumb_view,) = check_views([thumbnail_view], width)
    thumbs = thumbnail_indices(steps, thumbnails)

    n_views = len(views)
    strip = max(len(thumbs), 1)
    fig_width = max(3.6 * n_views + 0.6, 1.15 * strip + 0.6)
    fig = new_figure(fig_width, 3.9 + (1.55 if thumbs else 0) + (0.4 if title else 0), th)
    grid = fig.add_gridspec(2 if thumbs else 1, 1, height_ratios=[3.9, 1.35] if thumbs else [1])
    top = grid[0].subgridspec(1, n_views)
    last = z[-1]
    for index, view in enumerate(views):
        ax = fig.add_subplot(top[0, index])
        draw_slice(ax, last, colours, view, th, limit=slice_limit(last, [view]), point_size=14.0)
        ax.set_title(f"dims ({view[0]}, {view[1]})", fontsize=10)
    if thumbs:
        bottom = grid[1].subgridspec(1, len(thumbs))
        for column, index in enumerate(thumbs):
            ax = fig.add_subplot(bottom[0, column])
            draw_slice(
                ax,
                z[index],
                colours,
                thumb_view,
                th,
                limit=slice_limit(z[index], [thumb_view]),
                point_size=1.6,
                labels=False,
            )
            ax.set_xlabel(f"step {int(steps[index]):,}", fontsize=8, labelpad=2)
            if column == 0:
                ax.set_ylabel(f"dims ({thumb_view[0]}, {thumb_view[1]})", fontsize=8, labelpad=2)
    suptitle(fig, title, th)
    return fig, history_alt(steps, z, colours, views, thumb_view, thumbs, title)


def history_alt(steps, z, colours, views, thumb_view, thumbs, title) -> str:
    n_views = len(views)
    parts = [
        f"{title + ': ' if title else ''}the latent space of {z.shape[1]:,} colours at step {int(steps[-1]):,}, "
        f"in {n_views} flat 2-D slices ("
        + "; ".join(f"dim {i} across, dim {j} up" for i, j in views)
        + "), each point in its true colour over a grey unit disc."
    ]
    last = z[-1]
    finite = np.all(np.isfinite(last), axis=1)
    if finite.any():
        norms = np.linalg.norm(last[finite], axis=1)
        q = np.percentile(norms, [0, 50, 100])
        parts.append(f"Latent norms range from {fmt(q[0])} to {fmt(q[2])} (median {fmt(q[1])}).")
    red = np.flatnonzero(np.all(np.isclose(colours, (1.0, 0.0, 0.0)), axis=1))
    if red.size and np.all(np.isfinite(last[red[0]])):
        i, j = thumb_view
        parts.append(
            f"Pure red sits at ({last[red[0], i]:.2f}, {last[red[0], j]:.2f}) in dims ({i}, {j})"
            f" (the full vector: {', '.join(f'{v:.2f}' for v in last[red[0]])})."
        )
    if thumbs:
        medians = [float(np.nanmedian(np.linalg.norm(z[index], axis=1))) for index in thumbs]
        parts.append(
            f"Below, {len(thumbs)} thumbnails of dims ({thumb_view[0]}, {thumb_view[1]}) at earlier steps "
            f"({', '.join(f'{int(steps[index]):,}' for index in thumbs)}), their median latent norm going from "
            f"{fmt(medians[0])} to {fmt(medians[-1])}."
        )
    return " ".join(parts)


__all__ = ["HISTORY_VIEWS", "THUMBNAIL_VIEW", "check_views", "draw_slice", "plot_history", "thumbnail_indices"]
