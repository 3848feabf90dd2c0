"""Figures of the digits domain: arrays in, ``(figure, alt_text)`` out (no pyplot, no models).

* `plot_reconstructions`: examples of each class, rows original / baseline / intervened;
* `plot_class_deltas`: per-class Δ MSE bars, the concept digit highlighted;
* `plot_class_latents`: 2-D views of the latent, points coloured by class;
* `plot_digits_stacked`: the stacked result figure's counterpart (latent views, reconstructions, Δ bars).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import new_figure, style_axes, suptitle
from .theme import Theme, get_theme

CLASS_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


def examples(digits: np.ndarray, per_class: int = 1) -> np.ndarray:
    """Indices of the first `per_class` images of each digit, digit by digit."""
    return np.concatenate([np.flatnonzero(digits == d)[:per_class] for d in range(10)])


def _draw_reconstructions(axes_rows, images: Sequence[tuple[str, np.ndarray]], digits: np.ndarray, th: Theme) -> None:
    for row, (name, pixels) in zip(axes_rows, images):
        for column, ax in enumerate(row):
            ax.imshow(pixels[column].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color(th.faint)
            if column == 0:
                ax.set_ylabel(name, color=th.foreground, fontsize=8)
            if name == images[0][0]:
                ax.set_title(str(int(digits[column])), color=th.foreground, fontsize=9)


def plot_reconstructions(
    rows: Sequence[tuple[str, np.ndarray]], digits: np.ndarray, title: str | None = None, theme: str | Theme = "light"
) -> tuple[Figure, str]:
    """``rows``: (name, pixels [n, 64]) per row (original, baseline, intervened), the same n images of
    ``digits`` [n] in each."""
    th = get_theme(theme)
    n = len(digits)
    fig = new_figure(0.75 * n + 0.6, 0.8 * len(rows) + (0.5 if title else 0.2), th)
    axes = fig.subplots(len(rows), n, squeeze=False)
    _draw_reconstructions(axes, rows, digits, th)
    suptitle(fig, title, th)
    alt = (
        f"{title + ': ' if title else ''}a grid of 8×8 digit images, one column per example "
        f"(digits {', '.join(str(int(d)) for d in digits)}), rows: {', '.join(name for name, _ in rows)}."
    )
    return fig, alt


def _draw_deltas(ax: Axes, deltas: np.ndarray, concept: int | None, th: Theme, baseline: np.ndarray | None) -> None:
    colours = [CLASS_COLOURS[3] if d == concept else th.faint for d in range(10)]
    ax.bar(range(10), deltas, color=colours, zorder=2)
    ax.axhline(0, color=th.foreground, linewidth=0.6)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_ylabel("Δ MSE (intervened − baseline)")
    style_axes(ax, th)
    if baseline is not None:
        ax.plot(range(10), baseline, "_", color=th.foreground, markersize=12, label="baseline MSE", zorder=3)
        ax.legend(fontsize=7, frameon=False, labelcolor=th.foreground)


def plot_class_deltas(
    deltas: np.ndarray,
    concept: int | None,
    baseline: np.ndarray | None = None,
    title: str | None = None,
    theme: str | Theme = "light",
) -> tuple[Figure, str]:
    """Per-class Δ MSE [10] as bars (the concept digit in colour), the baseline MSE as ticks."""
    th = get_theme(theme)
    deltas = np.asarray(deltas, float)
    fig = new_figure(5.0, 3.0 + (0.4 if title else 0), th)
    _draw_deltas(fig.subplots(), deltas, concept, th, baseline)
    suptitle(fig, title, th)
    values = ", ".join(f"{d}: {v:.2g}" for d, v in enumerate(deltas))
    alt = f"{title + ': ' if title else ''}bars of the change in reconstruction MSE per digit ({values})."
    return fig, alt


def _draw_latents(ax: Axes, latents: np.ndarray, digits: np.ndarray, view: tuple[int, int], th: Theme) -> None:
    x, y = view
    for d in range(10):
        members = digits == d
        ax.scatter(latents[members, x], latents[members, y], s=6, color=CLASS_COLOURS[d], label=str(d), linewidths=0)
    ax.set_xlabel(f"dim {x}")
    ax.set_ylabel(f"dim {y}")
    ax.set_aspect("equal", adjustable="datalim")
    style_axes(ax, th)


def plot_class_latents(
    latents: np.ndarray,
    digits: np.ndarray,
    views: Sequence[tuple[int, int]] = ((0, 1), (0, 2), (1, 2)),
    title: str | None = None,
    theme: str | Theme = "light",
) -> tuple[Figure, str]:
    """2-D views (x dim, y dim) of the latents [N, n], each point coloured by its digit."""
    th = get_theme(theme)
    views = [v for v in views if max(v) < latents.shape[1]] or [(0, 0)]
    fig = new_figure(3.2 * len(views) + 0.6, 3.3 + (0.4 if title else 0), th)
    axes = fig.subplots(1, len(views), squeeze=False)[0]
    for ax, view in zip(axes, views):
        _draw_latents(ax, latents, digits, view, th)
    axes[-1].legend(
        fontsize=7, frameon=False, labelcolor=th.foreground, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5)
    )
    suptitle(fig, title, th)
    alt = (
        f"{title + ': ' if title else ''}scatter plots of the latent codes of {len(digits)} digit images, "
        f"views {', '.join(f'dim {x} across, dim {y} up' for x, y in views)}, one colour per digit."
    )
    return fig, alt


def plot_digits_stacked(
    latents: np.ndarray,
    digits: np.ndarray,
    rows: Sequence[tuple[str, np.ndarray]],
    shown: np.ndarray,
    deltas: np.ndarray | None,
    concept: int | None,
    views: Sequence[tuple[int, int]] = ((0, 1), (1, 2)),
    title: str | None = None,
    theme: str | Theme = "light",
) -> tuple[Figure, str]:
    """The stacked result figure for digits: latent views coloured by class (top), reconstructions of one
    example per class (middle), per-class Δ bars (bottom; absent for the baseline)."""
    th = get_theme(theme)
    views = [v for v in views if max(v) < latents.shape[1]] or [(0, 0)]
    heights = [3.0, 0.75 * len(rows)] + ([2.4] if deltas is not None else [])
    fig = new_figure(8.0, sum(heights) + 0.8, th)
    figs = fig.subfigures(len(heights), 1, height_ratios=heights)
    top = figs[0].subplots(1, len(views), squeeze=False)[0]
    for ax, view in zip(top, views):
        _draw_latents(ax, latents, digits, view, th)
    top[-1].legend(
        fontsize=6, frameon=False, labelcolor=th.foreground, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5)
    )
    grid = figs[1].subplots(len(rows), len(shown), squeeze=False)
    _draw_reconstructions(grid, rows, digits[shown], th)
    if deltas is not None:
        _draw_deltas(figs[2].subplots(), np.asarray(deltas, float), concept, th, None)
    suptitle(fig, title, th)
    alt = (
        f"{title + ': ' if title else ''}top, latent views coloured by digit; middle, one example of each digit "
        f"({', '.join(name for name, _ in rows)}); "
        + (
            "bottom, the change in MSE per digit: " + ", ".join(f"{d}: {v:.2g}" for d, v in enumerate(deltas)) + "."
            if deltas is not None
            else "no intervention."
        )
    )
    return fig, alt


__all__ = ["examples", "plot_class_deltas", "plot_class_latents", "plot_digits_stacked", "plot_reconstructions"]
