"""The redux summary's per-seed selectivity (`evaluation.seed_selectivity`): its spread over the seeds
(median, quartiles, min, max), the table summary.md shows, the records summary.json nests under each seed,
and which columns the box plots draw."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from ex_color.evaluation.seed_selectivity import FIELDS, column, parse_column
from ex_color.reports.render import TextTable, escape, number

# The selectivity columns drawn as box plots beside the score (both on a log axis).
BOX_FIELDS = ("delta_ratio", "error_ratio")
WORDS = {
    "delta_ratio": "delta ratio",
    "target_delta": "Δ at the target",
    "worst_far.delta": "largest far Δ",
    "error_ratio": "error ratio",
}


def kinds_in(columns) -> list[str]:
    """The interventions with selectivity columns, in column order."""
    return list(dict.fromkeys(parsed[0] for c in columns if (parsed := parse_column(c)) is not None))


def finite_or_none(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def spread(values: list[float]) -> dict[str, float | int | None]:
    """n, median, quartiles, min and max of the finite values (None where there are none)."""
    a = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if not len(a):
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    q1, median, q3 = np.percentile(a, [25, 50, 75])
    return {"n": len(a), "median": float(median), "q1": float(q1), "q3": float(q3), "min": float(a.min()),
            "max": float(a.max())}  # fmt: skip


def spreads(rows: Mapping[str, Mapping[str, float]], kinds: list[str]) -> dict[str, dict[str, dict]]:
    """kind -> field -> spread over the seeds (summary.json's `selectivity`)."""
    return {
        kind: {field: spread([row.get(column(kind, field), math.nan) for row in rows.values()]) for field in FIELDS}
        for kind in kinds
    }


def seed_json(records: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """One seed's records as summary.json nests them (`seeds.<seed>.selectivity.<kind>`; NaN as null)."""
    return {
        kind: {
            "delta_ratio": finite_or_none(record["delta_ratio"]),
            "target_delta": finite_or_none(record["target_delta"]),
            "target_color": record.get("target_color"),
            "worst_far": {"name": record["worst_far"]["name"], "delta": finite_or_none(record["worst_far"]["delta"])},
            "error_ratio": finite_or_none(record["error_ratio"]),
        }
        for kind, record in records.items()
    }


def box_columns(columns) -> list[str]:
    """The selectivity columns the box plots draw, intervention by intervention."""
    return [column(kind, field) for kind in kinds_in(columns) for field in BOX_FIELDS if column(kind, field) in columns]


def spread_table(rows: Mapping[str, Mapping[str, float]], records: Mapping[str, Mapping], best: str | None):
    """summary.md's table: per intervention and measure, the median, quartiles, min and max over the seeds,
    and the best seed's value; the note counts which far colour moved most."""
    kinds = kinds_in(c for row in rows.values() for c in row)
    if not kinds:
        return None
    table_rows = []
    for kind, fields in spreads(rows, kinds).items():
        for field, s in fields.items():
            chosen = rows[best].get(column(kind, field)) if best in rows else None
            table_rows.append(
                [kind if field == FIELDS[0] else "", WORDS[field], number(s["median"]),
                 f"{number(s['q1'])} – {number(s['q3'])}", number(s["min"]), number(s["max"]), number(chosen)]
            )  # fmt: skip
    worst = []
    for kind in kinds:
        counts = Counter(r[kind]["worst_far"]["name"] for r in records.values() if kind in r)
        worst.append(f"{kind}: " + ", ".join(f"{escape(name)} ({n})" for name, n in counts.most_common(3)))
    return TextTable(
        f"Selectivity across the {len(rows)} seeds",
        ["intervention", "measure", "median", "quartiles", "min", "max", escape(best or "best")],
        table_rows,
        align=["l", "l", "r", "r", "r", "r", "r"],
        note="Every seed measured on the named colours and a 48×12×12 HSV cube (selectivity.json). Delta ratio: "
        "Δ at the target colour over the largest Δ among colours more than 90° of hue away and the greys (its "
        "denominator at least 1e-6). Error ratio: mean error within 30° of the target over the mean more than "
        "90° away (on the small cube; report.md's is on the HD cube). The far colour that moved most, in most "
        "seeds: " + "; ".join(worst) + ".",
    )
