"""`train(cfg)`: train one run, or several seeds together, and leave everything in run directories.

One seed trains into the run directory itself; `seeds=[...]` (`excolor train --seeds 0-7`) trains them
together through the same loop into `seed-<k>/` directories, each an ordinary run: its resolved config,
dopesheet, metrics.csv and a checkpoint that `intervene`, `plot`, `report` and `--resume` read.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ex_color import runs
from ex_color.builders import build_batches, build_parts, build_validation
from ex_color.config import check_seed, check_targets, one_line
from ex_color.errors import DamagedFile, Interrupted, RunFailed, UserError, WriteFailed, reading
from ex_color.history import read_saved
from ex_color.launch.sweeps import ERROR_FILE
from ex_color.model_contract import check_stacking
from ex_color.reports.results import read_rows
from ex_color.reuse import RunDirectoryInUse
from ex_color.training.member_outputs import MemberOutputs, stopped
from ex_color.training.optimizers import make_optimizer
from ex_color.training.recorder import HistorySettings
from ex_color.training.setup import build_loop, check_members, trainer_settings
from ex_color.training.signals import stop_on_signals
from ex_color.training.tracking import tracking_scope

log = logging.getLogger(__name__)


def validate(cfg: DictConfig, seeds: Sequence[int] | None = None) -> None:
    """Check a composed training config completely, before any run directory exists."""
    check_seed(cfg.get("seed"))
    check_targets(cfg)
    check_optimizer(cfg)
    build_parts(cfg, warn=False)
    build_batches(cfg, int(cfg.seed))
    build_validation(cfg)
    trainer = trainer_settings(cfg)
    HistorySettings.from_config(cfg.get("history"))
    if seeds is not None and len(seeds) > 1:
        from hydra.utils import get_class

        from ex_color.training.optimizers import check_elementwise

        try:
            target = get_class(str(cfg.optimizer._target_))
        except Exception:
            raise UserError(f"optimizer._target_: cannot import {cfg.optimizer._target_!r}") from None
        check_elementwise(target)
        check_members(trainer, len(seeds))
        check_stacking(cfg.model)


def check_optimizer(cfg: DictConfig) -> None:
    """The configured optimizer can be made (its `_target_` and arguments), for a parameter of one value."""
    try:
        make_optimizer(instantiate(cfg.optimizer), [torch.zeros(1, requires_grad=True)], lr=1e-3)
    except Exception as error:  # noqa: BLE001 - Hydra's and the optimizer's own refusals, in one line
        raise UserError(f"optimizer: {one_line(error)}") from None


def validate_seeds(cfg: DictConfig) -> None:
    """`validate` for `--seeds` (several seeds together)."""
    validate(cfg, seeds=[0, 1])


def hydra_run_dir() -> Path | None:

    return Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else None


def job_overrides() -> list[str]:
    """The command line's overrides, when Hydra composed this config."""
    return [str(o) for o in HydraConfig.get().overrides.task] if HydraConfig.initialized() else []


@dataclass
class TrainOutcome:
    directory: Path  # the run directory, or the one holding seed-<k>/ for seeds trained together
    seeds: list[int]
    together: bool
    failures: dict[int, str] = field(default_factory=dict)  # seed -> what went non-finite

    @property
    def finished(self) -> list[int]:
        return [seed for seed in self.seeds if seed not in self.failures]

    def member_dir(self, seed: int) -> Path:
        return runs.seed_dir(self.directory, seed) if self.together else self.directory

    @classmethod
    def of_seeds(cls, directory: Path, seeds: Sequence[int]) -> TrainOutcome:
        """Seeds trained together into `directory` earlier, each failed one's message read from its error.json."""
        outcome = cls(directory, list(seeds), together=True)
        for seed in outcome.seeds:
            error = outcome.member_dir(seed) / ERROR_FILE
            if error.is_file():
                outcome.failures[seed] = json.loads(error.read_text()).get("message", "failed")
        return outcome

    def check(self) -> None:
        """RunFailed naming what failed, if anything did."""
        if not self.failures:
            return
        if not self.together:
            raise RunFailed(f"{next(iter(self.failures.values()))}; {stopped(self.directory)}")
        lines = "; ".join(f"seed {seed}: {message}" for seed, message in self.failures.items())
        raise RunFailed(
            f"{len(self.failures)} of {len(self.seeds)} seeds failed ({lines}); the others finished in {self.directory}"
        )


def train(
    cfg: DictConfig,
    run_dir: str | Path | None = None,
    resume: bool = False,
    seeds: Sequence[int] | None = None,
    command: str = "excolor train",
) -> Path:
    """Train as `cfg` says (the seeds `seeds` together, if given); returns the run directory (Hydra's
    output directory unless `run_dir` is given). Raises RunFailed if a loss went non-finite (for seeds,
    after the others finished), Interrupted on SIGINT/SIGTERM after saving a resumable checkpoint.

    A wandb run started by `logger=wandb` is finished when this returns or fails, unless a caller holds
    a `tracking_scope` of its own (as `excolor run` does, to log its figures into the same run)."""
    with tracking_scope():
        outcome = train_outcome(cfg, run_dir, resume, seeds, command)
        outcome.check()
    runs.update_latest(outcome.directory)
    return outcome.directory


