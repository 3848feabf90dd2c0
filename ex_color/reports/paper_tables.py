"""Tables for papers: a run's named-colour table (per colour its baseline MSE and, per evaluated
intervention, the intervened MSE and the signed Δ = intervened − baseline) as a self-contained HTML page
with colour swatches and as a LaTeX (booktabs) table, written beside report.md (later-experiments §0.8,
§B.6). Read from the run's interventions/*/metrics.json alone, like the report."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ex_color import runs
from ex_color.data.colors import hex_codes
from ex_color.reports.results import RunResult, kind_order

HTML_FILE = Path("named-colors.html")
LATEX_FILE = Path("named-colors.tex")

# The heat map of |value| (both outputs): no shade below LOW, the darkest at HIGH and above, log-spaced between.
HEAT_LOW, HEAT_HIGH = 1e-4, 5e-3


@dataclass(frozen=True)
class NamedColorTable:
    """One run's named colours: `kinds` are the interventions (not `none`, whose values are the baseline);
    `rows`: (name, rgb, baseline, {kind: (intervened, delta)})."""

    title: str
    run: Path
    kinds: list[str]
    rows: list[tuple[str, list[float], float, dict[str, tuple[float, float]]]]


def named_color_table(result: RunResult) -> NamedColorTable | None:
    """The named-colour table of a run, or None when no intervention (not even `none`) was evaluated. The
    baseline is the first kind's (every kind of a run measures the same trained model)."""
    if not result.interventions:
        return None
    order = kind_order(result.interventions)
    first = result.interventions[order[0]].named_colors
    kinds = [k for k in order if k != "none"]
    rows = []
    for name, row in first.items():
        values = {}
        for kind in kinds:
            other = result.interventions[kind].named_colors.get(name)
            if other is not None:
                values[kind] = (float(other.intervened), float(other.delta))
        rows.append((str(name), [float(x) for x in row.rgb], float(row.baseline), values))
    title = f"{result.name} · seed {result.config.get('seed', '?')}"
    return NamedColorTable(title, result.path, kinds, rows)


def heat(value: float) -> float:
    """0 (no shade) to 1 (darkest): |value| on a log scale from HEAT_LOW to HEAT_HIGH."""
    if not math.isfinite(value) or abs(value) <= HEAT_LOW:
        return 0.0
    span = math.log10(HEAT_HIGH) - math.log10(HEAT_LOW)
    return min(1.0, (math.log10(abs(value)) - math.log10(HEAT_LOW)) / span)


