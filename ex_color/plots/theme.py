"""Light and dark colour themes for the figures.

Figures are styled explicitly from a :class:`Theme` (no ``rcParams`` are touched), so plots made in
one process never leak styling into each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from ex_color.errors import UserError


@dataclass(frozen=True)
class Theme:
    """The handful of colours a figure needs.

    ``background``/``foreground`` are the figure's paper and ink; ``grid`` is for grid lines and
    light fills; ``faint`` for secondary marks (reference lines, baselines, raw data); ``sphere`` fills
    the unit sphere in latent views and ``sphere_edge`` outlines it; ``palette`` colours series that
    have no intrinsic colour (loss terms, schedule properties).
    """

    name: str
    background: str
    foreground: str
    grid: str
    faint: str
    sphere: str = "#000000"
    sphere_edge: str = "#000000"
    palette: tuple[str, ...] = (
        "#1f77b4",
        "#d62728",
        "#2ca02c",
        "#ff7f0e",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#17becf",
        "#7f7f7f",
        "#bcbd22",
    )

    def color(self, i: int) -> str:
        """The i-th palette colour (cycling)."""
        return self.palette[i % len(self.palette)]


LIGHT = Theme(
    name="light",
    background="#ffffff",
    foreground="#1c1c1c",
    grid="#dedede",
    faint="#8a8a8a",
    sphere="#000000",
    sphere_edge="#000000",
)

DARK = Theme(
    name="dark",
    background="#15171b",
    foreground="#e4e4e4",
    grid="#363a42",
    faint="#80858f",
    sphere="#000000",
    sphere_edge="#5c616b",
    palette=(
        "#5fa8e8",
        "#ff6b6b",
        "#5ed17a",
        "#ffa94d",
        "#b694f0",
        "#d0a080",
        "#f78fd0",
        "#4fd8e6",
        "#b0b0b0",
        "#dede5a",
    ),
)

THEMES: dict[str, Theme] = {"light": LIGHT, "dark": DARK}


def get_theme(name: str | Theme = "light") -> Theme:
    """Look a theme up by name (``'light'`` or ``'dark'``, case-insensitive); a Theme passes through.

    Raises :class:`ex_color.errors.UserError` for an unknown name.
    """
    if isinstance(name, Theme):
        return name
    if not isinstance(name, str):
        raise UserError(f"theme must be a name, one of {sorted(THEMES)}; got {name!r}")
    key = name.strip().lower()
    try:
        return THEMES[key]
    except KeyError:
        raise UserError(f"unknown theme {name!r}; choose one of: {', '.join(sorted(THEMES))}") from None
