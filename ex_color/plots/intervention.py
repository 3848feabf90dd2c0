"""What an intervention does to alignment with its concept: transfer curve and polar "lobe"."""

from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ex_color.errors import UserError

from ._common import check_1d, fmt, new_figure, style_axes, style_legend, suptitle
from .theme import Theme, get_theme

KINDS = ("suppression", "repulsion")
LOBE_SAMPLES = 360  # even, so that θ = 0 (where repulsion picks an arbitrary side) is not sampled


def lobe_from_curve(alignment_in, alignment_out, kind: str, samples: int = LOBE_SAMPLES):
    """Derive the lobe from the alignment curve, for unit inputs at angles θ = linspace(-π, π, samples).

    Inputs with positive alignment d = cos θ are mapped through the curve (interpolated); others are
    unchanged. Suppression keeps the perpendicular part (x = out(d), y = sin θ); repulsion rotates
    within the plane and keeps unit length (x = out(d), y = ±sqrt(1 − out²)). Returns (θ, xy [samples, 2]).
    """
    kind = _check_kind(kind)
    a_in = np.asarray(alignment_in, dtype=float)
    a_out = np.asarray(alignment_out, dtype=float)
    order = np.argsort(a_in, kind="stable")
    a_in, a_out = a_in[order], a_out[order]
    theta = np.linspace(-np.pi, np.pi, int(samples))
    d = np.cos(theta)
    x = d.copy()
    y = np.sin(theta)
    act = d > 0
    out = np.interp(d[act], a_in, a_out)
    x[act] = out
    if kind == "repulsion":
        y[act] = np.sign(np.sin(theta[act])) * np.sqrt(np.clip(1.0 - out**2, 0.0, None))
    return theta, np.column_stack([x, y])


def _break_jumps(xy: np.ndarray) -> np.ndarray:
    """Insert NaN rows where consecutive points jump (e.g. repulsion's gap around the concept), so the
    outline shows only where outputs really land."""
    if len(xy) < 3:
        return xy
    steps = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    typical = np.nanmedian(steps)
    jumps = np.flatnonzero(steps > max(10 * typical, 0.05))
    if jumps.size == 0:
        return xy
    return np.insert(xy, jumps + 1, np.nan, axis=0)


def _check_kind(kind: str) -> str:
    k = str(kind).strip().lower()
    if k not in KINDS:
        raise UserError(f"unknown intervention kind {kind!r}; choose one of: {', '.join(KINDS)}")
    return k


