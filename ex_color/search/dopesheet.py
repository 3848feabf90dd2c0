"""A dopesheet with columns scaled by a search's factors: each value of a property column multiplied by the
column's factor; the `STEP` column's factor stretches the schedule (absolute steps and `+N` offsets, rounded;
fractions such as `+0.5` stay fractions of their span). The result is parsed before it is used, so a factor
that breaks the schedule is one line naming the file."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ex_color.errors import UserError
from ex_color.schedule.dopesheet import ACTION, PHASE, STEP, parse_dopesheet

_OFFSET = re.compile(r"([+-]?)(\d+)")


def column_names(text: str) -> dict[str, int]:
    """The property columns of a dopesheet by name (headers `name:space:easing` by their name), and STEP."""
    header = next(csv.reader(io.StringIO(text.removeprefix("\ufeff"))), [])
    names = {}
    for index, cell in enumerate(header):
        cell = cell.strip()
        if cell in (PHASE, ACTION):
            continue
        names[cell if cell == STEP else cell.split(":")[0].strip()] = index
    return names


def check_columns(path: Path, columns: list[tuple[str, str]]) -> None:
    """Each (parameter key, column) names a column of the dopesheet at `path`."""
    names = column_names(path.read_text(encoding="utf-8-sig"))
    for key, column in columns:
        if column not in names:
            raise UserError(f"{key}: dopesheet {path} has no column {column!r}; its columns: {', '.join(names)}")


def _scaled_cell(text: str, factor: float, step: bool) -> str:
    stripped = text.strip()
    if not stripped:
        return text
    if step:
        match = _OFFSET.fullmatch(stripped)
        if match is None:  # a fraction of a span (+0.5): unchanged
            return text
        return f"{match.group(1)}{round(int(match.group(2)) * factor)}"
    return f"{float(stripped) * factor:.6g}"


def scaled_dopesheet(source: Path, factors: dict[str, float], target: Path) -> Path:
    """Write `source` with each column of `factors` scaled to `target` (checked by parsing it)."""
    text = source.read_text(encoding="utf-8-sig")
    names = column_names(text)
    rows = list(csv.reader(io.StringIO(text)))
    indices = {names[column]: factor for column, factor in factors.items()}
    for row in rows[1:]:
        for index, factor in indices.items():
            if index < len(row):
                row[index] = _scaled_cell(row[index], factor, step=rows[0][index].strip() == STEP)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    parse_dopesheet(out.getvalue(), str(target))  # a broken schedule fails here, naming the file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(out.getvalue())
    return target
