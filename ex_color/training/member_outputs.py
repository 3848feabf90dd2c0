"""Where the members of a training run write as they train: `MemberOutputs` takes the loop's metric rows
(each member's to its loggers, stopping a member whose values went non-finite with its error.json) and its
checkpoints (each live member's checkpoint and latent history, all or nothing)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ex_color import runs
from ex_color.errors import RunFailed
from ex_color.history import HISTORY
from ex_color.launch.sweeps import ERROR_FILE
from ex_color.model_contract import model_spec
from ex_color.training.rows import non_finite_problem


def stopped(directory: Path) -> str:
    """How a run that failed in training ended: with its last good checkpoint, or before its first."""
    if (directory / runs.CHECKPOINT).exists():
        return "stopped (the last good checkpoint is kept)"
    return "stopped before the first checkpoint (nothing to resume)"


class MemberOutputs:
    """The outputs of the members (seed -> run directory) that `loop` trains for `outcome`: their loggers,
    error.json, checkpoints and histories. A member that goes non-finite is recorded in `outcome.failures`
    and written no more; alone, it ends the run (RunFailed)."""

    def __init__(
        self, cfg: DictConfig, loop, outcome, members: dict[int, Path], root: Path, show_progress: bool = False
    ) -> None:
        self.loop = loop
        self.outcome = outcome
        self.members = members
        self.seeds = list(members)  # member index -> seed
        self.together = outcome.together
        self.failed: set[int] = set()
        self.loggers = [
            member_loggers(cfg, directory, seed, root if self.together else None) for seed, directory in members.items()
        ]
        self.metadata = {
            "model": model_spec(cfg.model).saved(),  # _target_ and keys: what rebuilds it
            "schedule_length": loop.length,
            "regularizers": list(loop.regularizers.names),
            **({"seeds": outcome.seeds} if self.together else {}),
        }
        self.show_progress = show_progress

    def on_rows(self, first: int, rows) -> None:
        """Metric rows for steps `first`… ([steps, members, metrics]), after the loop computed them."""
        loop = self.loop
        for index, seed in enumerate(self.seeds):
            if index in self.failed:
                continue
            values = rows[:, index]
            problem = non_finite_problem(values, first, loop.active, loop.regularizers)
            if problem is not None:
                step, self.outcome.failures[seed] = problem
                self.failed.add(index)
                values = values[: step - first]
            log_metric_rows(self.loggers[index], loop.metric_names, first, values, loop.lr)
            if problem is not None:
                self.stop_member(seed)
        if self.show_progress:
            self.print_progress(first + len(rows))

    def stop_member(self, seed: int) -> None:
        message = self.outcome.failures[seed]
        if not self.together:
            raise RunFailed(f"{message}; {stopped(self.members[seed])}")
        record = {"seed": seed, "message": message, "exit_code": 1}
        runs.atomic_write_text(self.members[seed] / ERROR_FILE, json.dumps(record, indent=2) + "\n")

    def print_progress(self, done: int) -> None:
        label = f"{len(self.seeds)} seeds: " if self.together else ""
        end = "\n" if done >= self.loop.length else ""
        print(f"\r{label}step {done:,}/{self.loop.length:,}", end=end, file=sys.stderr, flush=True)

    def on_checkpoint(self) -> None:
        """Each live member's checkpoint (with the run's metadata) and latent history, written together."""
        loop = self.loop
        checkpoints, histories = [], []
        for index, (seed, directory) in enumerate(self.members.items()):
            if index in self.failed:
                continue
            checkpoint = loop.member_checkpoint(index)
            own = {"seed": seed} if self.together else {}
            checkpoint["excolor"] = {**self.metadata, "schedule_step": loop.step, **own}
            checkpoints.append((checkpoint, directory / runs.CHECKPOINT))
            if loop.history is not None:  # written with the checkpoint, all or nothing
                histories.append((directory / HISTORY, loop.history.member(index).to_bytes()))
        runs.save_checkpoints(checkpoints, histories)

    def finalize(self, status: str) -> None:
        for member in self.loggers:
            for logger in member:
                logger.finalize(status)


def member_loggers(cfg: DictConfig, directory: Path, seed: int, group: Path | None) -> list[Any]:
    """The configured loggers of one run directory (`cfg.logger`); for seeds trained together, one wandb
    run per seed, grouped by the seeds' directory."""
    loggers = []
    for spec in (cfg.get("logger") or {}).values():
        extra: dict[str, Any] = {"save_dir": str(directory)}
        if group is not None and str(spec.get("_target_", "")).endswith("wandb_logger"):
            extra.update(group=group.name, name=f"{cfg.name}/seed-{seed}")
        logger = instantiate(spec, **extra)
        member_cfg = cfg.copy()
        member_cfg.seed = seed
        logger.log_hyperparams(OmegaConf.to_container(member_cfg, resolve=True))
        loggers.append(logger)
    return loggers


def log_metric_rows(loggers: Sequence[Any], names: Sequence[str], first: int, values, lr_at: list[float]) -> None:
    """Rows of one member's metrics (steps `first`…, NaN: not computed), with each step's learning rate."""
    last = len(lr_at) - 1
    for offset, row in enumerate(values.tolist()):
        step = first + offset
        metrics = {name: (int(v) if name.startswith("labels/") else v) for name, v in zip(names, row) if v == v}
        metrics["train/lr"] = lr_at[step if step < last else last]
        for logger in loggers:
            logger.log_metrics(metrics, step=step)
    for logger in loggers:
        logger.save()
