"""Latent space: orthographic views of the unit sphere, points in their reconstructed colours.

A view is three latent dims (across, up, towards the viewer); an axis given as None is projected to 0
(every point has coordinate 0 along it), as the original notebooks' `(2, None, 0)` views of pruned models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from ._common import fmt, new_figure, style_axes, style_legend, suptitle
from .theme import Theme, get_theme

DEFAULT_DIMS = ((1, 0, 2), (1, 2, 0), (1, 3, 0))
LIMIT = 1.15
RIM_SAMPLES = 200
CONE_COLOR = "#ffffff"


@dataclass(frozen=True)
class Cone:
    """The extent of an intervention around a concept direction, drawn as a rim on the sphere.

    ``direction``: the concept vector (length n, need not be unit); ``half_angle``: radians from the
    direction to the rim (π/2 is the great circle orthogonal to it); ``style``: ``'dashed'`` (where an
    intervention starts acting) or ``'solid'`` (where its mapper ends); ``label``: legend text or None.
    """

    direction: tuple[float, ...]
    half_angle: float
    style: str = "dashed"
    label: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "direction", tuple(float(x) for x in self.direction))
        if self.style not in ("dashed", "solid"):
            raise ValueError(f"Cone style must be 'dashed' or 'solid'; got {self.style!r}")
        if not 0.0 < float(self.half_angle) < np.pi:
            raise ValueError(f"Cone half_angle must be in (0, π) radians; got {self.half_angle!r}")
        if not np.any(np.asarray(self.direction)):
            raise ValueError("Cone direction must be non-zero")


def axis_name(dim: int | None) -> str:
    """`dim 2`, or `–` for an axis projected to 0."""
    return "–" if dim is None else f"dim {dim}"


def view_text(view: Sequence[int | None]) -> str:
    """A view in words, for alt text: `dim 1 across, dim 0 up, with dim 2 towards the viewer`."""
    i, j, k = view

    def part(dim, where):
        return f"nothing {where} (projected to 0)" if dim is None else f"dim {dim} {where}"

    return f"{part(i, 'across')}, {part(j, 'up')}, with {part(k, 'towards the viewer')}"


def check_views(views: Sequence[Sequence[int | None]], n_dim: int) -> list[tuple[int | None, ...]]:
    """Views as tuples: three entries each, distinct dims below ``n_dim`` or None, at least one dim."""
    out = []
    for view in views:
        view = tuple(None if d is None else int(d) for d in view)
        dims = [d for d in view if d is not None]
        if len(view) != 3 or not dims or len(set(dims)) != len(dims) or min(dims) < 0 or max(dims) >= n_dim:
            raise ValueError(f"each view must be 3 distinct dims below {n_dim} or None (projected); got {view}")
        out.append(view)
    return out


def view_coordinates(z: np.ndarray, view: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, depth) of the rows of ``z`` in a view: the named dims, zeros for a projected (None) axis."""
    zero = np.zeros(len(z))
    return tuple(zero if d is None else z[:, d] for d in view)  # type: ignore[return-value]


def cone_rim(cone: Cone, dims: Sequence[int | None], samples: int = RIM_SAMPLES) -> np.ndarray | None:
    """The cone's rim within the 3-D subspace of ``dims``, as view coordinates [samples, 3].

    Returns the unit vectors u of span(e_i, e_j, e_k) with u·ĉ = cos(half_angle), in the view's
    (x, y, depth) order, or None when that slice of the rim is empty or degenerate (the direction has
    too little weight in those dims, or none at all; a view with a projected axis has no rim).
    """
    if any(d is None for d in dims):
        return None
    c = np.asarray(cone.direction, dtype=float)
    c = c / np.linalg.norm(c)
    if max(dims) >= c.size:
        raise ValueError(f"cone direction has {c.size} dims; view needs dim {max(dims)}")
    sub = c[list(dims)]
    m = float(np.linalg.norm(sub))
    if m < 1e-9:
        return None
    cos_b = np.cos(float(cone.half_angle)) / m
    if abs(cos_b) > 1.0:
        return None
    axis = sub / m
    # Orthonormal basis of the plane orthogonal to axis.
    helper = np.eye(3)[int(np.argmin(np.abs(axis)))]
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    t = np.linspace(0.0, 2.0 * np.pi, samples)
    sin_b = np.sqrt(max(0.0, 1.0 - cos_b**2))
    return cos_b * axis + sin_b * (np.cos(t)[:, None] * e1 + np.sin(t)[:, None] * e2)


def _interleaved_scatter(ax, x, y, outer, inner, size, zorder):
    """One collection drawing, per point, a disc in ``outer`` then a dot in ``inner`` on top of it,
    so that nearer points hide both the disc and the dot of points behind them."""
    n = x.size
    if n == 0:
        return None
    xs = np.repeat(x, 2)
    ys = np.repeat(y, 2)
    sizes = np.tile([size, size * 0.16], n)
    cols = np.empty((2 * n, 3))
    cols[0::2] = outer
    cols[1::2] = inner
    return ax.scatter(xs, ys, s=sizes, c=cols, linewidths=0, zorder=zorder, rasterized=False)


