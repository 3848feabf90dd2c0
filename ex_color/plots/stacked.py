"""The stacked result figure (later-experiments §B.4): two latent views, the reconstructed colours at full
saturation, and the error against hue on the extended-hue loss cube, one condition per figure."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ._common import check_1d, fmt, hsv_to_rgb, hue_name, new_figure, style_axes, style_legend
from .colors import color_grid_image
from .error import _HandlerGradient, _hue_line, _outline
from .latents import Cone, axis_name, check_views, draw_latent_view, view_text
from .theme import Theme, get_theme

V_TARGETS = (1.0, 0.8, 0.6, 0.4, 0.2)  # the values of the error lines
DPI = 150


def stacked_value_rows(v_values) -> list[int]:
    """Indices of the values drawn in the error panel: those nearest 1, .8, .6, .4, .2 (no repeats)."""
    v = np.asarray(v_values, dtype=float)
    out: list[int] = []
    for target in V_TARGETS:
        i = int(np.argmin(np.abs(v - target)))
        if i not in out:
            out.append(i)
    return out


def plot_stacked(
    latents,
    recon,
    true,
    views: Sequence[Sequence[int]],
    slice_pred,
    slice_true,
    slice_v,
    slice_h_deg,
    loss_error,
    loss_h_deg,
    loss_v,
    y_max: float | None = None,
    cones: Sequence[Cone] = (),
    title: str | None = None,
    theme: str | Theme = "light",
    *,
    saturation: float = 1.0,
) -> tuple[Figure, str]:
    """One condition (the baseline or an intervention) in three rows.

    Top: orthographic latent views, one per dims triple of ``views`` (None: an axis projected to 0; ``latents``
    [N, n], ``recon`` and ``true`` RGB [N, 3]: e.g. the 20³ RGB grid), with the ``cones`` of the intervention.
    Middle: reconstructed colours at saturation ``saturation``, ``slice_pred`` and ``slice_true`` RGB [V, H, 3]
    over values ``slice_v`` [V] and hues ``slice_h_deg`` [H] (degrees), each cell the reconstruction with the
    true colour as an inner square, the brightest row on top. Bottom: per-colour MSE against hue, ``loss_error`` [H', V']
    over hues ``loss_h_deg`` [H'] (degrees, may run past 0 and 360: the colours wrap) and values ``loss_v``,
    one line for each value nearest 1, .8, .6, .4, .2, coloured by the hue it measures; y from 0 to ``y_max``
    (give the same to every condition of a run so their panels compare; default: this panel's maximum).
    Returns ``(figure, alt_text)``; ``fig.axes[:len(views)]`` are the latent views, then the colour rows,
    then the error panel.
    """
    th = get_theme(theme)
    z = np.asarray(latents, dtype=float)
    recon = np.clip(np.nan_to_num(np.asarray(recon, dtype=float)), 0, 1)
    true = np.clip(np.nan_to_num(np.asarray(true, dtype=float)), 0, 1)
    if z.ndim != 2 or recon.shape != (len(z), 3) or true.shape != (len(z), 3):
        raise ValueError(f"latents must be [N, n] and recon, true [N, 3]; got {z.shape}, {recon.shape}, {true.shape}")
    views = check_views(views, z.shape[1])
    slice_pred = np.asarray(slice_pred, dtype=float)
    slice_true = np.asarray(slice_true, dtype=float)
    if slice_pred.shape != slice_true.shape or slice_pred.ndim != 3 or slice_pred.shape[-1] != 3:
        raise ValueError(
            f"slice_pred and slice_true must both be [V, H, 3]; got {slice_pred.shape}, {slice_true.shape}"
        )
    n_rows, n_cols, _ = slice_pred.shape
    sv = check_1d("slice_v", slice_v, n_rows)
    sh = check_1d("slice_h_deg", slice_h_deg, n_cols)
    err = np.asarray(loss_error, dtype=float)
    if err.ndim != 2:
        raise ValueError(f"loss_error must be [H, V]; got shape {err.shape}")
    lh = check_1d("loss_h_deg", loss_h_deg, err.shape[0])
    lv = check_1d("loss_v", loss_v, err.shape[1])

    fig = new_figure(5.0, 5.3, th, dpi=DPI)
    fig.get_layout_engine().set(h_pad=0.02, w_pad=0.02, hspace=0.02, wspace=0.02)
    grid = fig.add_gridspec(3, max(1, len(views)), height_ratios=[2.15, 1.0, 1.45])
    finite = np.all(np.isfinite(z), axis=1)
    for col, view in enumerate(views):
        ax = fig.add_subplot(grid[0, col])
        draw_latent_view(ax, z[finite], recon[finite], true[finite], view, cones, th, point_size=4.5, labels=False)
        ax.set_xticks([])
        ax.set_yticks([])
        i, j, k = view
        depth = "no depth" if k is None else f"depth dim {k}"
        ax.set_title(f"{axis_name(i)} →, {axis_name(j)} ↑, {depth}", fontsize=7.5)

    # Middle: the colour rows, brightest on top.
    v_order = np.argsort(-sv, kind="stable")
    h_order = np.argsort(sh, kind="stable")
    ax_c = fig.add_subplot(grid[1, :])
    image = color_grid_image(slice_pred[v_order][:, h_order], slice_true[v_order][:, h_order], cell=12, inner=6)
    ax_c.imshow(image, extent=(-0.5, n_cols - 0.5, n_rows - 0.5, -0.5), interpolation="nearest", aspect="auto")
    style_axes(ax_c, th, grid=False, spines=())
    ax_c.set_xticks(np.arange(n_cols), [f"{sh[h_order][c]:.0f}°" for c in range(n_cols)])
    ax_c.set_yticks(np.arange(n_rows), [f"{sv[v_order][r]:.2g}" for r in range(n_rows)])
    ax_c.tick_params(length=0, pad=2, labelsize=6.5)
    ax_c.set_ylabel("value", fontsize=7.5)
    ax_c.set_title(f"reconstructed (outer) and true (inner) colours, s = {saturation:.2g}", fontsize=7.5)

    # Bottom: error against hue on the extended-hue cube.
    ax_e = fig.add_subplot(grid[2, :])
    style_axes(ax_e, th)
    rows = stacked_value_rows(lv)
    handles = []
    for vi in rows:
        colors = hsv_to_rgb((lh / 360.0) % 1.0, saturation, lv[vi])
        _outline(ax_e, lh, err[:, vi], th, lw=1.1)
        lc = _hue_line(ax_e, lh, err[:, vi], colors, th, baseline=False, zorder=2.5)
        lc.set_linewidth(1.1)
        lc.set_label(f"v = {lv[vi]:.2f}")
        handles.append(lc)
    drawn = err[:, rows]
    top_here = float(np.nanmax(drawn)) if np.isfinite(drawn).any() else 0.0
    top = float(y_max) if y_max is not None and y_max > 0 else (top_here * 1.05 if top_here > 0 else 1.0)
    ax_e.set_ylim(0.0, top)
    ax_e.set_xlim(lh.min(), lh.max())
    for edge in (0.0, 360.0):
        if lh.min() < edge < lh.max():
            ax_e.axvline(edge, color=th.faint, lw=0.7, ls=":", zorder=1)
    ticks = np.arange(0.0, 361.0, 60.0)
    ax_e.set_xticks(ticks, [f"{t:.0f}°" for t in ticks])
    ax_e.tick_params(labelsize=6.5)
    ax_e.yaxis.get_offset_text().set_fontsize(6.5)
    ax_e.yaxis.get_offset_text().set_color(th.foreground)
    ax_e.set_xlabel(f"hue (s = {saturation:.2g})", fontsize=7.5, labelpad=1)
    ax_e.set_ylabel("MSE", fontsize=7.5)
    legend = ax_e.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=len(handles),
        fontsize=6,
        frameon=False,
        handlelength=1.6,
        columnspacing=0.9,
        borderaxespad=0.2,
        handler_map={LineCollection: _HandlerGradient(th.foreground)},
    )
    style_legend(legend, th)
    if title:
        fig.suptitle(title, color=th.foreground, fontsize=10, fontweight="bold")

    # Alt text.
    parts = [
        f"{title + ': ' if title else ''}a stacked figure in three rows. Top: {len(views)} orthographic views of "
        f"the {z.shape[1]}-dimensional latent space ("
        + "; ".join(view_text(view) for view in views)
        + f"), {int(finite.sum()):,} colours drawn as balls in their reconstructed colour with a dot of the true "
        "colour on a black unit sphere"
        + (
            f", with {len(cones)} circle{'s' if len(cones) != 1 else ''} marking the intervention's extent."
            if cones
            else "."
        )
    ]
    cell_err = np.mean((slice_pred - slice_true) ** 2, axis=-1)
    if np.isfinite(cell_err).any():
        w = np.unravel_index(np.nanargmax(np.where(np.isfinite(cell_err), cell_err, -np.inf)), cell_err.shape)
        worst = (
            f" The largest difference is at {sh[w[1]]:.0f}° ({hue_name(sh[w[1]])}), value {sv[w[0]]:.2g}: true "
            f"RGB({', '.join(f'{c:.2f}' for c in slice_true[w])}) comes back as "
            f"RGB({', '.join(f'{c:.2f}' for c in np.clip(slice_pred[w], 0, 1))}) (MSE {fmt(cell_err[w])})."
        )
    else:
        worst = ""
    parts.append(
        f"Middle: {n_rows} rows (value {', '.join(f'{x:.2g}' for x in sv[v_order])}, top to bottom) by {n_cols} "
        f"hues ({sh.min():.0f}° to {sh.max():.0f}°) at saturation {saturation:.2g}, each cell the reconstructed "
        f"colour with the true colour as an inner square.{worst}"
    )
    text = (
        f"Bottom: per-colour MSE against hue from {lh.min():.0f}° to {lh.max():.0f}° (the wheel's ends repeated "
        f"past 0° and 360°) at saturation {saturation:.2g}, for values {', '.join(f'{lv[i]:.2f}' for i in rows)}, "
        f"each line in the colours it measures; the y axis runs from 0 to {fmt(top)}"
    )
    if np.isfinite(drawn).any():
        peak = np.unravel_index(np.nanargmax(np.where(np.isfinite(drawn), drawn, -np.inf)), drawn.shape)
        hue = lh[peak[0]] % 360.0
        text += (
            f"; the highest error, {fmt(drawn[peak])}, is at hue {hue:.0f}° ({hue_name(hue)}), value "
            f"{lv[rows[peak[1]]]:.2f}"
        )
        if top_here > top:
            text += " (above the axis, clipped)"
    parts.append(text + ".")
    return fig, " ".join(parts)


__all__ = ["plot_stacked", "stacked_value_rows"]
