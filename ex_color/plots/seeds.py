"""Metrics across seeds: one horizontal box plot per metric, every seed a point, the best one marked
(later-experiments §0.9, §B.1)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

from ._common import fmt, new_figure, style_axes, suptitle
from .theme import Theme, get_theme

SCALES = ("linear", "log", "unit")  # unit: linear from 0 to 1 (a score)


def plot_seed_boxes(
    values: Mapping[str, Mapping[str, float]],
    best: str | None = None,
    scales: Mapping[str, str] | None = None,
    title: str | None = None,
    theme: str | Theme = "light",
    *,
    unit: str = "seed",
    columns: int = 1,
    label_points: bool = False,
) -> tuple[Figure, str]:
    """Horizontal box plots across seeds, one small panel per metric (in the order of ``values``).

    ``values``: metric name -> {seed name: value}; NaN, infinite and missing values are left out (and, on a
    log axis, values ≤ 0). ``best``: the chosen seed's name, drawn as a larger ringed point labelled with its
    name and value in every panel where it has a value. ``scales``: metric -> ``linear`` (default), ``log`` or
    ``unit`` (linear, x from 0 to 1, e.g. the score). Every seed is a point over its box, spread up and down a
    little so that equal values stay visible. ``unit``: what a point is, in the alt text (``seed``, ``job``).
    ``columns``: panels side by side (filled row by row; the spare cells of the last row stay empty).
    ``label_points``: also name every point (small, beside it; for a handful of points). Returns
    ``(figure, alt_text)``; ``fig.axes`` are the panels.
    """
    th = get_theme(theme)
    scales = dict(scales or {})
    metrics = list(values)
    if not metrics:
        raise ValueError("values: no metrics to plot")
    for metric, scale in scales.items():
        if scale not in SCALES:
            raise ValueError(f"scales[{metric!r}]: expected one of {', '.join(SCALES)}; got {scale!r}")

    columns = max(1, min(int(columns), len(metrics)))
    rows = math.ceil(len(metrics) / columns)
    fig = new_figure(4.6 if columns == 1 else 3.9 * columns, 0.4 + 1.05 * rows + (0.35 if title else 0.0), th)
    grid = fig.subplots(rows, columns, squeeze=False)
    for spare in grid.flat[len(metrics) :]:
        fig.delaxes(spare)
    axes = list(grid.flat[: len(metrics)])
    best_colour = th.color(1)
    parts = []
    for ax, metric in zip(axes, metrics):
        scale = scales.get(metric, "linear")
        finite = {
            str(seed): float(v) for seed, v in values[metric].items() if v is not None and math.isfinite(float(v))
        }
        clean = {seed: v for seed, v in finite.items() if scale != "log" or v > 0}
        hidden = len(finite) - len(clean)  # values ≤ 0, which a log axis cannot show
        style_axes(ax, th)
        ax.grid(True, axis="x", color=th.grid, linewidth=0.6)
        ax.grid(False, axis="y")
        ax.set_yticks([])
        ax.set_ylim(0.4, 1.6)
        left_out = f" ({hidden} ≤ 0 not shown)" if hidden else ""
        ax.set_title(metric + left_out, loc="left", fontsize=9, pad=2, color=th.foreground)
        if scale == "log":
            ax.set_xscale("log")
        if not clean:
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", va="center", color=th.faint)
            parts.append(f"{metric}: no values{left_out}.")
            continue
        data = np.array(list(clean.values()))
        box = ax.boxplot(
            data,
            orientation="horizontal",
            widths=0.6,
            whis=1.5,
            showfliers=False,
            patch_artist=True,
            medianprops={"color": th.foreground, "lw": 1.4},
            boxprops={"facecolor": th.grid, "edgecolor": th.faint, "lw": 0.9},
            whiskerprops={"color": th.faint, "lw": 0.9},
            capprops={"color": th.faint, "lw": 0.9},
        )
        for patch in box["boxes"]:
            patch.set_alpha(0.7)
        ax.set_yticks([])  # boxplot labels its position
        jitter = np.random.default_rng(0).uniform(-0.18, 0.18, data.size)
        ax.scatter(data, 1.0 + jitter, s=9, color=th.color(0), alpha=0.75, linewidths=0, zorder=3)
        if label_points:
            for (name, value), dy in zip(clean.items(), jitter):
                if name != best:
                    ax.annotate(
                        name,
                        (value, 1.0 + dy),
                        xytext=(3, 0),
                        textcoords="offset points",
                        ha="left",
                        va="center",
                        fontsize=6.5,
                        color=th.faint,
                        zorder=4,
                        annotation_clip=False,
                    )
        if scale == "log" and data.max() < 10 * data.min():
            # Within one decade a log axis has no major tick, and its minor labels (2×10⁻³, 3×10⁻³, …) collide.
            # A few evenly spaced ticks (a LogLocator here falls back to a crowded linear one).
            ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=4 if columns > 1 else 6, steps=[1, 2, 2.5, 5, 10]))
            ax.xaxis.set_minor_locator(ticker.NullLocator())
            ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:.2g}"))
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
            low, high = data.min(), data.max()
            ax.set_xlim(low / 1.15, high * 1.15)
        elif scale == "log":  # over a decade or more the major labels suffice; minor ones collide in a small panel
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        if scale == "unit":  # a negative R² (worse than the mean) stays in view
            ax.set_xlim(min(0.0, float(data.min()) - 0.05), 1.0)
        if best is not None and best in clean:
            ax.scatter(
                [clean[best]], [1.0], s=42, color=best_colour, edgecolors=th.foreground, linewidths=0.8, zorder=4
            )
            ax.get_xlim()  # settle the limits, then keep the label inside the panel near its ends
            where = ax.transAxes.inverted().transform(ax.transData.transform((clean[best], 1.0)))[0]
            ax.annotate(
                f"{best}: {fmt(clean[best])}",
                (clean[best], 1.0),
                xytext=(0, 11),
                textcoords="offset points",
                ha="left" if where < 0.12 else "right" if where > 0.88 else "center",
                va="bottom",
                fontsize=7.5,
                color=th.foreground,
                zorder=5,
                annotation_clip=False,
            )
        q1, median, q3 = np.percentile(data, [25, 50, 75])
        text = (
            f"{metric} ({'log scale' if scale == 'log' else axis_to_one(data) if scale == 'unit' else 'linear scale'}): "
            f"{data.size} {unit}{'s' if data.size != 1 else ''} from {fmt(data.min())} to {fmt(data.max())}, median {fmt(median)}, quartiles "
            f"{fmt(q1)} and {fmt(q3)}"
        )
        if hidden:
            text += f"; {hidden} {unit}{'s' if hidden != 1 else ''} ≤ 0 left out of the log axis"
        if best is not None and best in clean:
            rank = int(np.sum(data < clean[best])) + 1
            text += f"; {best} has {fmt(clean[best])} (rank {rank} of {data.size} from the lowest)"
        parts.append(text + ".")
    suptitle(fig, title, th)
    alt = (
        f"{title + ': ' if title else ''}{len(metrics)} horizontal box plot{'s' if len(metrics) != 1 else ''} "
        f"across {unit}s, one per metric, each {unit} a dot over the box (the box spans the quartiles, the line is "
        "the median, whiskers reach 1.5 times the interquartile range)"
        + (f", the best {unit} {best} a larger ringed dot labelled with its value" if best is not None else "")
        + (f", every {unit} named beside its dot" if label_points else "")
        + ". "
        + " ".join(parts)
    )
    return fig, alt


__all__ = ["SCALES", "plot_seed_boxes"]


def axis_to_one(data: np.ndarray) -> str:
    low = min(0.0, float(data.min()) - 0.05)
    return "from 0 to 1" if low == 0.0 else f"linear, from {low:.2g} to 1"
