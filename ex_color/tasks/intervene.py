"""`intervene(kind, run_dir, overrides)`: evaluate a trained run with and without an intervention, measure what
changed on-target and off-target, and draw the intervention's figures from the same predictions (the run's
domain does each: ex_color.domains)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ex_color import runs
from ex_color.builders import build_intervention, build_model
from ex_color.config import compose_intervention
from ex_color.domains import domain_of_run
from ex_color.errors import UserError

log = logging.getLogger(__name__)


def intervene(
    kind: str, run_dir: str | Path | None = None, overrides: Sequence[str] = (), overwrite: bool = False
) -> tuple[Path, Any]:
    """Evaluate `run_dir` (default outputs/latest) under intervention `kind`, with the run's own settings
    for it and then `overrides` (Hydra overrides of the `intervene` config); write results beside the run.
    A result already there for `kind` with other settings (the run's own, or an earlier intervene's) is
    replaced only with `overwrite`. Returns (the intervention's folder, what the domain measured: colour's
    InterventionResult, or another domain's metrics, with a `table()`)."""
    run_dir = runs.resolve_run(run_dir)
    folder = run_dir / "interventions" / kind
    runs.check_writable(folder, "the run's interventions folder")
    domain = domain_of_run(run_dir)
    run_cfg = runs.load_config(run_dir)
    icfg = compose_intervention(kind, list(overrides), run_cfg)
    if not overwrite:
        check_not_replacing(folder, icfg, run_cfg)
    out_dir, result = domain.intervene(run_dir, icfg)
    log.info("intervention %s on %s: results in %s", kind, run_dir, out_dir)
    return out_dir, result


def check_not_replacing(folder: Path, icfg, run_cfg) -> None:
    """UserError when `folder` holds a result measured with settings other than `icfg`'s, naming them (after
    a mistake in `icfg` itself, which is named first, as it would be without the result there)."""
    saved = runs.saved_intervention(folder)
    if saved is None:
        return
    changed = differing_keys(OmegaConf.to_container(saved, resolve=False), OmegaConf.to_container(icfg, resolve=True))
    if changed:
        model = build_model(run_cfg.model)
        build_intervention(icfg.intervention, icfg.get("concepts") or {}, model).applied_to(model)
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise UserError(
            f"{folder} already holds {folder.name} measured with other settings ({shown}); "
            "add --overwrite to replace it, or intervene on a copy of the run"
        )


def differing_keys(before: Any, after: Any, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two plain configs."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after), key=str)
        return [k for key in keys for k in differing_keys(before.get(key), after.get(key), f"{prefix}{key}.")]
    return [] if before == after else [prefix.rstrip(".") or "(the whole file)"]
