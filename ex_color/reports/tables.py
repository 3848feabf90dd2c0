"""Terminal tables (rich) for what the commands print."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ex_color.data.colors import hex_codes


def _hex(rgb) -> str:
    return hex_codes(rgb)[0]


def swatch(rgb) -> str:
    return f"[on {_hex(rgb)}]    [/] {_hex(rgb)}"


def intervention_table(metrics) -> Table:
    """An `evaluation.schema.InterventionMetrics` for the terminal."""
    kind = metrics.kind
    sel = metrics.selectivity
    table = Table(title=f"Intervention: {kind}", title_justify="left")
    table.add_column("per-colour MSE")
    table.add_column("baseline", justify="right")
    table.add_column(kind, justify="right")
    for stat in ("max", "mean", "median"):
        table.add_row(stat, f"{getattr(metrics.baseline, stat):.4g}", f"{getattr(metrics.intervened, stat):.4g}")
    table.add_section()
    named = metrics.named_colors
    for name in ("red", "orange", "yellow", "green", "cyan", "blue", "magenta", "gray", "white"):
        if name in named:
            row = named[name]
            table.add_row(f"[on {_hex(row.rgb)}]  [/] {name}", f"{row.baseline:.4g}", f"{row.intervened:.4g}")
    table.add_section()
    table.add_row(
        f"on/off-target error ratio (target {sel.target_color})",
        f"{sel.baseline_error_ratio:.3g}",
        f"{sel.error_ratio:.3g}",
    )
    table.add_row(f"Δ {sel.target_color} / largest far Δ ({sel.largest_far_delta_color})", "", f"{sel.delta_ratio:.3g}")
    return table


def inference_table(inputs, outputs, latents, errors, labels) -> Table:
    table = Table(title="Inference", title_justify="left")
    table.add_column("input")
    table.add_column("output")
    table.add_column("latent")
    table.add_column("MSE", justify="right")
    for i in range(len(inputs)):
        label = f" {labels[i]}" if i < len(labels) and labels[i] and not labels[i].startswith(("#", "0", "1")) else ""
        latent = "(" + ", ".join(f"{x:+.2f}" for x in latents[i]) + ")"
        table.add_row(swatch(inputs[i]) + label, swatch(outputs[i]), latent, f"{errors[i]:.3g}")
    return table


def print_table(table: Table) -> None:
    Console().print(table)
