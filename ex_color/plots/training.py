"""Training history: every logged loss term over steps, one small panel per term."""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ._common import (
    draw_events,
    draw_phases,
    fmt,
    new_figure,
    normalise_phases,
    phases_and_events_text,
    style_axes,
    suptitle,
)
from .theme import Theme, get_theme


def rolling_median(y: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Centred rolling median ignoring NaN, evaluated at every ``stride``-th sample.

    Returns an array of length ``ceil(len(y) / stride)`` (NaN where a window holds no data)."""
    y = np.asarray(y, dtype=float)
    window = max(1, int(window)) | 1
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), y, np.full(half, np.nan)])
    view = np.lib.stride_tricks.sliding_window_view(padded, window)[:: max(1, int(stride))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(view, axis=1)


def plot_training(
    steps,
    series: Mapping[str, np.ndarray],
    phases: Sequence[tuple[int, str]] = (),
    events: Mapping[int, Sequence[str]] | None = None,
    title: str | None = None,
    theme: str | Theme = "light",
) -> tuple[Figure, str]:
    """Loss curves: one small panel per series (two columns when there are more than three), shared x.

    ``steps``: [T] step numbers; ``series``: name -> [T] values (NaN for steps where a term was not
    computed). Each panel has a log y axis (non-positive values are skipped), the raw values faint and a
    rolling median (window ≈ 1% of the run) on top. ``phases``: [(start_step, name)], shaded
    alternately and labelled; ``events``: {step: [names]}, marked at the top of every panel and named
    above the top row when there are at most 12. Returns ``(figure, alt_text)``.
    """
    th = get_theme(theme)
    x = np.asarray(steps, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"steps must be 1-D; got shape {x.shape}")
    names = list(series)
    if not names:
        raise ValueError("series is empty: nothing to plot")
    data = {}
    for name in names:
        y = np.asarray(series[name], dtype=float)
        if y.shape != x.shape:
            raise ValueError(f"series {name!r} has shape {y.shape}; steps has {x.shape}")
        data[name] = np.where(np.isfinite(y) & (y > 0), y, np.nan)

    n = len(names)
    ncols = 1 if n <= 3 else 2
    nrows = int(np.ceil(n / ncols))
    fig = new_figure(12.0 if ncols == 2 else 10.0, 1.75 * nrows + 1.3, th)
    grid = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    axes = [grid[r, c] for r in range(nrows) for c in range(ncols)]
    for extra in axes[n:]:
        extra.remove()
    axes = axes[:n]

    x0 = float(np.nanmin(x)) if x.size else 0.0
    x1 = float(np.nanmax(x)) if x.size else 1.0
    spans = normalise_phases(phases, x1)
    window = max(1, x.size // 100)
    stride = max(1, window // 8)
    summary = []
    for idx, (ax, name) in enumerate(zip(axes, names)):
        row, col = divmod(idx, ncols)
        style_axes(ax, th)
        y = data[name]
        color = th.color(idx)
        draw_phases(ax, spans, th, label=row == 0, x0=x0)
        draw_events(ax, events, th, label=row == 0)
        if np.isfinite(y).any():
            ax.plot(x, y, color=color, lw=0.6, alpha=0.3, zorder=2)
            med = rolling_median(y, window, stride)
            ax.plot(x[::stride], med, color=color, lw=1.6, zorder=3)
            ax.set_yscale("log")
            last = med[np.isfinite(med)][-1] if np.isfinite(med).any() else np.nan
            summary.append(f"{name} from {fmt(med[np.isfinite(med)][0])} to {fmt(last)} (minimum {fmt(np.nanmin(y))})")
        else:
            ax.text(
                0.5,
                0.5,
                "no positive values",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color=th.faint,
                fontsize=9,
            )
            summary.append(f"{name} has no positive values")
        ax.text(
            0.01,
            0.06,
            name,
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=9,
            fontweight="bold",
            color=color,
            zorder=7,
            bbox=dict(boxstyle="round,pad=0.2", facecolor=th.background, edgecolor="none", alpha=0.8),
        )
        ax.set_xlim(x0, x1 if x1 > x0 else x0 + 1)
        # The lowest panel in each column shows the step labels.
        below = idx + ncols
        if below >= n:
            ax.tick_params(axis="x", labelbottom=True)
            ax.set_xlabel("step")
    suptitle(fig, title, th)

    alt = (
        f"{title + ': ' if title else ''}training curves over {len(x):,} logged steps "
        f"({x0:,.0f} to {x1:,.0f}), one panel per term with a logarithmic y axis, raw values faint and a "
        f"rolling median on top. Smoothed values: " + "; ".join(summary) + "."
    )
    alt += phases_and_events_text(spans, events)
    return fig, alt


__all__ = ["plot_training", "rolling_median"]
