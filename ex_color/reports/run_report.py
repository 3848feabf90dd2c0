"""`write_run_report(run_dir)`: report.md of one run — config in brief, final losses, figures, and the
metrics of every intervention evaluated on it — linked by relative paths, from the run's files alone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ex_color import runs
from ex_color.figures.registry import FIGURES, INTERVENTION_FIGURES
from ex_color.reports.paper_tables import write_named_color_tables
from ex_color.reports.redux_choice import chosen_text
from ex_color.reports.render import TextTable, escape, image, number
from ex_color.reports.results import RunResult, kind_order, load_run

REPORT = Path("report.md")


def figures_in(directory: Path, names) -> list[tuple[str, Path, str]]:
    """(name, png, alt text) of the light-theme figures present in a folder, in the order given."""
    found = []
    for name in names:
        png = directory / f"{name}.png"
        if png.is_file():
            alt = runs.alt_text(png, FIGURES[name].title if name in FIGURES else name)
            found.append((name, png, alt))
    return found


def short_target(target: str) -> str:
    return str(target).rsplit(".", 1)[-1]


def call_text(node: dict) -> str:
    """`Anchor(point=[1, 0, 0, 0])` from a config node with `_target_` (or a record with `type`)."""
    name = short_target(node.get("_target_") or node.get("type") or "?")
    args = ", ".join(f"{k}={v}" for k, v in node.items() if k not in ("_target_", "type", "_partial_"))
    return f"{name}({args})"


def sigmoid_output(model: dict) -> bool:
    """Whether a saved model config ends in a Sigmoid (`sigmoid`; runs made before it: iff not normalised)."""
    sigmoid = model.get("sigmoid")
    return not model.get("normalize") if sigmoid is None else bool(sigmoid)


def color_data_text(data: dict) -> str:
    cube = data.get("cube") or {}
    return (
        (
            f"RGB grid {data.get('grid')}³"
            if data.get("kind") == "rgb"
            else f"HSV cube {cube.get('hues')}×{cube.get('saturations')}×{cube.get('values')}"
        )
        + f", batch {data.get('batch_size')}, labels "
        + ", ".join(f"{k} ×{v}" for k, v in (data.get("labels") or {}).items() if v is not None)
        + f", {'hard' if data.get('hard_labels') else 'soft'} labels"
    )


def config_table(result: RunResult, data_text=color_data_text) -> TextTable:
    """The run's settings; `data_text(cfg.data)` describes its data (its domain's words: colour's by default)."""
    cfg = result.config
    model = cfg.get("model") or {}
    inputs = model.get("inputs", 3)
    rows = [
        ["experiment", escape(result.name)],
        ["seed", str(cfg.get("seed", "?"))],
        ["overrides", f"`{' '.join(result.overrides)}`" if result.overrides else "none"],
        [
            "model",
            escape(
                f"{short_target(model.get('_target_', 'ColorMLP'))}: "
                + (f"inputs {inputs}, " if inputs != 3 else "")
                + f"bottleneck {model.get('bottleneck')}, "
                f"hidden {model.get('hidden')}, explicit normalisation {'yes' if model.get('normalize') else 'no'}, "
                f"sigmoid output {'yes' if sigmoid_output(model) else 'no'}"
                if short_target(model.get("_target_", "ColorMLP")) == "ColorMLP"
                else call_text(model)  # an own model: its class and keys
            ),
        ],
        ["data", escape(data_text(cfg.get("data") or {}))],
        ["dopesheet", f"[dopesheet.csv](dopesheet.csv) (given as `{cfg.get('dopesheet')}`)"],
        ["steps", f"{result.steps:,}"],
        ["optimizer", escape(short_target((cfg.get("optimizer") or {}).get("_target_", "?")))],
        ["loggers", escape(", ".join(cfg.get("logger") or {}) or "none")],
    ]
    if cfg.get("interventions") is not None:
        rows.append(["interventions", escape(", ".join(cfg["interventions"]))])
    extra = {k: v for k, v in (cfg.get("intervention_overrides") or {}).items() if v}
    if extra:
        rows.append(["intervention overrides", escape("; ".join(f"{k}: {' '.join(v)}" for k, v in extra.items()))])
    return TextTable("", ["setting", "value"], rows, align=["l", "l"])


def regularizer_table(result: RunResult) -> TextTable | None:
    regs = result.config.get("regularizers") or {}
    keep = result.config.get("keep_regularizers")
    if keep:  # the others were absent from this run
        regs = {name: reg for name, reg in regs.items() if name in keep}
    if not regs:
        return None
    rows = []
    for name, reg in regs.items():
        labels = reg.get("labels") or {}
        rows.append(
            [
                f"`{name}`",
                escape(call_text(reg.get("loss") or {})),
                escape(", ".join(reg.get("layers") or [])),
                escape(", ".join(f"{k} ×{v}" for k, v in labels.items()) or "all samples"),
            ]
        )
    note = "Weights follow the dopesheet column of the same name (1.0 where a term has no column)."
    return TextTable("Regularizers", ["term", "loss", "layers", "labels"], rows, align=["l"] * 4, note=note)


