"""Shared helpers for the figure modules (not public API)."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ex_color.data.colors import hue_name
from ex_color.data.cubes import hsv_to_rgb

from .theme import Theme, get_theme

DPI = 120


def new_figure(width: float, height: float, theme: Theme, *, dpi: int = DPI) -> Figure:
    """A detached (non-pyplot) figure with constrained layout and the theme's background."""
    return Figure(
        figsize=(width, height),
        dpi=dpi,
        facecolor=theme.background,
        edgecolor=theme.background,
        layout="constrained",
    )


def style_axes(ax: Axes, theme: Theme, *, grid: bool = True, spines: Iterable[str] = ("left", "bottom")) -> None:
    """Colour an axes for a theme: background, visible spines, ticks, labels and an optional grid."""
    ax.set_facecolor(theme.background)
    keep = set(spines)
    for side, spine in ax.spines.items():
        spine.set_visible(side in keep)
        spine.set_color(theme.faint)
        spine.set_linewidth(0.8)
    ax.tick_params(colors=theme.foreground, which="both", labelsize=8)
    ax.tick_params(which="both", color=theme.faint)
    ax.xaxis.label.set_color(theme.foreground)
    ax.yaxis.label.set_color(theme.foreground)
    ax.xaxis.label.set_fontsize(9)
    ax.yaxis.label.set_fontsize(9)
    ax.title.set_color(theme.foreground)
    ax.title.set_fontsize(10)
    if grid:
        ax.grid(True, color=theme.grid, linewidth=0.6, zorder=0)
        ax.set_axisbelow(True)


def suptitle(fig: Figure, title: str | None, theme: Theme) -> None:
    if title:
        fig.suptitle(title, color=theme.foreground, fontsize=13, fontweight="bold")


def style_legend(legend, theme: Theme) -> None:
    if legend is None:
        return
    frame = legend.get_frame()
    frame.set_facecolor(theme.background)
    frame.set_edgecolor(theme.grid)
    frame.set_alpha(0.9)
    for text in legend.get_texts():
        text.set_color(theme.foreground)
    if legend.get_title() is not None:
        legend.get_title().set_color(theme.foreground)


def hue_turns(h_values) -> np.ndarray:
    """Hues as fractions of a turn. Values above 1 are taken to be degrees."""
    h = np.asarray(h_values, dtype=float)
    if h.size and np.nanmax(h) > 1.0 + 1e-9:
        h = h / 360.0
    return h


def to_uint8(rgb) -> np.ndarray:
    """Float RGB in [0, 1] -> uint8, rounding to nearest (NaN -> 0)."""
    arr = np.nan_to_num(np.asarray(rgb, dtype=float), nan=0.0)
    return np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def fmt(x: float) -> str:
    """Compact number for alt texts and labels."""
    x = float(x)
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    return f"{x:.2e}"


def check_1d(name: str, arr, length: int | None = None) -> np.ndarray:
    a = np.asarray(arr, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if length is not None and a.shape[0] != length:
        raise ValueError(f"{name} has {a.shape[0]} entries; expected {length}")
    return a


# --- phases and events (training and schedule plots) -------------------------------------------


def normalise_phases(phases: Sequence[tuple[int, str]] | None, end: float) -> list[tuple[float, float, str]]:
    """[(start, name), ...] -> sorted [(start, stop, name), ...], each phase running to the next start."""
    items = sorted(((float(s), str(n)) for s, n in (phases or [])), key=lambda p: p[0])
    spans = []
    for i, (start, name) in enumerate(items):
        stop = items[i + 1][0] if i + 1 < len(items) else float(end)
        spans.append((start, max(stop, start), name))
    return spans


def draw_phases(ax: Axes, spans, theme: Theme, *, label: bool, x0: float) -> None:
    """Alternate faint shading per phase, a thin line at each phase start after x0, names on top."""
    trans = ax.get_xaxis_transform()
    for i, (start, stop, name) in enumerate(spans):
        if i % 2 == 1:
            ax.axvspan(start, stop, color=theme.faint, alpha=0.08, lw=0, zorder=0.1)
        if start > x0:
            ax.axvline(start, color=theme.faint, lw=0.8, alpha=0.7, zorder=0.2)
        if label and name:
            ax.text(
                start,
                0.96,
                f" {name}",
                transform=trans,
                ha="left",
                va="top",
                fontsize=8,
                color=theme.faint,
                fontstyle="italic",
                clip_on=True,
                zorder=5,
                # legible where a curve passes under it
                bbox={"boxstyle": "round,pad=0.15", "facecolor": theme.background, "edgecolor": "none", "alpha": 0.85},
            )


def draw_events(ax: Axes, events: Mapping[int, Sequence[str]] | None, theme: Theme, *, label: bool) -> None:
    """Dotted vertical line at each event step; with ``label`` also a marker at the top and, when there
    are at most 12 events, their names above the axes."""
    if not events:
        return
    trans = ax.get_xaxis_transform()
    steps = sorted(int(s) for s in events)
    for step in steps:
        ax.axvline(step, color=theme.faint, lw=0.7, ls=":", alpha=0.8, zorder=0.2)
        if label:
            ax.plot([step], [1.0], marker="v", ms=5, color=theme.foreground, transform=trans, clip_on=False, zorder=6)
    if label and len(steps) <= 12:
        for step in steps:
            names = ", ".join(str(n) for n in events[step])
            if names:
                ax.text(
                    step,
                    1.04,
                    names,
                    transform=trans,
                    ha="left",
                    va="bottom",
                    rotation=30,
                    rotation_mode="anchor",
                    fontsize=7,
                    color=theme.foreground,
                    clip_on=False,
                )


__all__ = [
    "DPI",
    "Theme",
    "get_theme",
    "new_figure",
    "style_axes",
    "suptitle",
    "style_legend",
    "hsv_to_rgb",
    "hue_turns",
    "hue_name",
    "to_uint8",
    "fmt",
    "check_1d",
    "normalise_phases",
    "draw_phases",
    "draw_events",
]


def phases_and_events_text(spans, events: Mapping[int, Sequence[str]] | None) -> str:
    """Alt-text sentences naming the phases and (up to 12) events of a timeline."""
    text = ""
    if spans:
        text += " Phases: " + ", ".join(f"{name} from step {start:.0f}" for start, _, name in spans) + "."
    if events:
        ev = sorted(events.items())
        text += " Events: " + ", ".join(f"{', '.join(map(str, v))} at step {k}" for k, v in ev[:12])
        text += f" and {len(ev) - 12} more." if len(ev) > 12 else "."
    return text
