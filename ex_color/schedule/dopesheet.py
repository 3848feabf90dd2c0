"""Dopesheets: CSV files that key the values of scheduled properties at training steps (spec §4).

A dopesheet has a ``STEP`` column, optional ``PHASE`` and ``ACTION`` columns, and one column per
property, headed ``name``, ``name:space`` or ``name:space:easing``. Every mistake in one raises
:class:`~ex_color.errors.UserError` with a single line naming the file, the row (the line number
an editor shows, header = row 1) and the column.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ex_color.errors import UserError, located
from ex_color.schedule.easing import EASINGS, SPACES, canonical_easing

STEP, PHASE, ACTION = "STEP", "PHASE", "ACTION"
_ABSOLUTE = re.compile(r"\d+")
_RELATIVE = re.compile(r"([+-])(\d+)")
_FRACTION = re.compile(r"([+-])(\d*\.\d+|\d+\.\d*)")


@dataclass(frozen=True)
class Property:
    """One scheduled property: a column of the sheet and its keyframes ``(step, value)`` in step order."""

    name: str
    space: str
    easing: str
    keyframes: list[tuple[int, float]]
    column: str


@dataclass(frozen=True)
class Dopesheet:
    """A parsed, validated dopesheet, with every step resolved to an absolute one."""

    source: str
    length: int
    properties: dict[str, Property]
    phases: list[tuple[int, str]]
    events: dict[int, list[str]]

    def check_names(self, known: Iterable[str]) -> list[str]:
        """Fail on a column naming nothing in ``known``; return the known names with no column."""
        known = list(dict.fromkeys(known))
        for prop in self.properties.values():
            if prop.name not in known:
                message = f"names no regularizer or setting of this run; known: {', '.join(sorted(known))}"
                raise UserError(located(message, file=self.source, column=prop.column))
        return [name for name in known if name not in self.properties]

    def unknown_columns(self, known: Iterable[str]) -> list[str]:
        """The columns (headers as written) of properties naming nothing in ``known``, in sheet order."""
        known = set(known)
        return [prop.column for prop in self.properties.values() if prop.name not in known]

    def without(self, columns: Iterable[str]) -> Dopesheet:
        """This sheet without the properties of ``columns`` (its length, phases and events unchanged)."""
        columns = set(columns)
        kept = {name: prop for name, prop in self.properties.items() if prop.column not in columns}
        return dataclasses.replace(self, properties=kept)


@dataclass
class _Row:
    line: int
    cells: list[str]
    step_text: str = ""
    step: int = -1


def load_dopesheet(path: str | Path) -> Dopesheet:
    """Read and parse the dopesheet at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"dopesheet not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(located(f"cannot read dopesheet: {e}", file=path)) from None
    return parse_dopesheet(text, str(path))


def parse_dopesheet(text: str, source: str = "<dopesheet>") -> Dopesheet:
    """Parse dopesheet CSV ``text``; ``source`` names it in error messages."""
    header, header_line, rows = _read_rows(text.removeprefix("\ufeff"), source)
    columns = _parse_header(header, header_line, source)
    fixed = columns.fixed
    for row in rows:
        if len(row.cells) > len(header) and any(c.strip() for c in row.cells[len(header) :]):
            message = f"more cells than the header has columns ({len(header)})"
            raise UserError(located(message, file=source, row=row.line))
        row.cells += [""] * (len(header) - len(row.cells))
        row.step_text = row.cells[fixed[STEP]].strip()
    _resolve_steps(rows, source, step_column=header[fixed[STEP]])
    rows.sort(key=lambda r: r.step)  # stable: rows at the same step keep their file order

    phases: list[tuple[int, str]] = []
    events: dict[int, list[str]] = {}
    for row in rows:
        if PHASE in fixed and (name := row.cells[fixed[PHASE]].strip()):
            phases.append((row.step, name))
        if ACTION in fixed:
            names = [a.strip() for a in row.cells[fixed[ACTION]].split(",") if a.strip()]
            if names:
                events.setdefault(row.step, []).extend(names)

    properties = {
        name: _parse_property(name, space, easing, header[i], i, rows, source)
        for i, (name, space, easing) in columns.properties.items()
    }
    return Dopesheet(source=source, length=rows[-1].step + 1, properties=properties, phases=phases, events=events)


def _read_rows(text: str, source: str) -> tuple[list[str], int, list[_Row]]:
    """The stripped header cells, its line and the non-blank data rows, with their line numbers."""
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    header_line = 1
    rows: list[_Row] = []
    try:
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header, header_line = [c.strip() for c in cells], line
            else:
                rows.append(_Row(line, list(cells)))
    except csv.Error as e:
        raise UserError(located(f"not valid CSV: {e}", file=source, row=reader.line_num)) from None
    if header is None:
        raise UserError(located("empty file: expected a header row with a STEP column", file=source))
    if not rows:
        raise UserError(located("no data rows below the header", file=source, row=header_line))
    return header, header_line, rows


@dataclass
class _Columns:
    """Indices of STEP / PHASE / ACTION (``fixed``) and of the properties: index → (name, space, easing)."""

    fixed: dict[str, int]
    properties: dict[int, tuple[str, str, str]]


