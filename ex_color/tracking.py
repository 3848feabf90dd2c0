"""Experiment tracking: a wandb logger that works offline by default and online once set up."""

from __future__ import annotations

import netrc
import os
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
    return WandbLogger(
        project=project,
        name=name,
        save_dir=str(save_dir),
        offline=resolved == "offline",
        mode=resolved,
        **kwargs,
    )
