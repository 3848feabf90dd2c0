"""The interactive explorer: one self-contained HTML page (plotly.js embedded, nothing loaded from the network)
showing the latents of a colour set in 3-D, for the baseline and each evaluated intervention of a run.

Arrays in, HTML out (numpy only; the plotly package is read for its bundled plotly.min.js). The page holds
the data once per condition (latents in the trained latent's dims, a dim removed by a prune drawn at 0) and
a small script that shows three chosen dims (x, y, z: any dims of the latent, or none), switches conditions
by visibility and keeps the camera across changes. Each point's hover text (true colour, reconstruction,
per-colour MSE) is written here, so tests read it without a browser.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from string import Template
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ex_color.data.colors import hex_codes
from ex_color.evaluation.metrics import per_color_error

PAGE_THEMES = ("light", "dark")
AXES = ("x", "y", "z")


@dataclass(frozen=True)
class Condition:
    """One model of the page: `name` (the intervention kind, `none` for the baseline), a label for the
    chooser, the latents [N, width] of the page's colours in the trained latent's dims and the outputs [N, 3]."""

    name: str
    label: str
    latents: np.ndarray
    outputs: np.ndarray
    note: str = ""  # a line under the controls, e.g. which dims a prune removed
    removed: tuple[int, ...] = field(default=())


def widened(latents: np.ndarray, width: int, removed: Sequence[int]) -> np.ndarray:
    """A pruned model's latents [N, width − len(removed)] back in the trained latent's `width` dims: the kept
    dims in their places, each removed dim 0."""
    latents = np.asarray(latents, np.float32)
    if latents.shape[1] == width:
        return latents
    kept = [d for d in range(width) if d not in set(removed)]
    if len(kept) != latents.shape[1]:  # an unknown removal: the first dims kept
        kept = list(range(latents.shape[1]))
    out = np.zeros((len(latents), width), np.float32)
    out[:, kept] = latents
    return out


def _rgb_text(rgb: np.ndarray) -> list[str]:
    values = np.rint(np.clip(np.asarray(rgb, np.float64), 0.0, 1.0) * 255).astype(int).reshape(-1, 3)
    return [f"({r}, {g}, {b})" for r, g, b in values]


def _swatch(hex_: str) -> str:
    return f'<span style="color:{hex_}">■</span>'


def true_hover(colours: np.ndarray) -> list[str]:
    """The first hover line of each colour: its true colour as hex and 0–255 RGB."""
    return [f"true {_swatch(h)} {h} {t}" for h, t in zip(hex_codes(colours), _rgb_text(colours))]


def reconstruction_hover(colours: np.ndarray, outputs: np.ndarray) -> list[str]:
    """The hover lines a condition adds per colour: its reconstruction (hex, RGB) and the per-colour MSE."""
    errors = per_color_error(outputs, colours)
    return [
        f"reconstruction {_swatch(h)} {h} {t}<br>MSE {e:.3g}"
        for h, t, e in zip(hex_codes(outputs), _rgb_text(outputs), errors.tolist())
    ]


def hover_text(colours: np.ndarray, outputs: np.ndarray) -> list[str]:
    """The whole hover text of each point of a condition (what the page joins from the two parts)."""
    return [f"{a}<br>{b}" for a, b in zip(true_hover(colours), reconstruction_hover(colours, outputs))]


def page_data(
    colours: np.ndarray,
    conditions: Sequence[Condition],
    width: int,
    initial: str = "none",
    view: Sequence[int | None] = (0, 1, 2),
    presets: Sequence[Sequence[int | None]] = (),
    title: str = "",
) -> dict:
    """What the page embeds: colours (hex and hover line), each condition's latents (3 decimals), hover
    lines and error summary, the trained latent's width, the axes' extent, the initial condition and view,
    view presets."""
    colours = np.asarray(colours, np.float64).reshape(-1, 3)
    names = [c.name for c in conditions]
    if initial not in names:
        raise ValueError(f"initial condition {initial!r} not among {names}")
    out = []
    for condition in conditions:
        latents = np.asarray(condition.latents, np.float64)
        if latents.shape != (len(colours), width):
            raise ValueError(f"{condition.name}: latents {latents.shape}, expected {(len(colours), width)}")
        errors = per_color_error(condition.outputs, colours)
        out.append(
            {
                "name": condition.name,
                "label": condition.label,
                "note": condition.note,
                "removed": list(condition.removed),
                # one list per dim (what a trace's x/y/z takes), 3 decimals: a unit sphere needs no more
                "dims": [np.round(latents[:, d], 3).tolist() for d in range(width)],
                "hover": reconstruction_hover(colours, condition.outputs),
                "mean_mse": float(errors.mean()),
                "max_mse": float(errors.max()),
            }
        )
    # the axes' half-range: the unit sphere with a margin, or wider where latents reach past it (no norm)
    extent = max([1.1] + [1.05 * float(np.abs(c.latents).max(initial=0.0)) for c in conditions])
    return {
        "title": title,
        "width": int(width),
        "extent": round(extent, 3),
        "colours": hex_codes(colours),
        "truth": true_hover(colours),
        "conditions": out,
        "initial": initial,
        "view": [None if d is None else int(d) for d in view],
        "presets": [[None if d is None else int(d) for d in p] for p in presets],
    }


def plotly_js() -> str:
    """plotly.min.js as the plotly package ships it (embedded in the page: nothing comes from the network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _dim_options(width: int, selected: int | None) -> str:
    options = [(str(d), f"dim {d}") for d in range(width)] + [("none", "none (0)")]
    chosen = "none" if selected is None else str(selected)
    return "".join(
        f'<option value="{value}"{" selected" if value == chosen else ""}>{text}</option>' for value, text in options
    )


def _view_name(view: Sequence[int | None]) -> str:
    return "(" + ", ".join("–" if d is None else str(d) for d in view) + ")"


def explorer_html(
    colours: np.ndarray,
    conditions: Sequence[Condition],
    width: int,
    initial: str = "none",
    view: Sequence[int | None] = (0, 1, 2),
    presets: Sequence[Sequence[int | None]] = (),
    title: str = "Latent explorer",
    subtitle: str = "",
    theme: str = "light",
) -> str:
    """The page: controls (condition; x, y, z dims; view presets), the 3-D plot, plotly.js and the data inline;
    `theme` light or dark (the figures' themes)."""
    if theme not in PAGE_THEMES:
        raise ValueError(f"theme: expected one of {', '.join(PAGE_THEMES)}; got {theme!r}")
    data = page_data(colours, conditions, width, initial, view, presets, title)
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    condition_options = "".join(
        f'<option value="{html.escape(c["name"])}"{" selected" if c["name"] == initial else ""}>'
        f"{html.escape(c['label'])}</option>"
        for c in data["conditions"]
    )
    axes = "".join(
        f'<label class="axis">{axis} <select id="dim-{axis}" aria-label="latent dim on {axis}">'
        f"{_dim_options(width, view[i])}</select></label>"
        for i, axis in enumerate(AXES)
    )
    buttons = "".join(
        f'<button type="button" class="preset" data-view="{html.escape(json.dumps(p["view"]))}">'
        f"{_view_name(p['view'])}</button>"
        for p in ({"view": v} for v in data["presets"])
    )
    presets_html = f'<span class="group"><span class="label">Views</span>{buttons}</span>' if buttons else ""
    return _template().substitute(
        theme=theme,
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        conditions=condition_options,
        axes=axes,
        presets=presets_html,
        width=width,
        plotly=plotly_js().replace("</script", "<\\/script"),
        data=payload,
        script=_asset("explorer.js"),
    )


def _asset(name: str) -> str:
    """A file shipped beside this module (package data): the page's template and its script."""
    return resources.files("ex_color.figures").joinpath(name).read_text(encoding="utf-8")


def _template() -> Template:
    """The page, with `${name}` where explorer_html puts its parts (string.Template)."""
    return Template(_asset("explorer.html"))