def _parse_header(header: list[str], line: int, source: str) -> _Columns:
    columns = _Columns(fixed={}, properties={})
    seen: dict[str, str] = {}
    for i, cell in enumerate(header):
        if cell in (STEP, PHASE, ACTION):
            if cell in columns.fixed:
                raise UserError(located(f"duplicate {cell} column", file=source, row=line, column=cell))
            columns.fixed[cell] = i
            continue
        where = dict(file=source, row=line, column=cell)
        parts = [p.strip() for p in cell.split(":")]
        if len(parts) > 3:
            raise UserError(located("expected a header of the form name, name:space or name:space:easing", **where))
        name, space, easing = parts + [""] * (3 - len(parts))
        if not name:
            raise UserError(located("empty property name in header", **where))
        space = space or SPACES[0]
        if space not in SPACES:
            raise UserError(located(f"unknown space {space!r}; expected one of {', '.join(SPACES)}", **where))
        easing_name = canonical_easing(easing or EASINGS[0])
        if easing_name is None:
            raise UserError(
                located(f"unknown easing {easing!r}; expected one of {', '.join(EASINGS)} (or step)", **where)
            )
        if name in seen:
            raise UserError(located(f"duplicate column for property {name!r} (also {seen[name]!r})", **where))
        seen[name] = cell
        columns.properties[i] = (name, space, easing_name)
    if STEP not in columns.fixed:
        raise UserError(located("no STEP column in the header", file=source, row=line))
    return columns


def _resolve_steps(rows: list[_Row], source: str, step_column: str) -> None:
    """Set ``row.step`` for every row from its STEP text and the anchors (absolute rows) around it."""

    def fail(row: _Row, message: str) -> UserError:
        return UserError(located(message, file=source, row=row.line, column=step_column))

    anchors: list[int | None] = []  # per row: its absolute step, or None for a relative one
    for row in rows:
        text = row.step_text
        if _ABSOLUTE.fullmatch(text):
            anchors.append(int(text))
        elif _RELATIVE.fullmatch(text) or _FRACTION.fullmatch(text):
            anchors.append(None)
        elif not text:
            raise fail(row, "empty STEP")
        elif re.fullmatch(r"\d*\.\d+|\d+\.", text):
            raise fail(row, f"STEP {text!r}: an absolute step must be a whole number (a fraction needs a sign: +0.5)")
        else:
            raise fail(row, f"STEP {text!r}: expected N, +N, -N, +F or -F (0 < F < 1)")

    previous: list[int | None] = []  # per row: the last anchor above it (or itself)
    last: int | None = None
    for row, anchor in zip(rows, anchors):
        if anchor is not None:
            if last is not None and anchor < last:
                raise fail(row, f"absolute step {anchor} is below absolute step {last}; anchors must not decrease")
            last = anchor
        previous.append(last)
    following: list[int | None] = [None] * len(rows)  # per row: the first anchor below it
    upcoming: int | None = None
    for i in reversed(range(len(rows))):
        following[i] = upcoming
        upcoming = anchors[i] if anchors[i] is not None else upcoming

    for row, anchor, before, after in zip(rows, anchors, previous, following):
        try:
            row.step = anchor if anchor is not None else _relative_step(row.step_text, before, after)
        except ValueError as e:
            raise fail(row, str(e)) from None
        if row.step < 0:
            raise fail(row, f"STEP {row.step_text!r} resolves to step {row.step}, before step 0")
    if rows and rows[0].step != 0:
        raise fail(rows[0], f"STEP {rows[0].step_text!r} resolves to step {rows[0].step}; the first row must be step 0")


def _relative_step(text: str, before: int | None, after: int | None) -> int:
    """Resolve ``+N``, ``-N``, ``+F`` or ``-F`` between the anchors ``before`` and ``after``."""
    forward, amount = text[0] == "+", text[1:]
    if "." not in amount:
        anchor, which, where = (before, "previous", "above") if forward else (after, "next", "below")
        if anchor is None:
            raise ValueError(f"STEP {text!r} counts from the {which} absolute step, but there is none {where}")
        return anchor + int(amount) if forward else anchor - int(amount)
    fraction = Fraction(amount)
    if not 0 < fraction < 1:
        raise ValueError(f"STEP {text!r}: a fraction must be between 0 and 1 (exclusive)")
    if before is None or after is None:
        which = "previous" if before is None else "next"
        raise ValueError(f"STEP {text!r} is a fraction of the interval between absolute steps, but has no {which} one")
    offset = fraction * (after - before)
    return math.floor((before + offset if forward else after - offset) + Fraction(1, 2))  # rounded half-up


def _parse_property(
    name: str, space: str, easing: str, column: str, index: int, rows: list[_Row], source: str
) -> Property:
    keyed: dict[int, tuple[float, int]] = {}  # step → (value, line)
    for row in rows:
        text = row.cells[index].strip()
        if not text:
            continue
        try:
            value = _parse_value(text, space)
            if row.step in keyed:
                raise ValueError(f"step {row.step} of {name!r} is already keyed by row {keyed[row.step][1]}")
        except ValueError as e:
            raise UserError(located(str(e), file=source, row=row.line, column=column)) from None
        keyed[row.step] = (value, row.line)
    if not keyed:
        raise UserError(located(f"property {name!r} has no keyed values", file=source, column=column))
    keyframes = sorted((step, value) for step, (value, _) in keyed.items())
    return Property(name=name, space=space, easing=easing, keyframes=keyframes, column=column)


def _parse_value(text: str, space: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"value {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"value {text!r} is not a finite number")
    if space == "log" and value <= 0:
        raise ValueError(f"value {text!r} must be positive in log space")
    return value