def draw_latent_view(
    ax,
    z: np.ndarray,
    recon: np.ndarray,
    true: np.ndarray,
    view: Sequence[int | None],
    cones: Sequence[Cone],
    th: Theme,
    occlusion_radius: float | None = 0.9,
    point_size: float = 26.0,
    *,
    limit: float = LIMIT,
    labels: bool = True,
) -> None:
    """One orthographic view (x = dim i, y = dim j, depth = dim k) into ``ax``: the dark unit disc, the
    points (finite rows of ``z`` with ``recon`` and ``true`` colours), and the cones' rims. An axis given
    as None is projected to 0; such a view flattens the points into the sphere, so none is hidden behind
    it (no occlusion) and no cone rim is drawn."""
    i, j, k = view
    style_axes(ax, th, grid=False, spines=())
    ax.set_aspect("equal")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_xticks([-1, 0, 1])
    ax.set_yticks([-1, 0, 1])
    if labels:
        ax.set_xlabel("0 (projected)" if i is None else f"dim {i}")
        ax.set_ylabel("0 (projected)" if j is None else f"dim {j}")
        shown = ", ".join("–" if d is None else str(d) for d in view)
        depth = "none (projected)" if k is None else f"dim {k}"
        ax.set_title(f"dims ({shown})  ·  depth: {depth}", fontsize=10)
    ax.add_patch(Circle((0, 0), 1.0, facecolor=th.sphere, edgecolor=th.sphere_edge, lw=1.0, zorder=2))

    x, y, d = view_coordinates(z, view)
    rc, tc = recon, true
    if occlusion_radius is None or any(dim is None for dim in view):
        hidden = np.zeros(x.size, dtype=bool)
    else:
        r2 = float(occlusion_radius) ** 2
        rho2 = x**2 + y**2
        surface = np.sqrt(np.clip(r2 - rho2, 0.0, None))
        hidden = (rho2 < r2) & (d < surface)
    order = np.argsort(d, kind="stable")
    back = order[hidden[order]]
    front = order[~hidden[order]]
    _interleaved_scatter(ax, x[back], y[back], rc[back], tc[back], point_size, zorder=1.5)
    _interleaved_scatter(ax, x[front], y[front], rc[front], tc[front], point_size, zorder=3)

    for cone in cones:
        rim = cone_rim(cone, view)
        if rim is None:
            continue
        ls = "--" if cone.style == "dashed" else "-"
        is_front = rim[:, 2] >= 0
        ext = is_front | np.roll(is_front, 1) | np.roll(is_front, -1)
        back_ext = ~is_front | np.roll(~is_front, 1) | np.roll(~is_front, -1)
        fx, fy = np.where(ext, rim[:, 0], np.nan), np.where(ext, rim[:, 1], np.nan)
        bx, by = np.where(back_ext, rim[:, 0], np.nan), np.where(back_ext, rim[:, 1], np.nan)
        ax.plot(bx, by, color=CONE_COLOR, lw=0.9, ls=ls, alpha=0.35, zorder=2.5)
        ax.plot(
            fx,
            fy,
            color=CONE_COLOR,
            lw=1.6,
            ls=ls,
            zorder=4,
            path_effects=[patheffects.withStroke(linewidth=3.2, foreground="#000000", alpha=0.75)],
        )


