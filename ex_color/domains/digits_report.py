"""Figures and report.md of a digits run, from its arrays and files (the colour report's counterpart)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from ex_color import runs
from ex_color.evaluation.digits import METRICS_FILE, DigitsMetrics, pca_errors
from ex_color.reports.render import TextTable, escape, image, number
from ex_color.reports.results import kind_order, load_run
from ex_color.reports.run_report import config_table, settings_text, training_parts

REPORT = "report.md"
CONDITION_FIGURES = ("stacked", "reconstructions", "deltas", "latents")


def draw_condition(
    out_dir: Path, inputs, digits, baseline, intervened, concept: int, label: str, metrics=None
) -> list[Path]:
    """The figures of one condition into `out_dir`: stacked, reconstructions, deltas (an intervention) and
    latents (`intervened` None: the baseline's)."""
    from ex_color.plots import save_figure
    from ex_color.plots.digits import (
        examples,
        plot_class_deltas,
        plot_class_latents,
        plot_digits_stacked,
        plot_reconstructions,
    )

    shown = examples(digits)
    current = baseline if intervened is None else intervened
    rows = [("original", inputs[shown]), ("baseline", baseline.outputs[shown])]
    if intervened is not None:
        rows.append((label, intervened.outputs[shown]))
    deltas = None if metrics is None else np.asarray(metrics.delta)
    figures = {
        "stacked": plot_digits_stacked(
            current.latents, digits, rows, shown, deltas, concept, title=f"Digits · {label}"
        ),
        "reconstructions": plot_reconstructions(rows, digits[shown], title=f"Reconstructions · {label}"),
        "latents": plot_class_latents(current.latents, digits, title=f"Latents · {label}"),
    }
    if deltas is not None:
        figures["deltas"] = plot_class_deltas(
            deltas, concept, np.asarray(metrics.baseline), title=f"Δ MSE per digit · {label}"
        )
    return [save_figure(fig, out_dir / f"{name}.png", alt) for name, (fig, alt) in figures.items()]


def _figures(run_dir: Path, folder: Path, names) -> list[str]:
    lines = []
    for name in names:
        png = folder / f"{name}.png"
        if png.is_file():
            txt = png.with_suffix(".txt")
            alt = txt.read_text().strip() if txt.is_file() else name
            lines.append(f"{image(alt, png.relative_to(run_dir).as_posix())}\n")
    return lines


def intervention_tables(run_dir: Path) -> tuple[TextTable | None, list[tuple[str, object]]]:
    """(the overview of every intervention, [(kind, DigitsMetrics)])."""
    found = {p.parent.name: p for p in sorted((run_dir / "interventions").glob(f"*/{METRICS_FILE}"))}
    loaded = [(kind, DigitsMetrics.load(found[kind])) for kind in kind_order(found)]
    if not loaded:
        return None, []
    rows = []
    for kind, m in loaded:
        s = m.selectivity
        if kind == "none":  # nothing changed: no Δ to divide
            rows.append([f"`{kind}`", number(m.intervened_mean), "–", "–", "–", "–", "–"])
            continue
        rows.append(
            [
                f"`{kind}`",
                number(m.intervened_mean),
                number(s.delta),
                number(s.median_other),
                f"{number(s.max_other)} ({s.max_other_digit})",
                number(s.ratio_median),
                number(s.ratio_max),
            ]
        )
    concept = loaded[0][1].selectivity.concept
    overview = TextTable(
        f"Interventions (held-out images, {loaded[0][1].images}; concept digit {concept})",
        [
            "intervention",
            "mean MSE",
            f"Δ({concept})",
            "median Δ others",
            "max Δ others (digit)",
            "ratio median",
            "ratio max",
        ],
        rows,
        note=f"Ratios divide by the others' Δ floored at {loaded[0][1].selectivity.floor:g} (docs/digits.md).",
    )
    return overview, loaded


def pca_table(run_dir: Path, cfg: dict, baseline) -> TextTable | None:
    """The baseline's per-class MSE beside PCA of the same latent width (fitted on the training images)."""
    from ex_color.data.digits import digits_settings

    width = (cfg.get("model") or {}).get("bottleneck")
    if baseline is None or not isinstance(width, int):
        return None
    settings = digits_settings(cfg.get("data") or {})
    (train, _), (held, digits) = settings.arrays("train"), settings.arrays("validation")
    mean, per = pca_errors(train, held, digits, width)
    rows = [["all", number(baseline.baseline_mean), number(mean), number(baseline.baseline_mean / mean)]]
    rows += [[str(d), number(a), number(p), number(a / p)] for d, (a, p) in enumerate(zip(baseline.baseline, per))]
    return TextTable(
        f"The autoencoder against PCA with {width} components (held-out MSE)",
        ["digit", "autoencoder", f"PCA-{width}", "ratio"],
        rows,
        note="PCA fitted on the training images (centred); below 1: the autoencoder reconstructs better.",
    )


def digits_data_text(data: dict) -> str:
    return (
        f"UCI digits, validation fraction {data.get('validation_fraction')} (split seed "
        f"{data.get('split_seed')}), batch {data.get('batch_size')}, labels "
        + ", ".join(f"{k} = {v}" for k, v in (data.get("labels") or {}).items() if v is not None)
        + f", labelled fraction {data.get('labelled')}, concept digit {data.get('concept', 3)}"
    )


def report_markdown(run_dir: Path) -> str:

    result = load_run(run_dir)
    cfg = result.config
    settings = config_table(result, digits_data_text)
    parts = [
        f"# {escape(result.name)} · seed {cfg.get('seed', '?')}\n",
        f"Run directory: `{run_dir}`. Written {datetime.now():%Y-%m-%d %H:%M} from the files in this directory.\n",
        "## Configuration\n",
        settings.markdown(),
    ]
    parts += training_parts(result)
    parts += _figures(run_dir, run_dir / "figures", ("schedule", "training"))
    parts.append("### The trained model\n")
    parts += _figures(run_dir, run_dir / "figures", ("stacked", "latents"))
    parts.append("## Interventions\n")
    overview, loaded = intervention_tables(run_dir)
    if overview is None:
        parts.append("No intervention evaluated.\n")
        return "\n".join(parts)
    parts.append(overview.markdown())
    pca = pca_table(run_dir, cfg, loaded[0][1])
    if pca is not None:
        parts.append(pca.markdown())
    for kind, metrics in loaded:
        parts.append(f"### {escape(kind)}\n")
        parts.append(f"Settings: {escape(settings_text(metrics.intervention))}.\n")
        parts.append(metrics.table().markdown())
        parts += _figures(run_dir, run_dir / "interventions" / kind / "figures", CONDITION_FIGURES)
    return "\n".join(parts)


def write_report(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    return runs.atomic_write_text(run_dir / REPORT, report_markdown(run_dir))
