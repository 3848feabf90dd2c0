"""A schedule (dopesheet) over steps: one row per property, keyframes marked."""

from __future__ import annotations

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


def _wants_log(values: np.ndarray, space: str | None) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.any(finite <= 0):
        return False
    if (space or "linear").lower() == "log":
        return True
    return float(finite.max()) / float(finite.min()) > 100.0


def plot_schedule(
    length: int,
    values: Mapping[str, np.ndarray],
    keyframes: Mapping[str, Sequence[tuple[int, float]]] | None = None,
    spaces: Mapping[str, str] | None = None,
    phases: Sequence[tuple[int, str]] = (),
    events: Mapping[int, Sequence[str]] | None = None,
    title: str | None = None,
    theme: str | Theme = "light",
) -> tuple[Figure, str]:
    """Scheduled property values over steps ``0 … length-1``, one row per property, shared x.

    ``values``: name -> [length] value at each step; ``keyframes``: name -> [(step, value)] marked with
    dots (and labelled with their value when there are at most 10); ``spaces``: name -> 'linear'|'log'.
    A row uses a log y axis when its space is 'log' or its values are all positive and span more than
    two decades. ``phases`` [(start_step, name)] and ``events`` {step: [names]} are marked on every row.
    Returns ``(figure, alt_text)``.
    """
    th = get_theme(theme)
    length = int(length)
    if length < 1:
        raise ValueError(f"length must be at least 1; got {length}")
    names = list(values)
    if not names:
        raise ValueError("values is empty: nothing to plot")
    keyframes = keyframes or {}
    spaces = spaces or {}
    x = np.arange(length)

    n = len(names)
    fig = new_figure(12.0, 1.45 * n + 1.4, th)
    axes = fig.subplots(n, 1, squeeze=False, sharex=True)[:, 0]
    spans = normalise_phases(phases, length - 1)
    rows = []
    for idx, (ax, name) in enumerate(zip(axes, names)):
        y = np.asarray(values[name], dtype=float)
        if y.shape != (length,):
            raise ValueError(f"values[{name!r}] has shape {y.shape}; expected ({length},)")
        style_axes(ax, th)
        color = th.color(idx)
        draw_phases(ax, spans, th, label=idx == 0, x0=0)
        draw_events(ax, events, th, label=idx == 0)
        log = _wants_log(y, spaces.get(name))
        ax.plot(x, y, color=color, lw=1.6, zorder=3)
        kf = sorted((int(s), float(v)) for s, v in keyframes.get(name, []))
        if kf:
            ks = np.array([s for s, _ in kf], dtype=float)
            kv = np.array([v for _, v in kf], dtype=float)
            ax.plot(
                ks, kv, ls="none", marker="o", ms=4.5, mfc=color, mec=th.background, mew=0.8, zorder=4, clip_on=False
            )
            if len(kf) <= 10:
                for s, v in kf:
                    ax.annotate(
                        fmt(v),
                        (s, v),
                        xytext=(3, 4),
                        textcoords="offset points",
                        fontsize=7,
                        color=th.foreground,
                        zorder=5,
                    )
        if log:
            ax.set_yscale("log")
        else:
            finite = y[np.isfinite(y)]
            if finite.size and np.ptp(finite) == 0:
                c = float(finite[0])
                pad = abs(c) * 0.5 if c else 1.0
                ax.set_ylim(c - pad, c + pad)
        space = (spaces.get(name) or "linear").lower()
        ax.set_ylabel(name, rotation=0, ha="right", va="center", color=color, fontweight="bold")
        if log and space != "log":
            ax.text(1.0, 1.0, "log scale", transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color=th.faint)
        ax.set_xlim(0, max(length - 1, 1))
        finite = y[np.isfinite(y)]
        if finite.size:
            rows.append(
                f"{name} ({space} space{', log axis' if log else ''}) from {fmt(finite[0])} to {fmt(finite[-1])}, "
                f"range {fmt(finite.min())}–{fmt(finite.max())}, {len(kf)} keyframe{'' if len(kf) == 1 else 's'}"
            )
        else:
            rows.append(f"{name} (no finite values)")
    axes[-1].set_xlabel("step")
    suptitle(fig, title, th)

    alt = (
        f"{title + ': ' if title else ''}schedule of {n} properties over {length:,} steps, one row per "
        f"property with keyframes marked as dots: " + "; ".join(rows) + "."
    )
    alt += phases_and_events_text(spans, events)
    return fig, alt


__all__ = ["plot_schedule"]
