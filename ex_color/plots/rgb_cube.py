"""The RGB cube seen across its grey axis (later-experiments §B.11, experiment 2.7): the cube stood on its
black corner with white straight above, drawn orthographically from the front (the red corner towards the
viewer) and from the back (cyan towards the viewer). The primaries sit a third of the way up the
black–white diagonal and the secondaries two thirds, which is why deleting the hue dims sends primaries
towards black and secondaries towards white: a colour keeps roughly its place along the grey axis."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .theme import Theme, get_theme
from ._common import new_figure, style_axes, suptitle

UP = np.ones(3) / np.sqrt(3.0)  # the grey axis, drawn vertically (black at 0, white at √3)
FRONT = np.array([2.0, -1.0, -1.0]) / np.sqrt(6.0)  # towards the viewer: red's side of the axis
CORNERS = {
    "black": (0, 0, 0),
    "red": (1, 0, 0),
    "green": (0, 1, 0),
    "blue": (0, 0, 1),
    "yellow": (1, 1, 0),
    "cyan": (0, 1, 1),
    "magenta": (1, 0, 1),
    "white": (1, 1, 1),
}
SIDES = {"front": FRONT, "back": -FRONT}


def cube_projection(points: np.ndarray, towards_viewer: np.ndarray) -> np.ndarray:
    """Orthographic screen coordinates [..., 2] of RGB points [..., 3]: x across (UP × towards_viewer), y up
    the grey axis (0 at black, √3 at white)."""
    right = np.cross(UP, towards_viewer)
    pts = np.asarray(points, dtype=float)
    return np.stack([pts @ right, pts @ UP], axis=-1)


def visible_faces(towards_viewer: np.ndarray) -> list[tuple[int, float]]:
    """The cube's faces (channel, value 0 or 1) whose outward normal points towards the viewer."""
    faces = []
    for axis in range(3):
        for value, sign in ((0.0, -1.0), (1.0, 1.0)):
            if sign * towards_viewer[axis] > 1e-9:
                faces.append((axis, value))
    return faces


