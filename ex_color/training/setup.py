"""What a training run is built from: the trainer's settings (`cfg.trainer`, checked) and the training loop
with one member per seed (`build_loop`), each member with the initial weights and batches a run of that
seed alone gets. Core: the task (`tasks.train`), tests and benchmarks build loops through it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omegaconf import DictConfig

from ex_color.builders import build_batches, build_model, build_parts, build_validation, plain
from ex_color.errors import UserError
from ex_color.training.recorder import HistorySettings


@dataclass(frozen=True)
class TrainerSettings:
    """`cfg.trainer`: how training runs (Lightning Fabric's device and precision, and the loop's cadences)."""

    accelerator: str = "cpu"
    precision: str = "32-true"
    deterministic: bool = True
    threads: int = 1
    log_every: int = 100
    checkpoint_every: int = 1000
    progress_every: int = 200


def trainer_settings(cfg: DictConfig) -> TrainerSettings:
    settings = plain(cfg.get("trainer") or {})
    known = TrainerSettings.__dataclass_fields__
    for key, value in settings.items():
        if key not in known:
            raise UserError(f"trainer.{key}: unknown setting; known: {', '.join(known)}")
        expected = known[key].type
        if expected == "int" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise UserError(f"trainer.{key} must be a whole number ≥ 0 (got {value!r})")
        if expected == "bool" and not isinstance(value, bool):
            raise UserError(f"trainer.{key} must be true or false (got {value!r})")
    trainer = TrainerSettings(**{k: (str(v) if known[k].type == "str" else v) for k, v in settings.items()})
    device_for(trainer)
    return trainer


def device_for(trainer: TrainerSettings):
    import torch

    accelerator = trainer.accelerator.lower()
    if accelerator == "cpu":
        return torch.device("cpu")
    if accelerator in ("gpu", "cuda", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if accelerator == "auto":
            return torch.device("cpu")
        raise UserError(f"trainer.accelerator={accelerator}: no CUDA device is available")
    raise UserError(f"trainer.accelerator={accelerator}: training runs on cpu, gpu or auto")


def build_loop(cfg: DictConfig, seeds: Sequence[int], trainer: TrainerSettings, warn: bool = True):
    """(TrainLoop over `seeds`, the run's TrainingParts): one member per seed, each with the initial
    weights and batches a run of that seed alone gets."""
    import torch
    from hydra.utils import instantiate
    from lightning.fabric import Fabric
    from lightning.fabric.plugins.environments import LightningEnvironment

    from ex_color.training.loop import TrainLoop
    from ex_color.losses import RegularizerSet
    from ex_color.model import stack_models

    # One process, one device: Lightning's own environment, so that a SLURM job is not taken for a
    # multi-process launch (sweeps on a cluster run one job per training).
    fabric = Fabric(
        accelerator=str(device_for(trainer).type),
        devices=1,
        precision=trainer.precision,
        plugins=[LightningEnvironment()],
    )
    parts = build_parts(cfg, warn=warn)
    models, sources = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(build_model(cfg.model))
        sources.append(build_batches(cfg, seed))
    regularizers = RegularizerSet(parts.regularizers, parts.label_names)
    loop = TrainLoop(
        stack_models(models),
        regularizers,
        parts.timeline,
        sources,
        instantiate(cfg.optimizer),
        fabric,
        trainer.log_every,
        validation=build_validation(cfg),
        history=HistorySettings.from_config(cfg.get("history")),
    )
    return loop, parts
