"""Regular grids of colours in HSV or RGB coordinates (spec section 1)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ex_color.settings import setting


def cyclic_range(n: int) -> np.ndarray:
    """`n` evenly spaced values on [0, 1), for a cyclic coordinate like hue."""
    return np.arange(n, dtype=np.float64) / n


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The standard HSV -> RGB conversion, broadcasting over any shape; returns [..., 3] in [0, 1]."""
    h, s, v = np.broadcast_arrays(np.asarray(h, float), np.asarray(s, float), np.asarray(v, float))
    h6 = (h % 1.0) * 6.0
    sector = np.floor(h6).astype(int) % 6
    f = h6 - np.floor(h6)
    p = v * (1 - s)
    q = v * (1 - s * f)
    t = v * (1 - s * (1 - f))
    # Rows: the (r, g, b) recipe for each of the six hue sectors.
    choices = np.stack(
        [
            np.stack([v, t, p], -1),
            np.stack([q, v, p], -1),
            np.stack([p, v, t], -1),
            np.stack([p, q, v], -1),
            np.stack([t, p, v], -1),
            np.stack([v, p, q], -1),
        ]
    )
    return np.take_along_axis(choices, sector[None, ..., None].repeat(3, -1), 0)[0]


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """HSV [..., 3] of RGB colours [..., 3], hue in turns; greys get hue 0."""
    rgb = np.asarray(rgb, dtype=np.float64)
    r, g, b = np.moveaxis(rgb, -1, 0)
    high, low = rgb.max(-1), rgb.min(-1)
    chroma = high - low
    safe = np.where(chroma > 0, chroma, 1.0)
    sector = np.where(high == r, ((g - b) / safe) % 6, np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4))
    hue = np.where(chroma > 0, sector / 6.0, 0.0) % 1.0
    saturation = np.where(high > 0, chroma / np.where(high > 0, high, 1.0), 0.0)
    return np.stack([hue, saturation, high], axis=-1)


@dataclass(frozen=True)
class ColorCube:
    """A grid of colours: `coords[axis]` along each named axis, `rgb` of shape (*shape, 3)."""

    axes: tuple[str, ...]
    coords: dict[str, np.ndarray]
    rgb: np.ndarray

    @classmethod
    def from_hsv(cls, h, s, v) -> ColorCube:
        h, s, v = (np.asarray(x, dtype=np.float64) for x in (h, s, v))
        hh, ss, vv = np.meshgrid(h, s, v, indexing="ij")
        return cls(("h", "s", "v"), {"h": h, "s": s, "v": v}, hsv_to_rgb(hh, ss, vv))

    @classmethod
    def from_rgb(cls, r, g, b) -> ColorCube:
        r, g, b = (np.asarray(x, dtype=np.float64) for x in (r, g, b))
        grid = np.stack(np.meshgrid(r, g, b, indexing="ij"), axis=-1)
        return cls(("r", "g", "b"), {"r": r, "g": g, "b": b}, grid)

    @classmethod
    def hsv(cls, hues: int, saturations: int, values: int) -> ColorCube:
        """HSV cube with `hues` cyclic hues and saturation/value each `linspace(0, 1, n)`."""
        return cls.from_hsv(cyclic_range(hues), np.linspace(0, 1, saturations), np.linspace(0, 1, values))

    @classmethod
    def rgb_grid(cls, steps: int) -> ColorCube:
        """RGB cube with `linspace(0, 1, steps)` along each channel."""
        axis = np.linspace(0, 1, steps)
        return cls.from_rgb(axis, axis, axis)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.rgb.shape[:-1]

    def __len__(self) -> int:
        return int(np.prod(self.shape))

    def flat_rgb(self) -> np.ndarray:
        return self.rgb.reshape(-1, 3)

    def grid(self, axis: str) -> np.ndarray:
        """The coordinate `axis` broadcast to the cube's shape."""
        index = self.axes.index(axis)
        shape = [1] * len(self.axes)
        shape[index] = -1
        return np.broadcast_to(self.coords[axis].reshape(shape), self.shape)

    def permute(self, order: str | tuple[str, ...]) -> ColorCube:
        """Reorder the axes, e.g. ``cube.permute('svh')`` for one panel per saturation."""
        order = tuple(order)
        if sorted(order) != sorted(self.axes):
            raise ValueError(f"permute order {order!r} does not match axes {self.axes!r}")
        perm = [self.axes.index(a) for a in order]
        return ColorCube(order, self.coords, self.rgb.transpose(*perm, len(perm)))


@dataclass(frozen=True)
class CubeKeys:
    """An HSV cube's config keys (`data.cube`, `eval.display`, …), each a positive integer (ex_color.settings)."""

    hues: int = setting(dataclasses.MISSING, least=1)
    saturations: int = setting(dataclasses.MISSING, least=1)
    values: int = setting(dataclasses.MISSING, least=1)