def train_outcome(
    cfg: DictConfig,
    run_dir: str | Path | None = None,
    resume: bool = False,
    seeds: Sequence[int] | None = None,
    command: str = "excolor train",
) -> TrainOutcome:
    """`train` without raising for failed seeds nor touching outputs/latest. `command` is what an
    interruption's message tells the user to continue with (`COMMAND --resume DIR`)."""
    root = Path(run_dir) if run_dir is not None else hydra_run_dir()
    if root is None:
        raise ValueError("train(cfg) outside Hydra needs run_dir")
    together = seeds is not None
    seeds = list(seeds) if together else [int(cfg.seed)]
    if not seeds:
        raise UserError("--seeds: no seeds given")
    outcome = TrainOutcome(root, seeds, together)
    trainer = trainer_settings(cfg)
    torch.set_num_threads(trainer.threads or 1)
    if trainer.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    members = {seed: outcome.member_dir(seed) for seed in seeds}
    if resume:
        failed = [seed for seed, directory in members.items() if (directory / ERROR_FILE).exists()]
        for seed in failed:  # a seed that went non-finite stays failed; the others continue
            outcome.failures[seed] = json.loads((members.pop(seed) / ERROR_FILE).read_text()).get("message", "failed")
    loop, parts = build_loop(cfg, list(members), trainer, warn=not resume)
    if resume:
        loop.load_members([runs.load_checkpoint(directory) for directory in members.values()])
        if loop.history is not None:
            loop.history.resume([read_saved(directory) for directory in members.values()], loop.step)
        log.info("resuming from step %d", loop.step)
    else:
        prepare_directories(cfg, root, members, together, parts.dopesheet_path)
    show_progress = sys.stderr.isatty() and trainer.progress_every > 0
    outputs = MemberOutputs(cfg, loop, outcome, members, root, show_progress)
    log.info(
        "training %s%s: %d steps, regularizers: %s",
        cfg.name,
        f" over {len(seeds)} seeds ({', '.join(map(str, seeds))}) together on {loop.device.type}" if together else "",
        loop.length,
        ", ".join(loop.regularizers.names) or "none",
    )
    status = "failed"
    try:
        with stop_on_signals() as received:
            finished = loop.run(
                outputs.on_rows, outputs.on_checkpoint, trainer.checkpoint_every, lambda: received() is not None
            )
        status = "success"
    except WriteFailed as failure:
        raise RunFailed(stopped_writing(failure, loop.step, list(members.values()), root, command)) from None
    finally:
        loop.close()
        outputs.finalize(status)
    signal_received = received()  # read once the handlers are restored: none can arrive unseen in between
    if not finished:
        raise Interrupted(
            f"{signal_received.name} at step {loop.step}: checkpoint saved; resume with: {command} --resume {root}",
            128 + int(signal_received),
        )
    if signal_received is not None:  # arrived during the last step or checkpoint: training is whole, stop here
        raise Interrupted(
            f"{signal_received.name} as training ended (step {loop.step}): training is complete in {root}"
            + ("" if command == "excolor train" else f"; continue with: {command} --resume {root}"),
            128 + int(signal_received),
        )
    return outcome


def stopped_writing(
    failure: WriteFailed, step: int, directories: list[Path], root: Path, command: str = "excolor train"
) -> str:
    """After a write failed at `step`: cut each member's metrics.csv back to its last checkpoint (so that
    the two agree) and say what happened, what was kept, and how to continue."""
    checkpoints = [d / runs.CHECKPOINT for d in directories if (d / runs.CHECKPOINT).exists()]
    kept = runs.load_checkpoint(checkpoints[0].parent.parent)["global_step"] if checkpoints else 0
    for directory in directories:
        runs.cut_metrics_to(directory, kept)
    if not checkpoints:
        return (
            f"{failure} (at step {step}, before the first checkpoint); nothing to resume: free space, then train again"
        )
    return (
        f"{failure} (at step {step}); the checkpoint of step {kept} is kept and metrics.csv cut back to it; "
        f"free space, then continue with: {command} --resume {root}"
    )


