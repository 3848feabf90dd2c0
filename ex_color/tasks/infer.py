"""`infer(...)`: run a trained model, optionally intervened, on inputs the user gives, read by the run's domain
(`Domain.inputs`: colours from the command line or a file; a digits run's pixels from a file)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ex_color import runs
from ex_color.builders import build_intervention
from ex_color.config import compose_intervention
from ex_color.domains import domain_for
from ex_color.errors import UserError
from ex_color.evaluation.metrics import per_color_error
from ex_color.evaluation.predict import predict
from ex_color.evaluation.settings import EvalSettings


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

    run_dir = runs.resolve_run(run_dir)
    run_cfg = runs.load_config(run_dir)
    inputs, labels = domain_for(run_cfg.get("data")).inputs(colors, input_file)
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
