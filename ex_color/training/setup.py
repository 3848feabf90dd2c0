"""What a training run is built from: the trainer's settings (`cfg.trainer`, checked) and the training loop
with one member per seed (`build_loop`), each member with the initial weights and batches a run of that
seed alone gets. Core: the task (`tasks.train`), tests and benchmarks build loops through it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from ex_color.builders import build_batches, build_parts, build_validation
from ex_color.errors import UserError
from ex_color.losses import RegularizerSet
from ex_color.model import stack_models
from ex_color.model_contract import model_spec
from ex_color.settings import read_settings, setting
from ex_color.training.loop import TrainLoop
from ex_color.training.recorder import HistorySettings

log = logging.getLogger(__name__)

# Lightning Fabric's precisions that ex-color trains with: *-true trains and saves weights in that dtype;
# *-mixed keeps float32 weights and runs the forward pass under autocast (16-mixed: with a gradient scaler,
# on a GPU; on a CPU Fabric runs bf16-mixed instead).
PRECISIONS = ("32-true", "64-true", "bf16-true", "16-true", "bf16-mixed", "16-mixed")


@dataclass(frozen=True)
class TrainerSettings:
    """`cfg.trainer`: how training runs (Lightning Fabric's device and precision, and the loop's cadences)."""

    accelerator: str = "cpu"
    precision: str = setting("32-true", choices=PRECISIONS)
    deterministic: bool = True
    threads: int = setting(1, least=0)
    log_every: int = setting(100, least=0)
    checkpoint_every: int = setting(1000, least=0)
    progress_every: int = setting(200, least=0)


def trainer_settings(cfg: DictConfig) -> TrainerSettings:
    trainer = read_settings(TrainerSettings, cfg.get("trainer"), "trainer")
    device_for(trainer)
    return trainer


def check_members(trainer: TrainerSettings, members: int) -> None:
    """UserError when the trainer cannot train `members` seeds together: under 16-mixed one gradient scaler
    would serve every member, so one member's non-finite gradient would skip the step of all of them."""
    if members > 1 and trainer.precision == "16-mixed":
        raise UserError(
            "trainer.precision=16-mixed cannot train seeds together: one gradient scaler serves every seed, so one "
            "seed's non-finite gradient would skip the others' steps; use bf16-mixed, or train the seeds one by one"
        )


def device_for(trainer: TrainerSettings):

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
    from hydra.utils import instantiate
    from lightning.fabric import Fabric
    from lightning.fabric.plugins.environments import LightningEnvironment

    check_members(trainer, len(seeds))
    device = device_for(trainer)
    precision = trainer.precision
    if precision == "16-mixed" and device.type == "cpu":  # what Fabric would do, said in our words
        log.info("trainer.precision=16-mixed: float16 autocast needs a GPU; on this CPU it trains as bf16-mixed")
        precision = "bf16-mixed"
    # One process, one device: Lightning's own environment, so that a SLURM job is not taken for a
    # multi-process launch (sweeps on a cluster run one job per training).
    fabric = Fabric(
        accelerator=str(device.type),
        devices=1,
        precision=precision,
        plugins=[LightningEnvironment()],
    )

    parts = build_parts(cfg, warn=warn)  # the model checked against its contract there, once
    spec = model_spec(cfg.model)
    models, sources = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(spec.build())
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
        routing=parts.routing,
    )
    return loop, parts