def prepare_directories(cfg: DictConfig, root: Path, members: dict[int, Path], together: bool, dopesheet: Path) -> None:
    """Each member's run directory: its resolved config (with its seed), overrides and dopesheet."""
    existing = [d for d in members.values() if (together and d.exists()) or (d / runs.CHECKPOINT).exists()]
    existing += [d for d in members.values() if (d / runs.METRICS).exists()]
    if existing:  # checked before Hydra started (ex_color.reuse); here too for a sweep's own hydra.sweep.subdir
        raise RunDirectoryInUse(f"{existing[0]}: already holds a run; train into a new directory")
    overrides = job_overrides()
    for seed, directory in members.items():
        member_cfg = cfg.copy()
        member_cfg.seed = seed
        if together or not (directory / runs.CONFIG).exists():
            runs.atomic_write_text(directory / runs.CONFIG, OmegaConf.to_yaml(member_cfg, resolve=True))
        if together:  # as Hydra records a sweep job's overrides: `excolor report` tells the seeds apart by them
            seed_overrides = OmegaConf.create([*overrides, f"seed={seed}"])
            runs.atomic_write_text(directory / runs.CONFIG.parent / "overrides.yaml", OmegaConf.to_yaml(seed_overrides))
        if dopesheet.resolve() != (directory / runs.DOPESHEET).resolve():
            runs.atomic_write_bytes(directory / runs.DOPESHEET, dopesheet.read_bytes())


@dataclass
class ResumePlan:
    """What continuing a run directory needs: its config (with its own dopesheet), the seeds trained
    together (None for a single run), and whether every member already trained to the end."""

    run_dir: Path
    cfg: DictConfig
    seeds: list[int] | None
    members: list[Path]  # the directories holding a checkpoint
    step: int  # the least trained member's step
    length: int | None  # the schedule's, where the checkpoint records it

    @property
    def trained(self) -> bool:
        return self.length is not None and self.step >= self.length


def resume_plan(run_dir: str | Path) -> ResumePlan:
    """Read what continuing `run_dir` needs, checking its files (one line naming a damaged one)."""
    path = Path(run_dir).expanduser()
    if not path.is_dir():
        raise UserError(f"--resume {run_dir}: no such directory")
    members = [m.parent.parent for m in sorted(path.glob("seed-*/" + str(runs.CHECKPOINT)))]
    if (path / runs.CHECKPOINT).exists() or not members:
        run_dir = runs.resolve_run(path)
        members = [run_dir]
        checkpoints = [runs.load_checkpoint(run_dir)]
        cfg, seeds = runs.load_config(run_dir), None
    else:
        run_dir = path.resolve()
        first = members[0]
        checkpoints = [runs.load_checkpoint(member) for member in members]
        cfg, seeds = runs.load_config(first), checkpoints[0]["excolor"].get("seeds")
        if seeds is None:
            raise UserError(f"{first}: not a member of seeds trained together; resume it alone")
    if (run_dir / runs.DOPESHEET).exists():
        cfg.dopesheet = str(run_dir / runs.DOPESHEET)
    elif seeds is not None and (first / runs.DOPESHEET).exists():
        cfg.dopesheet = str(first / runs.DOPESHEET)
    length = checkpoints[0]["excolor"].get("schedule_length")
    step = min(int(c.get("global_step", 0)) for c in checkpoints)
    return ResumePlan(run_dir, cfg, seeds, members, step, None if length is None else int(length))


def resume_run(run_dir: str | Path, command: str = "excolor train") -> Path:
    """Continue an interrupted run from its checkpoint, with the config it was started with: a single run,
    or a directory of seeds trained together (`seed-<k>/`)."""
    plan = resume_plan(run_dir)
    if plan.trained:
        raise UserError(f"{plan.run_dir} already finished ({plan.step} of {plan.length} steps); nothing to resume")
    return continue_training(plan, command, check=True).directory


def continue_training(plan: ResumePlan, command: str, check: bool) -> TrainOutcome:
    """Train `plan`'s run on from its checkpoints to the end of its schedule (see `train_outcome`); with
    `check`, failed seeds raise RunFailed and outputs/latest points at the run."""
    for directory in plan.members:
        check_resumable(directory)
    if plan.cfg.get("dopesheet"):
        from ex_color.builders import resolve_dopesheet
        from ex_color.schedule import load_dopesheet

        load_dopesheet(resolve_dopesheet(plan.cfg.dopesheet))
    log_to_file(plan.run_dir / "train.log")
    with tracking_scope():
        outcome = train_outcome(plan.cfg, plan.run_dir, resume=True, seeds=plan.seeds, command=command)
        if check:
            outcome.check()
    if check:
        runs.update_latest(outcome.directory)
    return outcome


def check_resumable(directory: Path) -> None:
    """The files a resumed run reads besides its checkpoint and config, read once before anything is written:
    metrics.csv, history.npz and error.json (DamagedFile naming the one that is damaged)."""
    if (directory / runs.METRICS).exists():
        try:
            read_rows(directory / runs.METRICS)
        except DamagedFile:
            raise
        except UserError:  # a header and no rows yet: nothing was logged before the checkpoint
            pass
    read_saved(directory)
    if (directory / ERROR_FILE).exists():
        with reading(directory / ERROR_FILE):
            record = json.loads((directory / ERROR_FILE).read_text(encoding="utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("message"), str):
            raise DamagedFile(directory / ERROR_FILE, "no 'message'")


def log_to_file(path: Path) -> None:
    """Log to `path` (appending) and the terminal, as Hydra's job logging does for a new run."""
    root = logging.getLogger()
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