def face_cells(axis: int, value: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """A face cut into steps × steps cells: their corners [steps², 4, 3] and centre colours [steps², 3]."""
    others = [a for a in range(3) if a != axis]
    g = np.linspace(0.0, 1.0, steps + 1)
    quads, colours = [], []
    for i in range(steps):
        for j in range(steps):
            square = [(g[i], g[j]), (g[i + 1], g[j]), (g[i + 1], g[j + 1]), (g[i], g[j + 1])]
            corners = np.zeros((4, 3))
            corners[:, axis] = value
            corners[:, others] = square
            quads.append(corners)
            colours.append(corners.mean(axis=0))
    return np.array(quads), np.array(colours)


def _draw_side(ax, side: str, th: Theme, steps: int) -> None:
    towards = SIDES[side]
    style_axes(ax, th, grid=False, spines=())
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    top = np.sqrt(3.0)
    ax.set_xlim(-1.6, 1.2)
    ax.set_ylim(-0.2, top + 0.2)
    for axis, value in visible_faces(towards):
        quads, colours = face_cells(axis, value, steps)
        ax.add_collection(
            PolyCollection(
                cube_projection(quads, towards),
                facecolors=colours,
                edgecolors=colours,
                linewidths=0.4,
                zorder=2,
            )
        )
        corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
        outline = np.zeros((5, 3))
        outline[:, axis] = value
        outline[:, [a for a in range(3) if a != axis]] = corners
        xy = cube_projection(outline, towards)
        ax.plot(xy[:, 0], xy[:, 1], color=th.faint, lw=0.8, zorder=3)

    # The grey axis beside the cube: the grey every height collapses to when the hue is gone.
    bar_x, bar_w = -1.5, 0.14
    ramp = np.linspace(0.0, 1.0, 256)[:, None, None] * np.ones((1, 1, 3))
    ax.imshow(ramp, extent=(bar_x, bar_x + bar_w, 0.0, top), origin="lower", aspect="auto", zorder=2)
    ax.add_patch(Rectangle((bar_x, 0.0), bar_w, top, fill=False, edgecolor=th.faint, lw=0.8, zorder=3))
    ax.text(bar_x + bar_w / 2, -0.07, "grey axis", ha="center", va="top", fontsize=7, color=th.foreground)

    # The heights of the primaries and secondaries, across bar and cube.
    for level, what in ((1, "primaries"), (2, "secondaries")):
        y = level * top / 3
        ax.plot([bar_x, 0.95], [y, y], color=th.foreground, lw=0.8, ls=(0, (3, 3)), alpha=0.7, zorder=4)
        ax.text(0.97, y, f"{what}\ngrey {level}/3", ha="left", va="center", fontsize=7, color=th.foreground)

    # Corner labels: those on the silhouette outside it, the one facing the viewer below its dot.
    for name, rgb in CORNERS.items():
        point = np.array(rgb, dtype=float)
        x, y = cube_projection(point, towards)
        facing = float(point @ towards - (point @ UP) * (UP @ towards))
        if abs(x) < 1e-9 and 0 < y < top - 1e-9:  # on the axis: the corner facing the viewer, or hidden
            if facing > 0:
                ax.plot([x], [y], "o", ms=3.5, mfc=th.background, mec=th.foreground, mew=0.8, zorder=5)
                ax.text(
                    x,
                    y - 0.08,
                    name,
                    ha="center",
                    va="top",
                    fontsize=7.5,
                    color=th.foreground,
                    zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": th.background, "edgecolor": "none", "alpha": 0.85},
                )
            continue
        if y <= 1e-9:
            ax.text(x, y - 0.05, name, ha="center", va="top", fontsize=7.5, color=th.foreground)
        elif y >= top - 1e-9:
            ax.text(x, y + 0.05, name, ha="center", va="bottom", fontsize=7.5, color=th.foreground)
        else:
            offset = 0.05 if x > 0 else -0.05
            ax.text(
                x + offset,
                y + 0.1,
                name,
                ha="left" if x > 0 else "right",
                va="bottom",
                fontsize=7.5,
                color=th.foreground,
                zorder=5,
            )
    facing_name = "red" if side == "front" else "cyan"
    ax.set_title(f"{side}: {facing_name} towards you", fontsize=9)


def plot_rgb_cube(
    title: str | None = "The RGB cube stood on its grey axis", theme: str | Theme = "light", *, steps: int = 32
) -> tuple[Figure, str]:
    """The RGB cube stood on its black corner, white straight above, seen orthographically from two opposite
    sides across the black–white axis: front (the red corner towards the viewer: faces r = 1, g = 0, b = 0)
    and back (cyan towards the viewer: r = 0, g = 1, b = 1), each face cut into ``steps``² cells in their own
    colours. Beside each view a grey ramp shows the axis; dashed lines mark the heights of the primaries
    (1/3 of the way from black to white) and the secondaries (2/3). Returns ``(figure, alt_text)``;
    ``fig.axes`` are the front and back views (the ramp is drawn inside each)."""
    th = get_theme(theme)
    fig = new_figure(8.0, 5.2, th)
    axes = fig.subplots(1, 2)
    for ax, side in zip(axes, SIDES):
        _draw_side(ax, side, th, int(steps))
    suptitle(fig, title, th)
    alt = (
        f"{title + ': ' if title else ''}two orthographic views of the RGB colour cube stood on its black corner, "
        "with white straight above it, so the black–white diagonal (the grey axis) runs vertically. Left, the "
        "front: the red corner faces the viewer, with the faces red = 1, green = 0 and blue = 0 showing; green "
        "and yellow are on the right edge, blue and magenta on the left. Right, the back, turned half a circle: "
        "the cyan corner faces the viewer, with the faces red = 0, green = 1 and blue = 1 showing. Beside each "
        "view a ramp from black (bottom) to white (top) shows the grey axis. Dashed lines mark that the three "
        "primaries (red, green, blue) all sit one third of the way up from black, and the three secondaries "
        "(yellow, cyan, magenta) two thirds: deleting a model's hue dimensions leaves a colour near its height "
        "on this axis, so primaries come back dark grey, secondaries light grey and colours between them mid grey."
    )
    return fig, alt


__all__ = ["cube_projection", "plot_rgb_cube", "visible_faces"]
