"""`train(cfg)`: train a ColorMLP on the dopesheet's curriculum and leave everything in the run directory."""

from __future__ import annotations

import logging
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ex_color import runs
from ex_color.builders import build_model, build_regularizers, model_settings, plain
from ex_color.errors import Interrupted, UserError
from ex_color.paths import resolve_dopesheet

log = logging.getLogger(__name__)

TRAINER_EXTRAS = ("threads", "log_every", "checkpoint_every", "progress_every")


def hydra_run_dir() -> Path | None:
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else None


def load_schedule(cfg: DictConfig, regularizer_names: list[str], warn: bool = True):
    """Parse and validate the dopesheet against the run's regularizers, before anything trains."""
    from ex_color.schedule import Timeline, load_dopesheet

    path = resolve_dopesheet(cfg.dopesheet)
    sheet = load_dopesheet(path)
    missing = sheet.check_names(["lr", *regularizer_names])
    if "lr" in missing:
        raise UserError(f"{path}: no 'lr' column; the learning rate must be scheduled")
    for name in missing if warn else ():
        log.warning("dopesheet %s has no column %r: that regularizer runs at weight 1.0", path, name)
    return path, Timeline.from_dopesheet(sheet)


@dataclass
class TrainingParts:
    model: object
    regularizers: list
    dopesheet_path: Path
    timeline: object
    batches: object


def build_parts(cfg: DictConfig, warn: bool = True) -> TrainingParts:
    """Everything a run is made of, built and checked against each other; raises UserError on mistakes."""
    model = build_model(cfg.model)
    for key, value in plain(cfg.data.cube).items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"data.cube.{key} must be a positive integer (got {value!r})")
    label_names = tuple(cfg.data.labels)
    regularizers = build_regularizers(cfg.regularizers, model, label_names)
    dopesheet_path, timeline = load_schedule(cfg, [r.name for r in regularizers], warn)
    return TrainingParts(model, regularizers, dopesheet_path, timeline, build_batches(cfg, int(cfg.seed)))


def build_batches(cfg: DictConfig, seed: int):
    """The run's batch stream for `seed` (`cfg.data`, already checked by `build_parts`)."""
    from ex_color.data import BatchSource, ColorCube

    return BatchSource(
        ColorCube.hsv(**plain(cfg.data.cube)),
        batch_size=int(cfg.data.batch_size),
        labels=plain(cfg.data.labels),
        hard_labels=bool(cfg.data.hard_labels),
        seed=seed,
    )


def validate(cfg: DictConfig) -> None:
    """Check a composed training config completely, before any run directory exists."""
    build_parts(cfg, warn=False)