def losses_table(result: RunResult) -> TextTable:
    rows = [
        [f"`{name}`", number(mean), f"{number(lo)} – {number(hi)}"] for name, (mean, lo, hi) in result.losses.items()
    ]
    title = f"Final losses (mean of the last {result.window} of {result.steps:,} steps)"
    return TextTable(title, ["term", "final", "range over those steps"], rows)


def settings_text(record: dict) -> str:
    parts = []
    for key, value in record.items():
        if key in ("kind", "concept_vector"):
            continue
        if isinstance(value, dict):
            value = call_text(value)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key}: {value}")
    if "concept_vector" in record:
        parts.append("concept vector: [" + ", ".join(f"{v:g}" for v in record["concept_vector"]) + "]")
    return escape("; ".join(parts)) or "no settings"


def interventions_overview(result: RunResult) -> TextTable:
    rows = []
    kinds = kind_order(result.interventions)
    base = result.interventions[kinds[0]].baseline
    rows.append(["baseline (no intervention)", number(base.max), number(base.mean), "", ""])
    base_ratio = None
    for kind in kinds:
        m = result.interventions[kind]
        sel = m.selectivity
        base_ratio = sel.baseline_error_ratio
        if kind == "none":
            continue
        rows.append(
            [
                f"[{kind}](#{kind})",
                number(m.intervened.max),
                number(m.intervened.mean),
                number(sel.error_ratio),
                number(sel.delta_ratio),
            ]
        )
    if base_ratio is not None:
        rows[0][3] = number(base_ratio)
    note = (
        "Per-colour MSE over the evaluation cube. Error ratio: mean error on-target (hue within 30° of the "
        "concept, saturation and value above 0.5) over off-target (hue more than 90° away); Δ ratio: the "
        "error increase of the concept's colour over the largest increase among far colours and grays. "
        "Higher ratios: damage lands on the concept."
    )
    return TextTable(
        "Interventions at a glance", ["model", "max error", "mean error", "error ratio", "Δ ratio"], rows, note=note
    )


def correlation_table(c) -> TextTable:
    """metrics.json's correlation: Pearson r and R² of per-colour error against similarity (or vibrancy)."""
    power = f"{c.power:g}"
    if c.against == "vibrancy":
        predictor = f"(S·V)^{power}"
    else:
        anchor = ", ".join(f"{x:g}" for x in c.anchor or [])
        predictor = f"similarity^{power} to HSV ({anchor}), {c.mode} hue"
    return TextTable(
        f"Error against {c.against}",
        ["predictor", "r", "R²"],
        [[escape(predictor), number(c.r), number(c.r2)]],
        align=["l", "r", "r"],
        note="Pearson r of the per-colour MSE over the RGB grid against the predictor (eval.correlation).",
    )


def hue_grey_rows(sel) -> list[list[str]]:
    """The selectivity table's hue-vs-grey rows (deleting a subspace); none for metrics.json without them."""
    if sel.hue_grey_ratio is None:
        return []
    hue, grey = escape(str(sel.smallest_hue_delta_color)), escape(str(sel.largest_grey_delta_color))
    return [
        ["smallest hue Δ (of 12 named hues)", "", f"{number(sel.smallest_hue_delta)} ({hue})"],
        ["largest grey Δ (of 5 greys)", "", f"{number(sel.largest_grey_delta)} ({grey})"],
        [f"hue/grey ratio: smallest hue Δ ({hue}) / largest grey Δ ({grey})", "", number(sel.hue_grey_ratio)],
    ]