def plot_latent_views(
    latents,
    recon,
    true,
    dims: Sequence[Sequence[int | None]] = DEFAULT_DIMS,
    cones: Sequence[Cone] = (),
    title: str | None = None,
    theme: str | Theme = "light",
    *,
    occlusion_radius: float | None = 0.9,
    point_size: float = 26.0,
    columns: int | None = None,
) -> tuple[Figure, str]:
    """Orthographic views of the latent space on the unit sphere, one axes per dims triple, in one row
    (or in rows of ``columns``: the six-view grid is ``columns=3``).

    ``latents``: [N, n] (e.g. the 8,000 colours of the 20³ RGB cube), ``recon`` and ``true``: RGB
    [N, 3] in [0, 1]. For a triple (i, j, k): x = latent[:, i], y = latent[:, j], depth =
    latent[:, k] (larger is nearer the viewer); an entry None projects that axis to 0. The sphere is a dark disc; each point is a disc in its
    reconstructed colour with a small dot of its true colour in the centre, nearer points drawn on top.

    The sphere is opaque: a point is hidden (drawn beneath the disc, so only a sliver near the limb
    can show) when it lies inside or behind a sphere of radius ``occlusion_radius`` (0.9 by default,
    a little under 1 so that points near the surface stay visible). ``None`` disables this: every
    point is drawn on top of the disc, sorted by depth.

    ``cones``: :class:`Cone` rims drawn on the sphere in each view (front half as styled, back half
    faint). ``fig.axes[:len(dims)]`` are the views, in order. Returns ``(figure, alt_text)``.
    """
    th = get_theme(theme)
    z = np.asarray(latents, dtype=float)
    recon = np.clip(np.nan_to_num(np.asarray(recon, dtype=float)), 0, 1)
    true = np.clip(np.nan_to_num(np.asarray(true, dtype=float)), 0, 1)
    if z.ndim != 2:
        raise ValueError(f"latents must be [N, n]; got shape {z.shape}")
    n_pts, n_dim = z.shape
    if recon.shape != (n_pts, 3) or true.shape != (n_pts, 3):
        raise ValueError(f"recon and true must be [{n_pts}, 3]; got {recon.shape} and {true.shape}")
    dims = check_views(dims, n_dim)
    cones = list(cones)
    for cone in cones:
        if len(cone.direction) != n_dim:
            raise ValueError(f"cone direction has {len(cone.direction)} dims; latents have {n_dim}")

    finite = np.all(np.isfinite(z), axis=1)
    n_views = len(dims)
    n_cols = min(n_views, 3) if columns is None else max(1, min(int(columns), n_views))  # rows of three
    n_rows = -(-n_views // n_cols)
    legend_space = 0.4 if any(c.label for c in cones) else 0.0
    width = min(14.0, max(8.0, 4.4 * n_cols + 0.6))
    panel = min(4.4, (width - 0.6) / n_cols)  # square views; the height leaves room for titles and labels
    fig = new_figure(width, n_rows * (panel + 0.7) + 0.4 + legend_space, th)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax in axes[n_views:]:
        ax.set_visible(False)

    for ax, view in zip(axes, dims):
        draw_latent_view(ax, z[finite], recon[finite], true[finite], view, cones, th, occlusion_radius, point_size)

    labelled = [c for c in cones if c.label]
    if labelled:
        handles = [
            Line2D(
                [],
                [],
                color=th.foreground,
                lw=1.6,
                ls="--" if c.style == "dashed" else "-",
                label=f"{c.label} ({np.degrees(c.half_angle):.0f}°)",
            )
            for c in labelled
        ]
        leg = fig.legend(
            handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize=8, frameon=False
        )
        style_legend(leg, th)
    suptitle(fig, title, th)

    # Alt text.
    layout = f" in {n_rows} rows of {n_cols}" if n_rows > 1 else ""
    projected = any(d is None for view in dims for d in view)
    parts = [
        f"{title + ': ' if title else ''}{n_views} orthographic views{layout} of a {n_dim}-dimensional latent "
        f"space, showing {int(finite.sum()):,} colours as coloured balls on and around a black unit sphere."
    ]
    views = "; ".join(f"view {v + 1} plots {view_text(view)}" for v, view in enumerate(dims))
    parts.append(views[0].upper() + views[1:] + ".")
    parts.append(
        "Each ball is filled with the reconstructed colour and has a small dot of the true colour in its "
        "centre; nearer balls hide farther ones"
        + (
            "; a view with an axis projected to 0 draws every point at 0 along that axis, hiding none."
            if projected
            else "."
        )
    )
    if finite.any():
        norms = np.linalg.norm(z[finite], axis=1)
        q = np.percentile(norms, [0, 50, 100])
        inside = int(np.sum(norms < (occlusion_radius or 0.9)))
        parts.append(
            f"Latent norms range from {q[0]:.2f} to {q[2]:.2f} (median {q[1]:.2f}); {inside:,} points "
            f"({100 * inside / finite.sum():.1f}%) lie well inside the sphere (norm below "
            f"{(occlusion_radius or 0.9):.2f})"
            + (
                ", hidden from view" + (" where no axis is projected." if projected else ".")
                if occlusion_radius is not None
                else "."
            )
        )
        mse = np.mean((recon[finite] - true[finite]) ** 2, axis=1)
        w = int(np.argmax(mse))
        parts.append(
            f"Reconstruction error is {fmt(mse.mean())} on average; the worst point, true colour "
            f"RGB({', '.join(f'{c:.2f}' for c in true[finite][w])}), comes back as "
            f"RGB({', '.join(f'{c:.2f}' for c in recon[finite][w])}) (MSE {fmt(mse[w])})."
        )
    for cone in cones:
        c = np.asarray(cone.direction) / np.linalg.norm(cone.direction)
        parts.append(
            f"A {cone.style} circle{(' (' + cone.label + ')') if cone.label else ''} marks the directions at "
            f"{np.degrees(cone.half_angle):.0f}° from ({', '.join(f'{x:.2g}' for x in c)})."
        )
    return fig, " ".join(parts)


__all__ = ["Cone", "axis_name", "cone_rim", "draw_latent_view", "plot_latent_views", "view_coordinates", "view_text"]