def quiet_lightning() -> None:
    """Lightning's banner lines (GPU available, tips) go to the log file only, through our handlers."""
    for name in ("lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.WARNING)


def train(cfg: DictConfig, run_dir: str | Path | None = None, resume: bool = False) -> Path:
    """Train as `cfg` says; returns the run directory (Hydra's output dir unless `run_dir` is given).

    A wandb run started by `logger=wandb` is finished when this returns or fails, unless a caller holds
    a `tracking_scope` of its own (as `excolor run` does, to log its figures into the same run)."""
    from ex_color.tracking import tracking_scope

    with tracking_scope():
        return _train(cfg, run_dir, resume)


def _train(cfg: DictConfig, run_dir: str | Path | None, resume: bool) -> Path:
    import lightning as L
    import torch
    from hydra.utils import instantiate

    from ex_color.interruption import GracefulStop
    from ex_color.losses import RegularizerSet
    from ex_color.training import ColorTrainer, CheckpointSaving, QuietProfiler, StepIndices, atomic_checkpoint_io

    quiet_lightning()
    run_dir = Path(run_dir) if run_dir is not None else hydra_run_dir()
    if run_dir is None:
        raise ValueError("train(cfg) outside Hydra needs run_dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    config_file = run_dir / runs.CONFIG
    if not config_file.exists():
        runs.atomic_write_text(config_file, OmegaConf.to_yaml(cfg, resolve=True))

    extras = {k: cfg.trainer.get(k) for k in TRAINER_EXTRAS}
    trainer_args = {k: v for k, v in plain(cfg.trainer).items() if k not in TRAINER_EXTRAS}
    torch.set_num_threads(int(extras["threads"] or 1))
    L.seed_everything(int(cfg.seed), verbose=False)

    parts = build_parts(cfg)
    model, regularizers, timeline, batches = parts.model, parts.regularizers, parts.timeline, parts.batches
    dopesheet_path = parts.dopesheet_path
    module = ColorTrainer(
        model=model,
        regularizers=RegularizerSet(regularizers, batches.label_names),
        timeline=timeline,
        batches=batches,
        optimizer=instantiate(cfg.optimizer),
        log_every=int(extras["log_every"] or 100),
        model_config=model_settings(cfg.model),
    )
    loggers = [instantiate(spec, save_dir=str(run_dir)) for spec in (cfg.get("logger") or {}).values()]
    for logger in loggers:  # the whole resolved config (wandb's run config; the CSV logger ignores it)
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    graceful = GracefulStop()
    callbacks = [graceful, CheckpointSaving(run_dir / runs.CHECKPOINT, every=int(extras["checkpoint_every"] or 0))]
    # A progress bar only helps a person watching a terminal; in logs it is noise.
    progress_every = int(extras["progress_every"] or 0) if sys.stderr.isatty() else 0
    if progress_every > 0:
        from lightning.pytorch.callbacks import TQDMProgressBar

        callbacks.append(TQDMProgressBar(refresh_rate=progress_every))
    trainer = L.Trainer(
        **{"profiler": QuietProfiler(), **trainer_args},  # trainer.profiler=simple etc. still work
        max_steps=timeline.length,
        logger=loggers or False,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=progress_every > 0,
        default_root_dir=str(run_dir),
        plugins=[atomic_checkpoint_io()],
    )
    if dopesheet_path.resolve() != (run_dir / runs.DOPESHEET).resolve():
        shutil.copyfile(dopesheet_path, run_dir / runs.DOPESHEET)
    log.info(
        "training %s: %d steps, regularizers: %s",
        cfg.name,
        timeline.length,
        ", ".join(r.name for r in regularizers) or "none",
    )
    ckpt_path = str(run_dir / runs.CHECKPOINT) if resume else None
    with warnings.catch_warnings():
        # Expected: the run directory already holds .hydra/ when the CSV logger starts there.
        warnings.filterwarnings("ignore", message="Experiment logs directory .* exists and is not empty")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        trainer.fit(module, train_dataloaders=StepIndices(), ckpt_path=ckpt_path, weights_only=True)
    if graceful.received is not None:
        raise Interrupted(
            f"{graceful.received.name} at step {trainer.global_step}: checkpoint saved; "
            f"resume with: excolor train --resume {run_dir}",
            graceful.exit_code,
        )
    runs.update_latest(run_dir)
    return run_dir


def resume_run(run_dir: str | Path) -> Path:
    """Continue an interrupted run from its `last.ckpt`, with the config it was started with."""
    run_dir = runs.resolve_run(run_dir)
    cfg = OmegaConf.load(run_dir / runs.CONFIG)
    if (run_dir / runs.DOPESHEET).exists():
        cfg.dopesheet = str(run_dir / runs.DOPESHEET)
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    if not logging.getLogger().handlers[:-1]:
        logging.getLogger().addHandler(logging.StreamHandler())
    checkpoint = runs.load_checkpoint(run_dir)
    done, length = checkpoint.get("global_step", 0), checkpoint.get("excolor", {}).get("schedule_length")
    if length is not None and done >= length:
        raise UserError(f"{run_dir} already finished ({done} of {length} steps); nothing to resume")
    log.info("resuming %s at step %d", run_dir, done)
    return train(cfg, run_dir=run_dir, resume=True)
