"""Experiment tracking: a wandb logger that works offline by default and online once set up."""

from __future__ import annotations

import netrc
import os
import sys
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path


def wandb_is_set_up() -> bool:
    """True when the user has an API key (environment or `wandb login`'s ~/.netrc entry)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode(mode: str = "auto") -> str:
    """`auto`: $WANDB_MODE if set, else online when an API key is set up, else offline."""
    if mode != "auto":
        return mode
    return os.environ.get("WANDB_MODE") or ("online" if wandb_is_set_up() else "offline")


def wandb_logger(save_dir: str | Path, project: str = "ex-color", name: str | None = None, mode: str = "auto", **kwargs):
    from lightning.pytorch.loggers import WandbLogger

    resolved = wandb_mode(mode)
    os.environ.setdefault("WANDB_SILENT", "true")
    logger = WandbLogger(
        project=project,
        name=name,
        save_dir=str(save_dir),
        offline=resolved == "offline",
        mode=resolved,
        **kwargs,
    )
    # Lightning passes anonymous=None, which wandb >= 0.19 warns about on every run; leaving it out is the same.
    init_args = getattr(logger, "_wandb_init", None)
    if isinstance(init_args, dict) and init_args.get("anonymous") is None:
        init_args.pop("anonymous", None)
    return logger


_scope_depth = 0


@contextmanager
def tracking_scope():
    """A run of `excolor train` or `excolor run` owns the wandb run its logger starts: the outermost scope
    finishes it (marked failed when the scope raised), so each job of a sweep gets a wandb run of its own
    and none is left open when training fails. Nested scopes (train inside run) leave it open."""
    global _scope_depth
    _scope_depth += 1
    failed = True
    try:
        yield
        failed = False
    finally:
        _scope_depth -= 1
        if _scope_depth == 0:
            finish(exit_code=1 if failed else 0)


def active_run():
    """The wandb run in progress in this process, if any (never imports wandb)."""
    wandb = sys.modules.get("wandb")
    return getattr(wandb, "run", None) if wandb is not None else None


def finish(exit_code: int = 0) -> None:
    run = active_run()
    if run is not None:
        run.finish(exit_code=exit_code)


def log_results(
    scalars: Mapping[str, float],
    images: Mapping[str, tuple[Path, str]],
    tables: Mapping[str, tuple[list[str], list[list]]] | None = None,
) -> bool:
    """Log numbers, figures (PNG path, caption) and small tables to the wandb run in progress, as one
    step and in its summary. Returns False (and does nothing) when no wandb run is active."""
    run = active_run()
    if run is None:
        return False
    import wandb

    payload: dict = {key: float(value) for key, value in scalars.items()}
    payload.update({key: wandb.Image(str(path), caption=caption) for key, (path, caption) in images.items()})
    payload.update({key: wandb.Table(columns=columns, data=rows) for key, (columns, rows) in (tables or {}).items()})
    run.log(payload)
    run.summary.update({key: value for key, value in payload.items() if key in scalars})
    return True
