"""Predicted vs true colours over the display cube: one panel per saturation."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._common import check_1d, fmt, hue_name, hue_turns, new_figure, style_axes, suptitle, to_uint8
from .theme import Theme, get_theme


def color_grid_image(pred, true, cell: int = 10, inner: int = 5) -> np.ndarray:
    """Compose cells of ``cell``×``cell`` pixels: outer part = pred, centred ``inner``×``inner`` = true.

    ``pred`` and ``true`` are float RGB arrays of the same shape ``[..., R, C, 3]`` in [0, 1]
    (values are clipped, NaN becomes 0). Returns uint8 ``[..., R*cell, C*cell, 3]``, with rows and
    columns in the order given: cell (r, c) covers pixel rows ``r*cell : (r+1)*cell`` and columns
    ``c*cell : (c+1)*cell``; its true-colour square starts ``(cell - inner) // 2`` pixels in.
    Colours are rounded to the nearest of 256 levels.
    """
    p = to_uint8(pred)
    t = to_uint8(true)
    if p.shape != t.shape:
        raise ValueError(f"pred and true must have the same shape; got {p.shape} and {t.shape}")
    if p.ndim < 3 or p.shape[-1] != 3:
        raise ValueError(f"colour arrays must have shape [..., rows, cols, 3]; got {p.shape}")
    cell, inner = int(cell), int(inner)
    if cell < 1 or not 0 <= inner <= cell:
        raise ValueError(f"need cell >= 1 and 0 <= inner <= cell; got cell={cell}, inner={inner}")
    *lead, rows, cols, _ = p.shape
    img = np.empty((*lead, rows, cell, cols, cell, 3), dtype=np.uint8)
    img[...] = p[..., :, None, :, None, :]
    if inner:
        o = (cell - inner) // 2
        img[..., :, o : o + inner, :, o : o + inner, :] = t[..., :, None, :, None, :]
    return img.reshape(*lead, rows * cell, cols * cell, 3)


def plot_color_grid(
    pred,
    true,
    s_values,
    v_values,
    h_values,
    title: str | None = None,
    theme: str | Theme = "light",
    *,
    cell: int = 10,
    inner: int = 5,
) -> tuple[Figure, str]:
    """Predicted vs true colours of an HSV cube, one panel per saturation.

    ``pred`` and ``true``: float RGB ``[S, V, H, 3]`` in [0, 1] (display cube: 4 × 8 × 24);
    ``s_values`` [S], ``v_values`` [V], ``h_values`` [H] (hue in turns [0, 1); degrees accepted).
    Panels run left→right by increasing saturation (``fig.axes[i]`` is the i-th lowest saturation);
    within a panel hue increases left→right and value decreases top→bottom (brightest row on top).
    Each cell is drawn by ``imshow`` of :func:`color_grid_image` (nearest-neighbour, exact colours):
    the outer part is the prediction, the centred inner square the true colour.
    Returns ``(figure, alt_text)``.
    """
    th = get_theme(theme)
    pred = np.asarray(pred, dtype=float)
    true = np.asarray(true, dtype=float)
    if pred.shape != true.shape or pred.ndim != 4 or pred.shape[-1] != 3:
        raise ValueError(f"pred and true must both be [S, V, H, 3]; got {pred.shape} and {true.shape}")
    n_s, n_v, n_h, _ = pred.shape
    s = check_1d("s_values", s_values, n_s)
    v = check_1d("v_values", v_values, n_v)
    h_deg = hue_turns(check_1d("h_values", h_values, n_h)) * 360.0

    s_order = np.argsort(s, kind="stable")
    v_order = np.argsort(-v, kind="stable")  # brightest on top
    h_order = np.argsort(h_deg, kind="stable")

    panel_w = 3.4
    width = min(14.0, max(8.0, panel_w * n_s + 0.6))
    each_w = (width - 0.6) / n_s
    height = max(2.2, each_w * n_v / n_h + (1.05 if title else 0.75))
    fig = new_figure(width, height, th)
    fig.get_layout_engine().set(wspace=0.04, w_pad=0.06)
    axes = fig.subplots(1, n_s, squeeze=False)[0]

    h_step = max(1, int(round(n_h / 6)))
    v_step = 1 if n_v <= 8 else int(np.ceil(n_v / 8))
    for col, si in enumerate(s_order):
        ax = axes[col]
        p = pred[si][v_order][:, h_order]
        t = true[si][v_order][:, h_order]
        img = color_grid_image(p, t, cell=cell, inner=inner)
        ax.imshow(
            img,
            extent=(-0.5, n_h - 0.5, n_v - 0.5, -0.5),
            interpolation="nearest",
            resample=False,
            aspect="equal",
        )
        style_axes(ax, th, grid=False, spines=("left", "right", "top", "bottom"))
        for spine in ax.spines.values():
            spine.set_color(th.grid)
        ax.set_title(f"s = {s[si]:.2f}", fontsize=10)
        xt = np.arange(0, n_h, h_step)
        ax.set_xticks(xt, [f"{h_deg[h_order][i]:.0f}°" for i in xt])
        yt = np.arange(0, n_v, v_step)
        ax.set_yticks(yt, [f"{v[v_order][i]:.2f}" for i in yt] if col == 0 else [])
        ax.tick_params(length=2, pad=2, labelsize=7)
        ax.set_xlabel("hue")
        if col == 0:
            ax.set_ylabel("value")
    suptitle(fig, title, th)

    # Alt text: layout plus where prediction and truth disagree most.
    err = np.mean((pred - true) ** 2, axis=-1)  # [S, V, H]
    finite = np.isfinite(err)
    if finite.any():
        idx = np.unravel_index(np.nanargmax(np.where(finite, err, -np.inf)), err.shape)
        worst = (
            f"The largest difference (mean squared error {fmt(err[idx])}) is at hue {h_deg[idx[2]]:.0f}° "
            f"({hue_name(h_deg[idx[2]])}), saturation {s[idx[0]]:.2f}, value {v[idx[1]]:.2f}, where the true "
            f"colour RGB({', '.join(f'{c:.2f}' for c in true[idx])}) is reconstructed as "
            f"RGB({', '.join(f'{c:.2f}' for c in pred[idx])})."
        )
        visible = int(np.sum(err[finite] > 0.01))
        mean = f" Mean squared error over all cells is {fmt(np.nanmean(err))}; {visible} of {err.size} cells differ by more than 0.01."
    else:
        worst, mean = "", ""
    alt = (
        f"{title + ': ' if title else ''}{n_s} panels of an HSV colour grid, one per saturation "
        f"({', '.join(f'{x:.2f}' for x in s[s_order])}, left to right). In each panel hue runs left to right "
        f"over {n_h} hues from {h_deg.min():.0f}° to {h_deg.max():.0f}° and value runs from "
        f"{v.max():.2f} at the top to {v.min():.2f} at the bottom ({n_v} rows). Each cell is a square whose "
        f"outer part shows the predicted (reconstructed) colour and whose small inner square shows the true "
        f"input colour. {worst}{mean}"
    )
    return fig, alt


__all__ = ["color_grid_image", "plot_color_grid"]
