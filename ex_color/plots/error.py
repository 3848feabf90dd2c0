"""Per-colour reconstruction error against hue, saturation and value, each line in its own colour."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerBase
from matplotlib.lines import Line2D

from ._common import (
    check_1d,
    fmt,
    hsv_to_rgb,
    hue_name,
    hue_turns,
    new_figure,
    style_axes,
    style_legend,
    suptitle,
)
from .theme import Theme, get_theme

V_TARGETS = (1.0, 0.8, 0.6, 0.4, 0.2)
H_TARGETS = (0.0, 60.0, 120.0, 180.0, 240.0, 300.0)
LW = 1.7


def _nearest(grid: np.ndarray, targets) -> list[int]:
    out: list[int] = []
    for t in targets:
        i = int(np.argmin(np.abs(grid - t)))
        if i not in out:
            out.append(i)
    return out


def _nearest_hue(h_deg: np.ndarray, targets) -> list[int]:
    out: list[int] = []
    for t in targets:
        d = np.abs((h_deg - t + 180.0) % 360.0 - 180.0)
        i = int(np.argmin(d))
        if i not in out:
            out.append(i)
    return out


def _local_peaks(y: np.ndarray, x_deg: np.ndarray, window: int, floor: float) -> list[tuple[float, float]]:
    """Circular local maxima over ±window samples, highest first, at least ``floor`` high."""
    n = y.size
    if n == 0:
        return []
    yy = np.nan_to_num(y, nan=-np.inf)
    peaks = []
    for i in range(n):
        neigh = yy[[(i + k) % n for k in range(-window, window + 1)]]
        if yy[i] >= neigh.max() and yy[i] >= floor and (not peaks or peaks[-1][0] != i - 1):
            peaks.append((i, yy[i]))
    peaks.sort(key=lambda p: -p[1])
    return [(float(x_deg[i]), float(v)) for i, v in peaks]


def _outline(ax, x, y, th: Theme, *, lw=LW, zorder=2.0):
    """A faint halo under a coloured line so that dark/light colours stay visible on either theme."""
    alpha = 0.28 if th.name != "dark" else 0.2
    ax.plot(x, y, color=th.foreground, alpha=alpha, lw=lw + 1.2, solid_capstyle="round", zorder=zorder)


def _hue_line(ax, h_deg, y, colors, th: Theme, *, baseline: bool, zorder: float):
    """A line over hue whose segments take the colour they measure."""
    pts = np.column_stack([h_deg, y])
    if baseline:
        # Dashes restart on every segment, so group into chunks long enough to show a dash pattern.
        chunk = max(2, len(h_deg) // 24)
        segs, cols = [], []
        for a in range(0, len(h_deg) - 1, chunk):
            b = min(a + chunk, len(h_deg) - 1)
            segs.append(pts[a : b + 1])
            cols.append(colors[(a + b) // 2])
        lc = LineCollection(segs, colors=cols, linewidths=1.2, linestyles=(0, (4, 2)), alpha=0.45, zorder=zorder)
    else:
        segs = np.stack([pts[:-1], pts[1:]], axis=1)
        cols = (colors[:-1] + colors[1:]) / 2
        lc = LineCollection(segs, colors=cols, linewidths=LW, capstyle="round", zorder=zorder)
    ax.add_collection(lc)
    return lc


class _HandlerGradient(HandlerBase):
    """Legend key for a multicoloured LineCollection: a short line sweeping through its colours."""

    def __init__(self, outline: str):
        super().__init__()
        self.outline = outline

    def create_artists(self, legend, orig_handle, xdescent, ydescent, width, height, fontsize, trans):
        colors = np.asarray(orig_handle.get_colors())
        n = 16
        xs = np.linspace(-xdescent, width - xdescent, n + 1)
        y = height / 2 - ydescent
        segs = np.stack([np.column_stack([xs[:-1], np.full(n, y)]), np.column_stack([xs[1:], np.full(n, y)])], axis=1)
        pick = np.linspace(0, len(colors) - 1, n).round().astype(int) if len(colors) else np.zeros(n, int)
        halo = Line2D([xs[0], xs[-1]], [y, y], color=self.outline, alpha=0.28, lw=4.4, transform=trans)
        lc = LineCollection(segs, colors=colors[pick] if len(colors) else None, linewidths=3.0, transform=trans)
        return [halo, lc]


def _strip(ax, img, extent, th: Theme):
    ax.imshow(img, extent=extent, aspect="auto", interpolation="bilinear", origin="upper")
    style_axes(ax, th, grid=False, spines=())
    ax.set_yticks([])
    ax.tick_params(axis="x", length=3, pad=2)


def plot_error_series(
    error,
    h_values,
    s_values,
    v_values,
    title: str | None = None,
    baseline=None,
    theme: str | Theme = "light",
) -> tuple[Figure, str]:
    """Per-colour MSE on the HD cube against hue, saturation and value.

    ``error``: per-colour MSE ``[H, S, V]`` (HD cube: 240 × 48 × 48); ``h_values`` [H] (hue in turns
    [0, 1); degrees accepted when any value exceeds 1), ``s_values`` [S], ``v_values`` [V].
    ``baseline``: optional array of the same shape (e.g. the no-intervention error), drawn faint and
    dashed beneath.

    Panels: (a) error vs hue at the highest saturation, for the values nearest 1, .8, .6, .4, .2,
    each line's segments coloured by the hue they measure; (b) error vs saturation at the highest
    value and (c) error vs value at the highest saturation, for the hues nearest 0°, 60°, …, 300°,
    each in its fully saturated colour. Linear y ("MSE") shared across panels, starting at 0.
    A colour strip under each panel shows what the x axis means. Returns ``(figure, alt_text)``.
    """
    th = get_theme(theme)
    err = np.asarray(error, dtype=float)
    if err.ndim != 3:
        raise ValueError(f"error must be [H, S, V]; got shape {err.shape}")
    n_h, n_s, n_v = err.shape
    h = hue_turns(check_1d("h_values", h_values, n_h))
    s = check_1d("s_values", s_values, n_s)
    v = check_1d("v_values", v_values, n_v)
    base = None
    if baseline is not None:
        base = np.asarray(baseline, dtype=float)
        if base.shape != err.shape:
            raise ValueError(f"baseline must have the same shape as error {err.shape}; got {base.shape}")

    h_order = np.argsort(h, kind="stable")
    h = h[h_order]
    err = err[h_order]
    if base is not None:
        base = base[h_order]
    s_order = np.argsort(s, kind="stable")
    v_order = np.argsort(v, kind="stable")
    s, v = s[s_order], v[v_order]
    err = err[:, s_order][:, :, v_order]
    if base is not None:
        base = base[:, s_order][:, :, v_order]
    h_deg = h * 360.0
    si_max, vi_max = n_s - 1, n_v - 1

    # Close the hue circle: repeat the first hue at +360°.
    h_wrap = np.append(h_deg, h_deg[0] + 360.0) if n_h > 1 else h_deg

    def wrap(a):
        return np.append(a, a[0]) if n_h > 1 else a

    v_sel = _nearest(v, V_TARGETS)
    h_sel = _nearest_hue(h_deg, H_TARGETS)

    fig = new_figure(14.0, 5.0, th)
    fig.get_layout_engine().set(wspace=0.06)
    gs = fig.add_gridspec(2, 3, height_ratios=[1.0, 0.075])
    ax_a = fig.add_subplot(gs[0, 0])
    ax_b = fig.add_subplot(gs[0, 1], sharey=ax_a)
    ax_c = fig.add_subplot(gs[0, 2], sharey=ax_a)
    st_a = fig.add_subplot(gs[1, 0], sharex=ax_a)
    st_b = fig.add_subplot(gs[1, 1], sharex=ax_b)
    st_c = fig.add_subplot(gs[1, 2], sharex=ax_c)
    for ax in (ax_a, ax_b, ax_c):
        style_axes(ax, th)
        ax.tick_params(axis="x", labelbottom=False)
    for ax in (ax_b, ax_c):
        ax.tick_params(axis="y", labelleft=False)

    # (a) error vs hue at full saturation, several values.
    handles = []
    for vi in v_sel:
        y = wrap(err[:, si_max, vi])
        colors = hsv_to_rgb(h_wrap / 360.0, s[si_max], v[vi])
        if base is not None:
            yb = wrap(base[:, si_max, vi])
            _hue_line(ax_a, h_wrap, yb, colors, th, baseline=True, zorder=1.5)
        _outline(ax_a, h_wrap, y, th)
        lc = _hue_line(ax_a, h_wrap, y, colors, th, baseline=False, zorder=2.5)
        lc.set_label(f"v = {v[vi]:.2f}")
        handles.append(lc)
    ax_a.set_xlim(h_wrap[0], h_wrap[-1])
    ax_a.set_title(f"(a) against hue  (s = {s[si_max]:.2f})", loc="left", color=th.foreground)
    ax_a.set_ylabel("MSE")

    # (b) error vs saturation at the highest value; (c) error vs value at the highest saturation.
    hue_handles = []
    for hi in h_sel:
        col = hsv_to_rgb(h[hi], 1.0, 1.0)
        yb_, yc_ = err[hi, :, vi_max], err[hi, si_max, :]
        if base is not None:
            ax_b.plot(s, base[hi, :, vi_max], color=col, lw=1.2, ls=(0, (4, 2)), alpha=0.45, zorder=1.5)
            ax_c.plot(v, base[hi, si_max, :], color=col, lw=1.2, ls=(0, (4, 2)), alpha=0.45, zorder=1.5)
        _outline(ax_b, s, yb_, th)
        _outline(ax_c, v, yc_, th)
        ax_b.plot(s, yb_, color=col, lw=LW, zorder=2.5, solid_capstyle="round")
        ax_c.plot(v, yc_, color=col, lw=LW, zorder=2.5, solid_capstyle="round")
        hue_handles.append(Line2D([], [], color=col, lw=2.5, label=f"{h_deg[hi]:.0f}° {hue_name(h_deg[hi])}"))
    ax_b.set_xlim(s[0], s[-1])
    ax_c.set_xlim(v[0], v[-1])
    ax_b.set_title(f"(b) against saturation  (v = {v[vi_max]:.2f})", loc="left", color=th.foreground)
    ax_c.set_title(f"(c) against value  (s = {s[si_max]:.2f})", loc="left", color=th.foreground)

    # Shared y limits from everything drawn.
    drawn = [err[:, si_max, v_sel], err[h_sel, :, vi_max], err[h_sel, si_max, :]]
    if base is not None:
        drawn += [base[:, si_max, v_sel], base[h_sel, :, vi_max], base[h_sel, si_max, :]]
    top = max((float(np.nanmax(d)) for d in drawn if np.isfinite(d).any()), default=0.0)
    ax_a.set_ylim(0.0, top * 1.08 if top > 0 else 1.0)

    # Legends.
    if base is not None:
        dash = Line2D([], [], color=th.faint, lw=1.2, ls=(0, (4, 2)), label="baseline")
        handles.append(dash)
        hue_handles.append(dash)
    leg_a = ax_a.legend(
        handles=handles,
        loc="best",
        fontsize=7,
        ncols=3,
        framealpha=0.9,
        handlelength=2.4,
        columnspacing=1.0,
        handler_map={LineCollection: _HandlerGradient(th.foreground)},
    )
    style_legend(leg_a, th)
    leg_b = ax_b.legend(
        handles=hue_handles, loc="best", fontsize=7, ncols=3, framealpha=0.9, handlelength=1.6, columnspacing=1.0
    )
    style_legend(leg_b, th)

    # Colour strips as x axes.
    hue_img = hsv_to_rgb(np.linspace(0, 1, 361)[None, :], 1.0, 1.0)
    _strip(st_a, hue_img, (h_wrap[0], h_wrap[-1], 0, 1), th)
    st_a.set_xticks(np.arange(0, 361, 60), [f"{d}°" for d in range(0, 361, 60)])
    st_a.set_xlabel("hue")
    rows_b = np.stack([hsv_to_rgb(h[hi], np.linspace(s[0], s[-1], 128), v[vi_max]) for hi in h_sel])
    rows_c = np.stack([hsv_to_rgb(h[hi], s[si_max], np.linspace(v[0], v[-1], 128)) for hi in h_sel])
    _strip(st_b, rows_b, (s[0], s[-1], 0, 1), th)
    _strip(st_c, rows_c, (v[0], v[-1], 0, 1), th)
    st_b.set_xlabel("saturation")
    st_c.set_xlabel("value")
    suptitle(fig, title, th)

    # Alt text.
    parts = [f"{title + ': ' if title else ''}three line charts of per-colour reconstruction error (MSE)."]
    if np.isfinite(err).any():
        i = np.unravel_index(np.nanargmax(np.where(np.isfinite(err), err, -np.inf)), err.shape)
        parts.append(
            f"Over all {err.size:,} colours the maximum MSE is {fmt(err[i])}, at hue {h_deg[i[0]]:.0f}° "
            f"({hue_name(h_deg[i[0]])}), saturation {s[i[1]]:.2f}, value {v[i[2]]:.2f}; the mean is "
            f"{fmt(np.nanmean(err))}."
        )
        line = err[:, si_max, vi_max]
        peaks = _local_peaks(line, h_deg, window=max(1, n_h // 24), floor=0.01 * max(np.nanmax(line), 1e-12))
        if peaks:
            desc = ", ".join(f"{d:.0f}° ({hue_name(d)}, {fmt(y)})" for d, y in peaks[:4])
            parts.append(
                f"Panel (a) plots error against hue (0° to 360°) for fully saturated colours at values "
                f"{', '.join(f'{v[k]:.2f}' for k in v_sel)}, each line drawn in the colours it measures; at "
                f"the brightest value its peaks are at {desc}."
            )
        worst_b = max(h_sel, key=lambda k: np.nanmax(err[k, :, vi_max]) if np.isfinite(err[k, :, vi_max]).any() else -1)
        worst_c = max(h_sel, key=lambda k: np.nanmax(err[k, si_max, :]) if np.isfinite(err[k, si_max, :]).any() else -1)
        parts.append(
            f"Panel (b) plots error against saturation at full value and panel (c) against value at full "
            f"saturation, for hues {', '.join(f'{h_deg[k]:.0f}°' for k in h_sel)}, each line in its hue; the "
            f"highest lines are {hue_name(h_deg[worst_b])} in (b) (up to {fmt(np.nanmax(err[worst_b, :, vi_max]))}) "
            f"and {hue_name(h_deg[worst_c])} in (c) (up to {fmt(np.nanmax(err[worst_c, si_max, :]))})."
        )
    parts.append(f"The y axes are shared and run from 0 to {fmt(ax_a.get_ylim()[1])}.")
    if base is not None and np.isfinite(base).any():
        j = np.unravel_index(np.nanargmax(np.where(np.isfinite(base), base, -np.inf)), base.shape)
        parts.append(
            f"A faint dashed baseline is drawn beneath for comparison; its maximum is {fmt(base[j])} at hue "
            f"{h_deg[j[0]]:.0f}° ({hue_name(h_deg[j[0]])})."
        )
    return fig, " ".join(parts)


__all__ = ["plot_error_series"]
