"""`intervene(kind, run_dir, overrides)`: evaluate a trained run with and without an intervention, measure what
changed on-target and off-target, and draw the intervention's figures from the same predictions (the run's
domain does each: ex_color.domains)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ex_color import runs
from ex_color.config import compose_intervention
from ex_color.domains import domain_of_run

log = logging.getLogger(__name__)


def intervene(kind: str, run_dir: str | Path | None = None, overrides: Sequence[str] = ()) -> tuple[Path, Any]:
    """Evaluate `run_dir` (default outputs/latest) under intervention `kind`, with the run's own settings
    for it and then `overrides` (Hydra overrides of the `intervene` config); write results beside the run.
    Returns (the intervention's folder, what the domain measured: colour's InterventionResult, or another
    domain's metrics, with a `table()`)."""
    run_dir = runs.resolve_run(run_dir)
    runs.check_writable(run_dir / "interventions" / kind, "the run's interventions folder")
    domain = domain_of_run(run_dir)
    icfg = compose_intervention(kind, list(overrides), runs.load_config(run_dir))
    out_dir, result = domain.intervene(run_dir, icfg)
    log.info("intervention %s on %s: results in %s", kind, run_dir, out_dir)
    return out_dir, result