def intervention_section(result: RunResult, kind: str) -> str:
    m = result.interventions[kind]
    sel = m.selectivity
    cube = m.eval_cube
    parts = [f"### {kind}\n"]
    if kind == "none":
        parts.append(
            "The trained model as it is, evaluated the same way as the interventions (its figures are the run's, above).\n"
        )
    else:
        parts.append(f"Settings: {settings_text(m.intervention)}.\n")
    parts.append(f"Evaluated on an HSV cube of {cube.hues}×{cube.saturations}×{cube.values} colours.\n")
    target = escape(sel.target_color)
    selectivity_title = f"Selectivity (target: {target}, hue {number(sel.target_hue, 3)}°)"
    rgb = {name: ", ".join(f"{x:g}" for x in row.rgb) for name, row in m.named_colors.items()}
    stats = ("max", "mean", "median")
    if kind == "none":
        tables = [
            TextTable("Per-colour MSE", ["", "baseline"], [[s, number(getattr(m.baseline, s))] for s in stats]),
            TextTable(
                "Named colours",
                ["colour", "rgb", "baseline"],
                [[escape(name), rgb[name], number(row.baseline)] for name, row in m.named_colors.items()],
                align=["l", "l", "r"],
            ),
            TextTable(
                selectivity_title,
                ["", "baseline"],
                [
                    ["on/off-target error ratio", number(sel.baseline_error_ratio)],
                ],
            ),
        ]
    else:
        tables = [
            TextTable(
                "Per-colour MSE",
                ["", "baseline", kind],
                [[s, number(getattr(m.baseline, s)), number(getattr(m.intervened, s))] for s in stats],
            ),
            TextTable(
                "Named colours",
                ["colour", "rgb", "baseline", "intervened", "Δ"],
                [
                    [escape(name), rgb[name], number(row.baseline), number(row.intervened), number(row.delta)]
                    for name, row in m.named_colors.items()
                ],
                align=["l", "l", "r", "r", "r"],
            ),
            TextTable(
                selectivity_title,
                ["", "baseline", kind],
                [
                    ["on/off-target error ratio", number(sel.baseline_error_ratio), number(sel.error_ratio)],
                    ["on-target mean error", "", number(sel.on_target_mean_error)],
                    ["off-target mean error", "", number(sel.off_target_mean_error)],
                    [
                        f"Δ {target} / largest far Δ ({escape(sel.largest_far_delta_color)})",
                        "",
                        number(sel.delta_ratio),
                    ],
                    *hue_grey_rows(sel),
                ],
            ),
        ]
    if m.correlation is not None:
        tables.append(correlation_table(m.correlation))
    parts += [table.markdown() for table in tables]
    if kind != "none":
        folder = result.path / "interventions" / kind / "figures"
        for name, png, alt in figures_in(folder, INTERVENTION_FIGURES):
            parts.append(f"{image(alt, png.relative_to(result.path).as_posix())}\n")
    return "\n".join(parts)


def training_parts(result: RunResult) -> list[str]:
    """The regularizers, final losses, last validation values and label counts, and the score: report.md's
    middle, in every domain."""
    parts = []
    regs = regularizer_table(result)
    if regs is not None:
        parts.append(regs.markdown())
    parts += ["## Training\n", losses_table(result).markdown()]
    if result.last:
        parts.append(
            TextTable(
                "Validation (last values) and label counts (whole run)",
                ["metric", "value"],
                [[f"`{name}`", number(value)] for name, value in result.last.items()],
            ).markdown()
        )
    if result.score is not None:
        label = result.score_label or "the experiment's score"
        parts.append(f"**Score: {number(result.score)}** ({escape(str(label))}, score.json).\n")
    return parts


def run_report_markdown(result: RunResult) -> str:
    seed = result.config.get("seed", "?")
    parts = [
        f"# {escape(result.name)} · seed {seed}\n",
        f"Run directory: `{result.path}`. Written {datetime.now():%Y-%m-%d %H:%M} from the files in this "
        f"directory; rewrite it with `excolor report {result.path} --run-reports`.\n",
        *filter(None, [chosen_text(result.path)]),
        "## Configuration\n",
        config_table(result).markdown(),
    ]
    parts += training_parts(result)
    for name, png, alt in figures_in(result.path / "figures", ("schedule", "training")):
        parts.append(f"{image(alt, png.relative_to(result.path).as_posix())}\n")
    model_figures = figures_in(result.path / "figures", ("colors", "error", "latents", "latents-grid", "stacked"))
    if model_figures:
        parts.append("### The trained model\n")
        for name, png, alt in model_figures:
            parts.append(f"{image(alt, png.relative_to(result.path).as_posix())}\n")
    parts.append("## Interventions\n")
    if not result.interventions:
        parts.append("No intervention evaluated yet (`excolor intervene --kind KIND --run DIR`).\n")
    else:
        parts.append(interventions_overview(result).markdown())
        from ex_color.reports.paper_tables import HTML_FILE, LATEX_FILE

        parts.append(
            f"The named-colour tables of every intervention side by side, for papers: [{HTML_FILE}]({HTML_FILE}) "
            f"(with swatches) and [{LATEX_FILE}]({LATEX_FILE}) (booktabs).\n"
        )
        for kind in kind_order(result.interventions):
            parts.append(intervention_section(result, kind))
    return "\n".join(parts)


def write_run_report_files(run_dir: str | Path | None, result: RunResult | None = None) -> list[Path]:
    """Write the run's tables for papers (named-colors.html and .tex, once an intervention was evaluated;
    `paper_tables`), then `report.md`, which links them, from what the run directory holds (`result`: it, read
    already); returns their paths, report.md last."""
    run_dir = runs.resolve_run(run_dir)
    result = load_run(run_dir) if result is None else result
    written = write_named_color_tables(result)
    written.append(runs.atomic_write_text(run_dir / REPORT, run_report_markdown(result)))
    return written


def write_run_report(run_dir: str | Path | None, result: RunResult | None = None) -> Path:
    """Write `report.md` (and the tables for papers beside it) in a run directory; returns report.md's path."""
    return write_run_report_files(run_dir, result)[-1]
