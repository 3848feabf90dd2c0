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
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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


def hex_colour(rgb: np.ndarray) -> list[str]:
    """'#rrggbb' of each colour [N, 3] in 0–1 (clipped)."""
    values = np.rint(np.clip(np.asarray(rgb, np.float64), 0.0, 1.0) * 255).astype(int).reshape(-1, 3)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in values]


def _rgb_text(rgb: np.ndarray) -> list[str]:
    values = np.rint(np.clip(np.asarray(rgb, np.float64), 0.0, 1.0) * 255).astype(int).reshape(-1, 3)
    return [f"({r}, {g}, {b})" for r, g, b in values]


def _swatch(hex_: str) -> str:
    return f'<span style="color:{hex_}">■</span>'


def true_hover(colours: np.ndarray) -> list[str]:
    """The first hover line of each colour: its true colour as hex and 0–255 RGB."""
    return [f"true {_swatch(h)} {h} {t}" for h, t in zip(hex_colour(colours), _rgb_text(colours))]


def reconstruction_hover(colours: np.ndarray, outputs: np.ndarray) -> list[str]:
    """The hover lines a condition adds per colour: its reconstruction (hex, RGB) and the per-colour MSE."""
    errors = per_color_error(outputs, colours)
    return [
        f"reconstruction {_swatch(h)} {h} {t}<br>MSE {e:.3g}"
        for h, t, e in zip(hex_colour(outputs), _rgb_text(outputs), errors.tolist())
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
        "colours": hex_colour(colours),
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
    return PAGE.format(
        theme=theme,
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        conditions=condition_options,
        axes=axes,
        presets=presets_html,
        width=width,
        plotly=plotly_js().replace("</script", "<\\/script"),
        data=payload,
        script=SCRIPT,
    )


PAGE = """<!DOCTYPE html>
<html lang="en" data-theme="{theme}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root {{ --ink: #222; --paper: #fafafa; --panel: #fff; --muted: #666; --soft: #444; --border: #ddd;
    --control: #bbb; --plot-bg: #fff; --grid: #e4e4e4; --wire: rgba(80,80,80,0.35); --accent: #2b6cb0; }}
  [data-theme="dark"] {{ --ink: #e6e6e6; --paper: #141414; --panel: #1d1d1d; --muted: #a0a0a0; --soft: #c4c4c4;
    --border: #333; --control: #555; --plot-bg: #1d1d1d; --grid: #3a3a3a; --wire: rgba(200,200,200,0.35);
    --accent: #4a8fdc; }}
  html, body {{ margin: 0; height: 100%; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
    color: var(--ink); background: var(--paper); }}
  body {{ display: flex; flex-direction: column; }}
  header {{ padding: 10px 16px 6px; border-bottom: 1px solid var(--border); background: var(--panel); }}
  h1 {{ font-size: 17px; margin: 0 0 2px; font-weight: 600; }}
  .subtitle {{ color: var(--muted); font-size: 12px; margin-bottom: 8px; word-break: break-all; }}
  .controls {{ display: flex; flex-wrap: wrap; gap: 8px 22px; align-items: center; }}
  .group {{ display: inline-flex; gap: 6px; align-items: center; }}
  .label {{ font-weight: 600; }}
  select, button {{ font: inherit; padding: 2px 6px; border: 1px solid var(--control); border-radius: 4px;
    background: var(--panel); color: var(--ink); }}
  button.preset {{ cursor: pointer; }}
  button.preset.active {{ background: var(--accent); color: #fff; border-color: var(--accent); }}
  label.axis {{ font-weight: 600; }}
  #note {{ margin-top: 6px; color: var(--soft); font-size: 13px; min-height: 1.4em; }}
  #plot {{ flex: 1; min-height: 420px; }}
  footer {{ padding: 4px 16px 8px; color: var(--muted); font-size: 12px; }}
</style>
</head>
<body>
<header>
  <h1>{title}</h1>
  <div class="subtitle">{subtitle}</div>
  <div class="controls">
    <label class="group"><span class="label">Condition</span> <select id="condition"
      aria-label="condition">{conditions}</select></label>
    <span class="group"><span class="label">Latent dims</span>{axes}</span>
    {presets}
  </div>
  <div id="note"></div>
</header>
<div id="plot"></div>
<footer>Drag to rotate, scroll to zoom, hover over a point for its true colour, reconstruction and error.
  The latent has {width} dims; the grey wireframe is the unit sphere of the three shown.</footer>
<script>{plotly}</script>
<script id="explorer-data" type="application/json">{data}</script>
<script>{script}</script>
</body>
</html>
"""

SCRIPT = """
(function () {
  const data = JSON.parse(document.getElementById('explorer-data').textContent);
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const plot = document.getElementById('plot');
  const select = (id) => document.getElementById(id);
  const n = data.colours.length;
  const zeros = new Array(n).fill(0);
  const column = (c, d) => (d === null ? zeros : c.dims[d]);
  const dimOf = (value) => (value === 'none' ? null : Number(value));
  const view = () => ['x', 'y', 'z'].map((a) => dimOf(select('dim-' + a).value));
  const axisTitle = (d) => (d === null ? 'none (0)' : 'dim ' + d);

  // Circles of latitude and meridians around y (up), the poles at y = ±1.
  function sphere() {
    const x = [], y = [], z = [], steps = 72;
    for (let i = 1; i < 6; i++) {
      const lat = -Math.PI / 2 + (i * Math.PI) / 6;
      for (let k = 0; k <= steps; k++) {
        const t = (2 * Math.PI * k) / steps;
        x.push(Math.cos(lat) * Math.cos(t)); z.push(Math.cos(lat) * Math.sin(t)); y.push(Math.sin(lat));
      }
      x.push(null); y.push(null); z.push(null);
    }
    for (let j = 0; j < 6; j++) {
      const lon = (j * Math.PI) / 6;
      for (let k = 0; k <= steps; k++) {
        const t = (2 * Math.PI * k) / steps;
        x.push(Math.cos(t) * Math.cos(lon)); z.push(Math.cos(t) * Math.sin(lon)); y.push(Math.sin(t));
      }
      x.push(null); y.push(null); z.push(null);
    }
    return { type: 'scatter3d', mode: 'lines', x: x, y: y, z: z, name: 'unit sphere', hoverinfo: 'skip',
      line: { color: css('--wire'), width: 1.5 }, showlegend: false };
  }

  const v = data.view;
  const traces = [sphere()].concat(data.conditions.map((c) => ({
    type: 'scatter3d', mode: 'markers', name: c.label, visible: c.name === data.initial,
    x: column(c, v[0]), y: column(c, v[1]), z: column(c, v[2]),
    text: c.hover.map((h, i) => data.truth[i] + '<br>' + h),
    hovertemplate: '<b>' + c.label + '</b><br>%{text}<extra></extra>',
    marker: { size: 3, color: data.colours, line: { width: 0 }, opacity: 1 },
    showlegend: false,
  })));
  const range = [-data.extent, data.extent];
  const axis = (d) => ({ title: { text: axisTitle(d) }, range: range, zeroline: false,
    backgroundcolor: css('--plot-bg'), gridcolor: css('--grid'), showspikes: false });
  const layout = {
    margin: { l: 0, r: 0, t: 0, b: 0 }, uirevision: 'keep', paper_bgcolor: css('--paper'), font: { color: css('--ink') },
    hoverlabel: { bgcolor: css('--panel'), font: { family: 'monospace', size: 12, color: css('--ink') } },
    scene: { aspectmode: 'manual', aspectratio: { x: 1.35, y: 1.35, z: 1.35 }, xaxis: axis(v[0]), yaxis: axis(v[1]), zaxis: axis(v[2]),
      // as the static latent figures: x across, y up, z towards the viewer (turned a little to show depth)
      camera: { up: { x: 0, y: 1, z: 0 }, eye: { x: 0.62, y: 0.46, z: 1.24 }, projection: { type: 'orthographic' } } },
  };
  Plotly.newPlot(plot, traces, layout, { responsive: true, displaylogo: false });

  function note() {
    const c = data.conditions.find((c) => c.name === select('condition').value);
    const w = view();
    const gone = c.removed.filter((d) => w.includes(d)).map((d) => 'dim ' + d + ' (on ' + 'xyz'[w.indexOf(d)] + ')');
    let text = c.label + ': per-colour MSE over these ' + n.toLocaleString('en-US') + ' colours, mean ' + c.mean_mse.toPrecision(3) +
      ', max ' + c.max_mse.toPrecision(3) + '.';
    if (c.note) text += ' ' + c.note;
    if (gone.length) text += ' Shown removed: ' + gone.join(', ') + ', flat at 0.';
    select('note').textContent = text;
    document.querySelectorAll('button.preset').forEach((b) => {
      b.classList.toggle('active', JSON.stringify(JSON.parse(b.dataset.view)) === JSON.stringify(view()));
    });
  }

  function redraw() {
    const w = view();
    const idx = data.conditions.map((_, i) => i + 1);
    Plotly.restyle(plot, {
      x: data.conditions.map((c) => column(c, w[0])),
      y: data.conditions.map((c) => column(c, w[1])),
      z: data.conditions.map((c) => column(c, w[2])),
    }, idx);
    Plotly.relayout(plot, { 'scene.xaxis.title.text': axisTitle(w[0]), 'scene.yaxis.title.text': axisTitle(w[1]),
      'scene.zaxis.title.text': axisTitle(w[2]) });
    note();
  }

  // Choosing a dim another axis shows swaps the two, so the three stay distinct.
  let previous = view();
  ['x', 'y', 'z'].forEach((a, i) => select('dim-' + a).addEventListener('change', () => {
    const w = view();
    if (w[i] !== null) {
      ['x', 'y', 'z'].forEach((b, j) => {
        if (j !== i && w[j] === w[i]) select('dim-' + b).value = previous[i] === null ? 'none' : String(previous[i]);
      });
    }
    previous = view();
    redraw();
  }));
  document.querySelectorAll('button.preset').forEach((b) => b.addEventListener('click', () => {
    JSON.parse(b.dataset.view).forEach((d, i) => { select('dim-' + 'xyz'[i]).value = d === null ? 'none' : String(d); });
    previous = view();
    redraw();
  }));
  select('condition').addEventListener('change', () => {
    const name = select('condition').value;
    Plotly.restyle(plot, { visible: data.conditions.map((c) => c.name === name) },
      data.conditions.map((_, i) => i + 1));
    note();
  });
  note();
  document.body.dataset.ready = 'true';
})();
"""
