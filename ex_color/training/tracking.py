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


class WandbMetrics:
    """Per-step metrics and the run's config to a wandb run (offline unless set up; see `wandb_mode`).

    A single run is wandb's current run, so `excolor run` can log its figures into it and the outermost
    `tracking_scope` finishes it. Seeds trained together (`group` given) get one wandb run each, grouped by
    their directory, and each finishes its own."""

    def __init__(
        self,
        save_dir: str | Path,
        project: str = "ex-color",
        name: str | None = None,
        mode: str = "auto",
        group: str | None = None,
        **kwargs,
    ):
        import wandb

        os.environ.setdefault("WANDB_SILENT", "true")
        self.owned = group is not None
        self.run = wandb.init(
            project=project,
            name=name,
            group=group,
            dir=str(save_dir),
            mode=wandb_mode(mode),
            reinit="create_new" if self.owned else "default",
            **kwargs,
        )

    def log_hyperparams(self, params: Mapping) -> None:
        self.run.config.update(dict(params), allow_val_change=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=step)

    def save(self) -> None:
        pass

    def finalize(self, status: str) -> None:
        if self.owned:
            self.run.finish(exit_code=0 if status == "success" else 1)


def wandb_logger(
    save_dir: str | Path, project: str = "ex-color", name: str | None = None, mode: str = "auto", **kwargs
):
    return WandbMetrics(save_dir, project=project, name=name, mode=mode, **kwargs)


def tensorboard_logger(save_dir: str | Path, name: str = "tensorboard"):
    """TensorBoard event files in `<run dir>/<name>/` (Lightning Fabric's logger; `tensorboard --logdir`)."""
    from lightning.fabric.loggers import TensorBoardLogger

    return TensorBoardLogger(root_dir=str(save_dir), name=name, version="")


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
    run=None,
) -> bool:
    """Log numbers, figures (PNG path, caption) and small tables to `run` (default: the wandb run in
    progress), as one step and in its summary. Returns False (and does nothing) when there is no run."""
    run = run if run is not None else active_run()
    if run is None:
        return False
    import wandb

    payload: dict = {key: float(value) for key, value in scalars.items()}
    payload.update({key: wandb.Image(str(path), caption=caption) for key, (path, caption) in images.items()})
    payload.update({key: wandb.Table(columns=columns, data=rows) for key, (columns, rows) in (tables or {}).items()})
    run.log(payload)
    run.summary.update({key: value for key, value in payload.items() if key in scalars})
    return True
