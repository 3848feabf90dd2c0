"""The latent-evolution animation (spec §B.9): 2-D slices of the latents through training over the schedule
and the smoothed loss, with a cursor at each frame's step.

`EvolutionAnimation` draws one detached figure once and then only moves what changes (the points, the
cursors and the step), blitting them over the saved background: frames come out as RGB arrays
(`frame(k)`), `len()` of them. Between two snapshots, `frames_per_snapshot` > 1 adds frames with the latents
interpolated linearly and the step geometrically. The step axis is logarithmic (symlog), as the snapshots
are spaced, so the cursor moves evenly.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ._common import fmt, new_figure, style_axes, suptitle
from .history import check_views, depth_order, draw_slice, slice_limit
from .theme import Theme, get_theme

EVOLUTION_VIEWS = ((1, 0), (1, 2), (3, 2))
CURVE_POINTS = 600  # points per curve: log-spaced steps


def smooth_log(values: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    """Geometric mean of the positive finite `values` in a window of ±`fraction`·step around each step (the
    window grows with the step, as a log axis shows it); NaN where the window holds none."""
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values) & (values > 0)
    logs = np.where(ok, np.log(np.where(ok, values, 1.0)), 0.0)
    sums = np.concatenate([[0.0], np.cumsum(logs)])
    counts = np.concatenate([[0], np.cumsum(ok)])
    index = np.arange(len(values))
    half = np.floor(index * fraction).astype(np.int64)
    lo, hi = index - half, np.minimum(index + half + 1, len(values))
    n = counts[hi] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.exp((sums[hi] - sums[lo]) / np.maximum(n, 1)), np.nan)


def log_sample(length: int, points: int = CURVE_POINTS) -> np.ndarray:
    """About `points` indices of 0 … length − 1, evenly spaced in log(index + 1), the ends included."""
    if length <= points:
        return np.arange(length)
    return np.unique(np.round(np.expm1(np.linspace(0, np.log1p(length - 1), points))).astype(np.int64))


class EvolutionAnimation:
    """Frames of the latents over training.

    ``steps`` [T], ``latents`` [T, N, n], ``colours`` [N, 3]: the history; ``views``: (x dim, y dim) pairs;
    ``schedule``: name -> [L] values per step (the regularizers' weights; ``lr`` drawn in its own panel);
    ``loss``: name -> (steps [K], values [K]) from metrics.csv, smoothed (`smooth_log`) and drawn on a log
    axis. ``dpi`` sets the frame size (the figure is 9 × 6.4 in)."""

    def __init__(
        self,
        steps,
        latents,
        colours,
        views: Sequence[Sequence[int]] = EVOLUTION_VIEWS,
        schedule: Mapping[str, np.ndarray] | None = None,
        loss: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
        frames_per_snapshot: int = 1,
        title: str | None = None,
        theme: str | Theme = "light",
        dpi: int = 80,
    ):

        th = get_theme(theme)
        self.steps = np.asarray(steps, dtype=np.int64)
        self.z = np.asarray(latents, dtype=np.float32)
        self.colours = np.clip(np.nan_to_num(np.asarray(colours, dtype=float)), 0, 1)
        if self.z.ndim != 3 or len(self.steps) != len(self.z) or len(self.steps) == 0:
            raise ValueError(f"latents must be [T, N, n] with T = len(steps) ≥ 1; got {self.z.shape}")
        if int(frames_per_snapshot) < 1:
            raise ValueError(f"frames_per_snapshot must be ≥ 1; got {frames_per_snapshot}")
        self.views = check_views(views, self.z.shape[2])
        self.per = int(frames_per_snapshot)
        schedule = dict(schedule or {})
        loss = dict(loss or {})
        self.title = title
        self.schedule_names = [name for name in schedule if name != "lr"]
        self.loss_names = list(loss)
        self.has_lr = "lr" in schedule

        panels = [
            p for p, there in (("weights", self.schedule_names), ("lr", "lr" in schedule), ("loss", loss)) if there
        ]
        heights = {"weights": 1.0, "lr": 0.6, "loss": 1.0}
        fig = new_figure(9.0, 3.4 + sum(heights[p] for p in panels) + (0.35 if title else 0), th, dpi=dpi)
        fig.get_layout_engine().set(h_pad=0.02, w_pad=0.02, hspace=0.02)
        grid = fig.add_gridspec(1 + len(panels), len(self.views), height_ratios=[3.0, *(heights[p] for p in panels)])
        limit = slice_limit(self.z, self.views)
        self.scatters = []
        for column, view in enumerate(self.views):
            ax = fig.add_subplot(grid[0, column])
            scatter = draw_slice(ax, self.z[0], self.colours, view, th, limit=limit, point_size=9.0)
            ax.set_title(f"dims ({view[0]}, {view[1]})", fontsize=9)
            scatter.set_animated(True)
            self.scatters.append(scatter)
        end = float(max(self.steps[-1], 1))
        self.cursors = []
        curve_axes = []
        for row, panel in enumerate(panels, start=1):
            ax = fig.add_subplot(grid[row, :])
            style_axes(ax, th)
            ax.set_xscale("symlog", linthresh=10, linscale=0.5)
            ax.set_xlim(-0.5, end * 1.06)  # the cursor stays visible at both ends
            if panel == "weights":
                for index, name in enumerate(self.schedule_names):
                    values = np.asarray(schedule[name], dtype=float)
                    at = log_sample(len(values))
                    ax.plot(at, values[at], color=th.color(index), lw=1.2, label=name)
                ax.set_ylabel("weight")
                weights = np.concatenate([np.asarray(schedule[name], dtype=float) for name in self.schedule_names])
                if np.all(weights > 0) and weights.max() / weights.min() > 20:  # many decades: log (no zeros)
                    ax.set_yscale("log")
                    ax.set_ylim(weights.min() / 2, weights.max() * 8)  # headroom for the legend
                ax.legend(
                    loc="upper left",
                    fontsize=6,
                    ncols=min(5, len(self.schedule_names)),
                    frameon=False,
                    labelcolor=th.foreground,
                )
            elif panel == "lr":
                values = np.asarray(schedule["lr"], dtype=float)
                at = log_sample(len(values))
                ax.plot(at, values[at], color=th.foreground, lw=1.2)
                ax.set_ylabel("lr")
            else:
                for index, (name, (x, y)) in enumerate(loss.items()):
                    x, y = np.asarray(x, dtype=float), smooth_log(y)
                    at = log_sample(len(x))
                    ax.plot(x[at], y[at], color=th.color(index + 5), lw=1.2, label=name)
                ax.set_yscale("log")
                ax.set_ylabel("loss")
                ax.legend(loc="upper right", fontsize=6, ncols=len(loss), frameon=False, labelcolor=th.foreground)
            ax.yaxis.label.set_fontsize(8)
            ax.tick_params(labelsize=7)
            cursor = ax.axvline(0, color=th.foreground, lw=1.0, alpha=0.8, animated=True)
            self.cursors.append(cursor)
            curve_axes.append(ax)
        for ax in curve_axes[:-1]:
            ax.tick_params(labelbottom=False)
        if curve_axes:
            curve_axes[-1].set_xlabel("step (logarithmic)")
        suptitle(fig, title, th)
        self.label = fig.text(
            0.99, 0.99, "", ha="right", va="top", fontsize=10, color=th.foreground, family="monospace", animated=True
        )
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.canvas.draw()  # lays the figure out once: the background the frames are drawn over
        fig.set_layout_engine("none")
        self.background = self.canvas.copy_from_bbox(fig.bbox)
        self.size = (int(self.canvas.get_width_height()[0]), int(self.canvas.get_width_height()[1]))

    def __len__(self) -> int:
        return (len(self.steps) - 1) * self.per + 1

    def at(self, k: int) -> tuple[float, np.ndarray]:
        """(step, latents [N, n]) of frame `k`."""
        index, part = divmod(int(k), self.per)
        if index >= len(self.steps) - 1:
            return float(self.steps[-1]), self.z[-1]
        a = part / self.per
        s0, s1 = np.log1p(float(self.steps[index])), np.log1p(float(self.steps[index + 1]))
        step = float(np.expm1(s0 + a * (s1 - s0)))
        return step, (1 - a) * self.z[index] + a * self.z[index + 1]

    def frame(self, k: int) -> np.ndarray:
        """Frame `k` as RGB [H, W, 3] uint8."""
        step, z = self.at(k)
        self.canvas.restore_region(self.background)
        for scatter, view in zip(self.scatters, self.views):
            finite = np.all(np.isfinite(z), axis=1)
            zf, cf = z[finite], self.colours[finite]
            order = depth_order(zf, view)
            scatter.set_offsets(zf[order][:, list(view)])
            scatter.set_facecolor(cf[order])
            scatter.axes.draw_artist(scatter)
        for cursor in self.cursors:
            cursor.set_xdata([step, step])
            cursor.axes.draw_artist(cursor)
        self.label.set_text(f"step {int(round(step)):>6,}")
        self.fig.draw_artist(self.label)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def alt_text(self) -> str:
        views = "; ".join(f"dim {i} across, dim {j} up" for i, j in self.views)
        parts = [
            f"{self.title + ': ' if self.title else ''}an animation of {len(self)} frames showing the latents of "
            f"{self.z.shape[1]:,} colours (each point in its true colour over a grey unit disc) in "
            f"{len(self.views)} flat 2-D slices ({views}) from step {int(self.steps[0]):,} to "
            f"{int(self.steps[-1]):,}, through {len(self.steps)} snapshots spaced evenly in log(step)."
        ]
        below = []
        if self.schedule_names:
            below.append(f"the regularizer weights ({', '.join(self.schedule_names)})")
        if self.has_lr:
            below.append("the learning rate")
        if self.loss_names:
            below.append(f"the smoothed {', '.join(self.loss_names)} (log scale)")
        if below:
            parts.append(
                "Below, on a logarithmic step axis: "
                + ", ".join(below)
                + "; a vertical cursor marks each frame's step."
            )
        norms = np.linalg.norm(self.z, axis=2)
        parts.append(
            f"The median latent norm goes from {fmt(np.nanmedian(norms[0]))} at the start to "
            f"{fmt(np.nanmedian(norms[-1]))} at the end."
        )
        return " ".join(parts)


__all__ = ["EVOLUTION_VIEWS", "EvolutionAnimation", "log_sample", "smooth_log"]