def _num(params: Mapping, key: str) -> float | None:
    v = params.get(key)
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def plot_intervention_curve(
    alignment_in,
    alignment_out,
    kind: str,
    params: Mapping[str, object] | None = None,
    title: str | None = None,
    theme: str | Theme = "light",
    lobe_xy=None,
) -> tuple[Figure, str]:
    """Two panels: (a) alignment with the concept in → out; (b) the lobe traced by unit inputs.

    ``alignment_in``/``alignment_out``: [K] the alignment of a unit vector with the concept before and
    after the intervention (for suppression, the caller passes d·(1 − g(d)); for repulsion the mapper's
    output). ``kind``: 'suppression' or 'repulsion' (otherwise UserError). ``params``: shown in a box;
    numeric ``a`` is marked on (a) and, for repulsion, numeric ``b`` as the ceiling and the cone it
    leaves empty. ``lobe_xy``: [M, 2] outputs (x along the concept, y perpendicular) of unit inputs at
    θ = linspace(-π, π, M); if None it is derived from the curve (see :func:`lobe_from_curve`).
    Returns ``(figure, alt_text)``.
    """
    th = get_theme(theme)
    kind = _check_kind(kind)
    params = dict(params or {})
    a_in = check_1d("alignment_in", alignment_in)
    a_out = check_1d("alignment_out", alignment_out, a_in.size)
    if lobe_xy is None:
        theta, lobe = lobe_from_curve(a_in, a_out, kind)
    else:
        lobe = np.asarray(lobe_xy, dtype=float)
        if lobe.ndim != 2 or lobe.shape[1] != 2:
            raise ValueError(f"lobe_xy must be [M, 2]; got shape {lobe.shape}")
        theta = np.linspace(-np.pi, np.pi, lobe.shape[0])
    accent = th.color(1)
    a = _num(params, "a")
    b = _num(params, "b")

    fig = new_figure(12.0, 5.6, th)
    ax_c, ax_l = fig.subplots(1, 2, width_ratios=[1.15, 1.0])

    # (a) transfer curve.
    style_axes(ax_c, th)
    order = np.argsort(a_in, kind="stable")
    xi, yo = a_in[order], a_out[order]
    lo = float(min(np.nanmin(xi), 0.0))
    hi = float(max(np.nanmax(xi), 1.0))
    ax_c.plot([lo, hi], [lo, hi], color=th.faint, lw=1.0, ls="--", alpha=0.8, zorder=2, label="identity")
    ax_c.plot(xi, yo, color=accent, lw=2.2, zorder=3, label=kind)
    if a is not None and lo < a < hi:
        ax_c.axvline(a, color=th.faint, lw=0.8, ls=":", zorder=1)
        ax_c.annotate(f"a = {fmt(a)}", (a, lo), xytext=(3, 3), textcoords="offset points", fontsize=8, color=th.faint)
    if kind == "repulsion" and b is not None:
        ax_c.axhline(b, color=th.faint, lw=0.8, ls=":", zorder=1)
        ax_c.annotate(f"b = {fmt(b)}", (lo, b), xytext=(3, 3), textcoords="offset points", fontsize=8, color=th.faint)
    ax_c.set_xlim(lo, hi)
    ax_c.set_ylim(min(lo, float(np.nanmin(yo))), max(hi, float(np.nanmax(yo))) + 0.02)
    ax_c.set_aspect("equal", adjustable="box")
    ax_c.set_xlabel("alignment with concept (in)")
    ax_c.set_ylabel("alignment with concept (out)")
    ax_c.set_title(f"(a) {kind}: alignment in → out", loc="left", color=th.foreground)
    leg = ax_c.legend(loc="upper left", fontsize=8)
    style_legend(leg, th)
    if params:
        text = "\n".join(f"{k} = {fmt(v) if isinstance(v, (int, float)) else v}" for k, v in params.items())
        ax_c.text(
            0.97,
            0.04,
            text,
            transform=ax_c.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color=th.foreground,
            family="monospace",
            bbox=dict(boxstyle="round,pad=0.4", facecolor=th.background, edgecolor=th.grid),
        )

    # (b) lobe.
    style_axes(ax_l, th, grid=False, spines=())
    t = np.linspace(0, 2 * np.pi, 361)
    ax_l.plot(np.cos(t), np.sin(t), color=th.faint, lw=1.0, ls="--", alpha=0.8, zorder=2)
    ax_l.axhline(0, color=th.grid, lw=0.8, zorder=1)
    ax_l.axvline(0, color=th.grid, lw=0.8, zorder=1)
    ax_l.fill(lobe[:, 0], lobe[:, 1], color=accent, alpha=0.16, lw=0, zorder=2.5)
    ax_l.plot(*_break_jumps(lobe).T, color=accent, lw=2.0, zorder=3)
    # Whiskers from a few unit inputs to where they land.
    picks = np.linspace(0, len(theta) - 1, 37).round().astype(int)[:-1]
    for p in picks:
        src = np.array([np.cos(theta[p]), np.sin(theta[p])])
        dst = lobe[p]
        if np.all(np.isfinite(dst)) and np.linalg.norm(dst - src) > 0.03:
            ax_l.annotate(
                "",
                xy=dst,
                xytext=src,
                zorder=2.8,
                arrowprops=dict(arrowstyle="-|>", color=th.faint, lw=0.7, shrinkA=0, shrinkB=1, mutation_scale=7),
            )
    if kind == "repulsion" and b is not None and -1 < b < 1:
        ang = np.arccos(b)
        for sgn in (1, -1):
            ax_l.plot([0, 1.1 * np.cos(ang)], [0, 1.1 * sgn * np.sin(ang)], color=th.faint, lw=0.8, ls=":", zorder=1.5)
        ax_l.annotate(
            f"{np.degrees(ang):.0f}°",
            (0.32 * np.cos(ang / 2), 0.32 * np.sin(ang / 2)),
            fontsize=8,
            color=th.faint,
            ha="center",
            va="center",
        )
    ax_l.annotate(
        "",
        xy=(1.18, 0),
        xytext=(0, 0),
        zorder=4,
        arrowprops=dict(arrowstyle="-|>", color=th.foreground, lw=1.6, mutation_scale=14),
    )
    ax_l.text(1.18, 0.05, "concept", ha="right", va="bottom", fontsize=9, color=th.foreground, zorder=4)
    ax_l.set_aspect("equal")
    ax_l.set_xlim(-1.25, 1.3)
    ax_l.set_ylim(-1.25, 1.25)
    ax_l.set_xticks([-1, 0, 1])
    ax_l.set_yticks([-1, 0, 1])
    ax_l.set_xlabel("along concept")
    ax_l.set_ylabel("perpendicular")
    ax_l.set_title("(b) where unit vectors land", loc="left", color=th.foreground)
    handles = [
        Line2D([], [], color=th.faint, lw=1.0, ls="--", label="unit inputs"),
        Line2D([], [], color=accent, lw=2.0, label="outputs"),
    ]
    leg = ax_l.legend(handles=handles, loc="lower left", fontsize=8)
    style_legend(leg, th)
    suptitle(fig, title, th)

    # Alt text.
    parts = [
        f"{title + ': ' if title else ''}two panels describing a {kind} intervention"
        + (f" ({', '.join(f'{k} = {v}' for k, v in params.items())})" if params else "")
        + "."
    ]
    if np.isfinite(yo).any():
        at_one = float(np.interp(1.0, xi, yo)) if xi.size else float("nan")
        parts.append(
            f"Panel (a) plots alignment with the concept after the intervention against alignment before, "
            f"from {fmt(lo)} to {fmt(hi)}, with the identity line dashed; the output alignment peaks at "
            f"{fmt(np.nanmax(yo))} (at input {fmt(xi[int(np.nanargmax(yo))])}) and a vector pointing exactly at "
            f"the concept comes out with alignment {fmt(at_one)}."
        )
    norms = np.linalg.norm(lobe, axis=1)
    ok = np.isfinite(norms) & (norms > 1e-9)
    if ok.any():
        closest = np.degrees(np.arccos(np.clip(np.max(lobe[ok, 0] / norms[ok]), -1, 1)))
        parts.append(
            f"Panel (b) shows the unit circle of inputs (dashed) and the outline where each lands, in the "
            f"plane of the concept (arrow, pointing right) and a perpendicular direction; outputs reach "
            f"{fmt(np.max(lobe[ok, 0]))} along the concept, their norms range from {fmt(norms[ok].min())} to "
            f"{fmt(norms[ok].max())}, and no output points closer than {closest:.0f}° to the concept."
        )
    return fig, " ".join(parts)


__all__ = ["plot_intervention_curve", "lobe_from_curve"]
