"""Per-colour error against similarity to the concept colour (or vibrancy), with the least-squares line
(later-experiments §B.2, §B.3)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ex_color.evaluation.similarity import pearson

from ._common import check_1d, fmt, new_figure, style_axes, style_legend, suptitle
from .theme import Theme, get_theme


def plot_error_similarity(
    x,
    error,
    true,
    xlabel: str = "similarity² to red",
    title: str | None = None,
    theme: str | Theme = "light",
    *,
    point_size: float = 2.0,
) -> tuple[Figure, str]:
    """A scatter of per-colour MSE (``error`` [N], y) against a predictor ``x`` [N] in [0, 1] (similarity^p
    to the concept colour, or (S·V)^p), each colour in its true colour ``true`` [N, 3] with opacity
    0.1 + 0.9·(x + y)/2 (clipped to [0, 1]), size ``point_size``; the least-squares line dashed, and
    "R² = …" (``evaluation.similarity.pearson`` of the same arrays) in the legend.
    Returns ``(figure, alt_text)``.
    """
    th = get_theme(theme)
    x = check_1d("x", x)
    y = check_1d("error", error, x.size)
    rgb = np.clip(np.nan_to_num(np.asarray(true, dtype=float)), 0, 1)
    if rgb.shape != (x.size, 3):
        raise ValueError(f"true must be [{x.size}, 3]; got {rgb.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, rgb = x[keep], y[keep], rgb[keep]
    fit = pearson(x, y)

    fig = new_figure(5.0, 3.6, th)
    ax = fig.add_subplot()
    style_axes(ax, th)
    alpha = np.clip(0.1 + 0.9 * (x + y) / 2.0, 0.0, 1.0)
    ax.scatter(x, y, s=point_size, c=np.column_stack([rgb, alpha]), linewidths=0, zorder=2, rasterized=True)
    x_hi = max(1.0, float(x.max()) if x.size else 1.0)
    xs = np.array([0.0, x_hi])
    ax.plot(xs, fit.intercept + fit.slope * xs, color=th.foreground, lw=1.2, ls="--", zorder=3)
    top = float(y.max()) if y.size else 0.0
    ax.set_xlim(0.0, x_hi)
    ax.set_ylim(0.0, top * 1.05 if top > 0 else 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("MSE")
    handles = [
        Line2D([], [], color=th.foreground, lw=1.2, ls="--", label=f"least squares, R² = {fit.r2:.3f}"),
    ]
    style_legend(ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9), th)
    suptitle(fig, title, th)

    alt = (
        f"{title + ': ' if title else ''}a scatter plot of {x.size:,} colours, per-colour reconstruction error "
        f"(MSE, up) against {xlabel} (across, 0 to {x_hi:g}), each dot in its true colour and more opaque the "
        f"higher it lies or the further right. The dashed least-squares line has slope {fmt(fit.slope)} and "
        f"intercept {fmt(fit.intercept)}; Pearson r = {fit.r:.3f}, R² = {fit.r2:.3f}. The y axis runs from 0 "
        f"to {fmt(ax.get_ylim()[1])}."
    )
    if y.size:
        w = int(np.argmax(y))
        alt += (
            f" The highest error, {fmt(y[w])}, is at RGB({', '.join(f'{c:.2f}' for c in rgb[w])}) with x = {x[w]:.2f}."
        )
    return fig, alt


__all__ = ["plot_error_similarity"]