def fixed(value: float, digits: int = 3, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text.replace("-", "−")  # a real minus sign


# ---------------------------------------------------------------------------------------------- HTML

CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #222; background: #fff; margin: 2em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; font-size: 1.1em; padding-bottom: .5em; }
th, td { padding: .25em .7em; }
thead th { border-bottom: 1px solid #999; font-weight: 600; }
thead tr:first-child th:first-child { text-align: left; }
thead tr:first-child th { border-top: 2px solid #222; }
tbody tr:last-child > * { border-bottom: 2px solid #222; }
thead th.group { border-bottom: 1px solid #bbb; }
td { text-align: right; }
th[scope=row] { text-align: left; font-weight: normal; white-space: nowrap; }
colgroup.kind { border-left: 1px solid #ddd; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: -.15em; margin-right: .5em;
          border: 1px solid #888; border-radius: 2px; }
.note { color: #555; max-width: 48em; font-size: .9em; }
""".strip()


def heat_style(value: float) -> str:
    """A light background for a Δ cell by |Δ|: warm where the error rose, cool where it fell."""
    t = heat(value)
    if t == 0.0:
        return ""
    base = (214, 96, 77) if value > 0 else (67, 147, 195)
    alpha = 0.06 + 0.24 * t
    r, g, b = (round(255 + (c - 255) * alpha) for c in base)
    return f' style="background:#{r:02x}{g:02x}{b:02x}"'


def number_cell(value: float, signed: bool = False) -> str:
    full = "–" if value is None or not math.isfinite(value) else f"{value:.6g}"
    style = heat_style(value) if signed else ""
    return f'<td title="{html.escape(full)}"{style}>{fixed(value, 3, signed)}</td>'


def named_colors_html(table: NamedColorTable) -> str:
    """A self-contained page (inline CSS, nothing loaded from elsewhere) with one table: a swatch and the
    name per colour, the baseline, then per intervention a column group of its intervened value and Δ."""
    e = html.escape
    head_top = ['<th rowspan="2" scope="col">colour</th>', '<th rowspan="2" scope="col">baseline</th>']
    head_top += [f'<th colspan="2" scope="colgroup" class="group">{e(k)}</th>' for k in table.kinds]
    head_sub = ['<th scope="col">intervened</th><th scope="col">Δ</th>' for _ in table.kinds]
    cols = "<colgroup><col><col></colgroup>" + "".join(
        '<colgroup class="kind" span="2"></colgroup>' for _ in table.kinds
    )
    body = []
    for name, rgb, baseline, values in table.rows:
        cells = [
            f'<th scope="row"><span class="swatch" style="background:{hex_codes(rgb)[0]}" '
            f'title="rgb {e(", ".join(f"{x:g}" for x in rgb))}"></span>{e(name)}</th>',
            number_cell(baseline),
        ]
        for kind in table.kinds:
            intervened, delta = values.get(kind, (math.nan, math.nan))
            cells += [number_cell(intervened), number_cell(delta, signed=True)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = (
        "Per-colour MSE of the named colours (12 hues at full saturation and value, 5 greys): the trained model's "
        "(baseline) and, under each intervention, the intervened MSE and Δ = intervened − baseline, to 3 decimals "
        "(hover over a value for more digits). Δ is shaded warm where the error rose and cool where it fell, by "
        f"|Δ| on a log scale from {HEAT_LOW:g} (no shade) to {HEAT_HIGH:g}."
    )
    if not table.kinds:
        note += " Only the baseline was evaluated (no intervention)."
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Named colours: {e(table.title)}</title>\n"
        f"<style>\n{CSS}\n</style>\n</head>\n<body>\n"
        "<table>\n"
        f"<caption>Named colours: {e(table.title)}</caption>\n"
        f"{cols}\n"
        "<thead>\n<tr>"
        + "".join(head_top)
        + "</tr>\n"
        + ("<tr>" + "".join(head_sub) + "</tr>\n" if table.kinds else "")
        + "</thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>\n"
        f'<p class="note">{e(note)}</p>\n'
        f'<p class="note">Run: <code>{e(str(table.run))}</code></p>\n'
        "</body>\n</html>\n"
    )


# --------------------------------------------------------------------------------------------- LaTeX

LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Plain text safe in LaTeX (the ten special characters; other characters left to inputenc/UTF-8)."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text)).replace("\n", " ")


def colour_names(names: list[str]) -> dict[str, str]:
    """An xcolor name per colour, letters only (no `-`, `!` or digits: they mean something in colour
    expressions), `nc` + the colour's letters, made unique."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = "nc" + (re.sub(r"[^A-Za-z]", "", name) or "colour")
        candidate, n = base, 0
        while candidate in used:
            n += 1
            candidate = base + "x" * n
        used.add(candidate)
        out[name] = candidate
    return out


def scale_exponent(values: list[float]) -> int:
    """k (a multiple of 3, ≥ 0) such that the largest |value| × 10^k lies in [1, 1000)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return 0
    k = 0
    top = max(finite)
    while top * 10**k < 1 and k < 12:
        k += 3
    return k


def latex_number(value: float, k: int, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "--"
    scaled = value * 10**k
    text = f"{scaled:+.3f}" if signed else f"{scaled:.3f}"
    grey = 1.0 - 0.25 * heat(value)
    number = f"${text}$" if signed else text
    return rf"\ncheat{{{grey:.2f}}}{{{number}}}" if grey < 1.0 else number


def named_colors_latex(table: NamedColorTable) -> str:
    """A `table` with a booktabs `tabular`: a swatch (`\\ncswatch`, an xcolor `\\definecolor` per colour) and
    the name, the baseline, then per intervention a column group (`\\cmidrule`) of intervened and Δ. Values
    are shown × 10^k (in the header) to 3 decimals, cells shaded grey by |value| (`\\ncheat`)."""
    values = [b for _, _, b, _ in table.rows] + [v for *_, vals in table.rows for pair in vals.values() for v in pair]
    k = scale_exponent(values)
    names = colour_names([name for name, *_ in table.rows])
    unit = f"MSE $\\times 10^{{-{k}}}$" if k else "MSE"
    title = table.title.replace(" · ", ", ")
    lines = [
        f"% Named colours of {' '.join(f'{title} (run {table.run})'.split())}, written by ex-color.",
        "% Preamble: \\usepackage{booktabs} and \\usepackage[table]{xcolor} (the table option loads colortbl).",
        "% \\ncswatch{COLOUR} draws a colour swatch; \\ncheat{GREY}{TEXT} shades a cell (a grey level, 1 = white).",
        "% Define either before \\input-ing this file to change it, e.g. \\newcommand{\\ncheat}[2]{#2} for no shading.",
        r"\providecommand{\ncswatch}[1]{{\setlength{\fboxsep}{0pt}\setlength{\fboxrule}{0.3pt}"
        r"\fcolorbox{black!50}{#1}{\rule{0pt}{0.7em}\rule{0.7em}{0pt}}}}",
        r"\providecommand{\ncheat}[2]{\cellcolor[gray]{#1}#2}",
    ]
    for name, rgb, *_ in table.rows:
        lines.append(
            rf"\definecolor{{{names[name]}}}{{rgb}}{{{','.join(f'{float(np.clip(x, 0, 1)):.4g}' for x in rgb)}}}"
        )
    spec = "lr" + "rr" * len(table.kinds)
    caption = (
        f"Named colours of {latex_escape(title)}: per-colour MSE of the trained model (baseline)"
        + (
            " and, under each intervention, the intervened MSE and $\\Delta$ = intervened $-$ baseline"
            if table.kinds
            else ""
        )
        + (f", $\\times 10^{{-{k}}}$" if k else "")
        + f". Cells are shaded by $|$value$|$ from {HEAT_LOW:g} to {HEAT_HIGH:g} (log scale)."
    )
    lines += [
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    if table.kinds:
        lines.append(
            " & ".join(
                [rf"\multicolumn{{2}}{{l}}{{{unit}}}"]
                + [rf"\multicolumn{{2}}{{c}}{{{latex_escape(kind)}}}" for kind in table.kinds]
            )
            + r" \\"
        )
        lines.append(" ".join(rf"\cmidrule(lr){{{3 + 2 * i}-{4 + 2 * i}}}" for i in range(len(table.kinds))))
    lines.append(
        " & ".join(
            ["colour", "baseline" if table.kinds else f"baseline ({unit})"]
            + ["intervened", r"$\Delta$"] * len(table.kinds)
        )
        + r" \\"
    )
    lines.append(r"\midrule")
    for name, rgb, baseline, vals in table.rows:
        cells = [rf"\ncswatch{{{names[name]}}}~{latex_escape(name)}", latex_number(baseline, k)]
        for kind in table.kinds:
            intervened, delta = vals.get(kind, (math.nan, math.nan))
            cells += [latex_number(intervened, k), latex_number(delta, k, signed=True)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{caption}}}",
        rf"\label{{tab:named-colours-{re.sub(r'[^A-Za-z0-9.]+', '-', title)}}}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def write_named_color_tables(result: RunResult) -> list[Path]:
    """named-colors.html and named-colors.tex in the run directory (none without an evaluated intervention)."""
    table = named_color_table(result)
    if table is None:
        return []
    files = [
        (result.path / HTML_FILE, named_colors_html(table)),
        (result.path / LATEX_FILE, named_colors_latex(table)),
    ]
    runs.atomic_write_many([(path, text.encode("utf-8")) for path, text in files])
    return [path for path, _ in files]
