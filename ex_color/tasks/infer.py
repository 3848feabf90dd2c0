"""`infer(...)`: run a trained model, optionally intervened, on colours (or, for another domain, inputs from a
file: `Domain.read_inputs`) the user gives."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ex_color import runs
from ex_color.builders import build_intervention
from ex_color.config import compose_intervention
from ex_color.data.colors import named_colors
from ex_color.errors import UserError
from ex_color.evaluation.metrics import per_color_error
from ex_color.evaluation.predict import predict
from ex_color.evaluation.settings import EvalSettings

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


def check_range(rgb: np.ndarray, where: str) -> None:
    if not np.isfinite(rgb).all():
        raise UserError(f"{where}: values must be finite")
    bad = np.argwhere((rgb < 0) | (rgb > 1))
    if len(bad):
        row, col = bad[0]
        raise UserError(f"{where}: value {rgb[row, col]:g} (row {row + 1}, channel {'rgb'[col]}) is outside [0, 1]")


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


def infer(
    run_dir: str | Path | None,
    colors: Sequence[str] = (),
    input_file: Path | None = None,
    output_file: Path | None = None,
    kind: str | None = None,
    overrides: Sequence[str] = (),
):
    """Returns (inputs, outputs, latents, errors, labels); saves arrays to `output_file` (.npz) if given.

    With `kind`, under that intervention: the run's own settings for it, then `overrides`."""
    if output_file is not None and Path(output_file).suffix != ".npz":
        raise UserError(f"--output {output_file}: expected a .npz file")
    if output_file is not None:
        runs.check_writable(Path(output_file), "--output", file=True)
    from ex_color.domains import domain_for

    run_dir = runs.resolve_run(run_dir)
    run_cfg = runs.load_config(run_dir)
    domain = domain_for(run_cfg.get("data"))
    if domain is None:  # colour
        inputs, labels = gather_inputs(colors, input_file)
    else:  # another domain reads its own inputs from a file
        if colors:
            raise UserError(f"colours given on the command line: a {domain.name} run takes --input FILE only")
        if input_file is None:
            raise UserError(f"--input: a {domain.name} run needs an input file ({domain.input_width} values a row)")
        inputs = domain.read_inputs(input_file)
        labels = [""] * len(inputs)
    model = runs.load_model(run_dir)
    placements = []
    if kind is not None:
        cfg = compose_intervention(kind, list(overrides), run_cfg)
        intervention = build_intervention(cfg.intervention, cfg.get("concepts") or {}, model)
        model, placements = intervention.applied_to(model)
    elif overrides:
        raise UserError("--set: overrides of an intervention need --kind")
    chunk = EvalSettings.from_config(run_cfg.get("eval")).chunk_size
    result = predict(model, inputs, placements, chunk)
    errors = per_color_error(result.outputs, inputs).astype(np.float32)
    if output_file is not None:
        buffer = io.BytesIO()
        np.savez(buffer, inputs=inputs, outputs=result.outputs, latents=result.latents, errors=errors)
        runs.atomic_write_bytes(Path(output_file), buffer.getvalue())
    return inputs, result.outputs, result.latents, errors, labels
