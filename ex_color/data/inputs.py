"""What `excolor infer` reads: the colours a colour model runs on (from the command line: '#ff0000', 'r,g,b',
names; an N×3 .npy or .csv file; or the 17 named colours), and the check every domain's inputs pass (finite,
in [0, 1]); every mistake one line naming the value, file, row and channel or column."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ex_color.data.colors import named_colors
from ex_color.errors import UserError

HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def parse_color(text: str) -> np.ndarray:
    """'#ff0000', 'f00', 'ff0000', or 'r,g,b' floats in [0, 1], or a named colour ('red', 'dark gray')."""
    value = text.strip()
    names = named_colors()
    if value.lower() in names:
        return names[value.lower()]
    match = HEX.match(value)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return np.array([int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)])
    parts = value.split(",")
    if len(parts) == 3:
        try:
            rgb = np.array([float(p) for p in parts])
        except ValueError:
            rgb = None
        if rgb is not None:
            check_range(rgb[None], f"colour {text!r}")
            return rgb
    raise UserError(f"colour {text!r}: not a colour; use '#rrggbb', 'r,g,b' with floats in [0, 1], or a name like red")


def check_range(values: np.ndarray, where: str, column: Callable[[int], str] = lambda c: f"channel {'rgb'[c]}") -> None:
    """Every value of `values` [N, width] finite and in [0, 1]; `column` names a column in the message."""
    if not np.isfinite(values).all():
        raise UserError(f"{where}: values must be finite")
    bad = np.argwhere((values < 0) | (values > 1))
    if len(bad):
        row, col = bad[0]
        raise UserError(f"{where}: value {values[row, col]:g} (row {row + 1}, {column(col)}) is outside [0, 1]")


def read_colors(path: Path) -> np.ndarray:
    """An N×3 array of floats in [0, 1] from a .npy or .csv file (a header line is allowed in CSV)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--input {path}: no such file")
    if path.suffix == ".npy":
        try:
            rgb = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise UserError(f"{path}: not a readable .npy file ({error})") from None
    elif path.suffix == ".csv":
        rows = []
        with open(path, newline="") as handle:
            for number, row in enumerate(csv.reader(handle), start=1):
                if not row or all(not cell.strip() for cell in row):
                    continue
                try:
                    rows.append([float(cell) for cell in row])
                except ValueError:
                    if number == 1 and not rows:
                        continue  # a header
                    raise UserError(f"{path}, row {number}: not three numbers: {','.join(row)}") from None
                if len(row) != 3:
                    raise UserError(f"{path}, row {number}: expected 3 values (r,g,b), got {len(row)}")
        rgb = np.array(rows, dtype=np.float64).reshape(-1, 3)
    else:
        raise UserError(f"--input {path}: expected a .npy or .csv file")
    if rgb.ndim != 2 or rgb.shape[1] != 3:
        raise UserError(f"{path}: expected an N×3 array of colours, got shape {list(rgb.shape)}")
    if not np.issubdtype(rgb.dtype, np.number) or np.issubdtype(rgb.dtype, np.complexfloating):
        raise UserError(f"{path}: expected real numbers, got {rgb.dtype}")
    if len(rgb) == 0:
        raise UserError(f"{path}: no colours (0 rows)")
    check_range(np.asarray(rgb, np.float64), str(path))
    return rgb.astype(np.float32)


def gather_inputs(colors: Sequence[str], input_file: Path | None) -> tuple[np.ndarray, list[str]]:
    """The colours to run: from the command line, a file, or (neither) the 17 named colours."""
    arrays, labels = [], []
    if colors:
        arrays.append(np.stack([parse_color(c) for c in colors]).astype(np.float32))
        labels += list(colors)
    if input_file is not None:
        from_file = read_colors(input_file)
        arrays.append(from_file)
        labels += [""] * len(from_file)
    if not arrays:
        names = named_colors()
        return np.stack(list(names.values())).astype(np.float32), list(names)
    return np.concatenate(arrays), labels
