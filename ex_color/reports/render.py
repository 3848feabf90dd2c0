"""Tables of text, rendered two ways: rich in the terminal, Markdown in files (reports, summaries)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field


def number(value, digits: int = 4) -> str:
    """A metric as text: 4 significant digits (a whole number below 10⁷ in full), '–' for a missing or NaN
    value."""
    if value is None:
        return "–"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(value):
        return "–"
    if value.is_integer() and abs(value) < 1e7:  # counts (labels seen, steps) in full
        return str(int(value))
    return f"{value:.{digits}g}"


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell or an image's alt text."""
    return (
        str(text).replace("\\", "\\\\").replace("|", "\\|").replace("[", "\\[").replace("]", "\\]").replace("\n", " ")
    )


@dataclass
class TextTable:
    """A titled table of strings. `align`: 'l' or 'r' per column (default: first left, rest right)."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    align: list[str] | None = None
    note: str = ""

    def alignment(self) -> list[str]:
        return self.align or ["l", *["r"] * (len(self.headers) - 1)]

    def markdown(self, heading: str = "") -> str:
        """The table as Markdown (cells are taken as Markdown: escape plain text with `escape`)."""
        lines = [f"{heading} {self.title}".strip() + "\n" if heading else (f"**{self.title}**\n" if self.title else "")]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "|".join("---:" if a == "r" else "---" for a in self.alignment()) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.note:
            lines.append(f"\n{self.note}")
        return "\n".join(line for line in lines if line != "") + "\n"

    def rich(self):
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title or None, title_justify="left")
        for header, align in zip(self.headers, self.alignment()):
            table.add_column(plain(header), justify="right" if align == "r" else "left", overflow="fold")
        for row in self.rows:
            table.add_row(*(Text(plain(cell)) for cell in row))
        return table


PIPED_WIDTH = 240


def print_tables(tables: list[TextTable], lines: list[str] = ()) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=PIPED_WIDTH)  # piped or redirected: whole rows rather than rich's 80 columns
    for table in tables:
        console.print(table.rich())
        if table.note:
            console.print(plain(table.note), markup=False, highlight=False, soft_wrap=True)
        console.print()
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


LINK = re.compile(r"!?\[((?:\\.|[^\]\\])*)\]\([^)]*\)")


def plain(cell: str) -> str:
    """A Markdown cell as terminal text: links become their text, escapes and code marks go."""
    text = LINK.sub(lambda m: m.group(1), cell)
    return re.sub(r"\\(.)", r"\1", text.replace("`", ""))


def image(alt: str, path: str) -> str:
    return f"![{escape(alt)}]({path})"
