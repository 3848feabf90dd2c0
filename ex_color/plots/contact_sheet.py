"""The contact sheet of a sweep (spec §B.10, experiment 1.8): one small 2-D slice of each job's final latents,
titled with what the job changed, so that a sweep's conclusion shows at a glance."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from ._common import new_figure, suptitle
from .history import check_views, draw_slice, slice_limit
from .theme import Theme, get_theme


def plot_contact_sheet(
    panels: Sequence[tuple[str, np.ndarray]],
    colours: np.ndarray,
    view: Sequence[int] = (1, 0),
    columns: int = 6,
    title: str | None = None,
    theme: str | Theme = "light",
) -> tuple[Figure, str]:
    """``panels``: (title, latents [N, n]) per job, in order; ``colours``: the points' true colours [N, 3]
    (the same colour set for every job). Each panel is the slice ``view`` (x dim, y dim) on the unit disc,
    scaled to its own points. Returns ``(figure, alt_text)``."""
    th = get_theme(theme)
    if not panels:
        raise ValueError("panels: no jobs to draw")
    colours = np.clip(np.nan_to_num(np.asarray(colours, dtype=float)), 0, 1)
    width = min(np.asarray(z).shape[-1] for _, z in panels)
    (pair,) = check_views([view], width)
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    fig = new_figure(2.05 * columns + 0.3, 2.25 * rows + (0.5 if title else 0.1), th)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    described = []
    for ax, (name, z) in zip(axes, panels):
        z = np.asarray(z, dtype=float)
        draw_slice(ax, z, colours, pair, th, limit=slice_limit(z, [pair]), point_size=2.0, labels=False)
        ax.set_title(name, fontsize=7.5, pad=3)
        finite = np.all(np.isfinite(z), axis=1)
        norm = float(np.median(np.linalg.norm(z[finite], axis=1))) if finite.any() else math.nan
        described.append(f"{name}: median latent norm {norm:.2f}")
    suptitle(fig, title, th)
    alt = (
        f"{title + ': ' if title else ''}a contact sheet of {len(panels)} jobs, each a flat slice of its final "
        f"latents (dim {pair[0]} across, dim {pair[1]} up) over a grey unit disc, points in their true colours. "
        + "; ".join(described)
        + "."
    )
    return fig, alt


__all__ = ["plot_contact_sheet"]
