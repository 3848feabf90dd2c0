"""`train_seeds(cfg, seeds)`: train one config over several seeds at once, as a batched ensemble.

`excolor train --seeds 0-7` makes one directory holding a run directory per seed (`seed-<k>/`), each what
`excolor train seed=<k>` would have left: its resolved config, the dopesheet, metrics.csv and a checkpoint
with the same weights (see `ex_color.ensemble`), so `excolor intervene --run`, `plot` and `report` read
them like any run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ex_color import runs
from ex_color.builders import model_settings, plain
from ex_color.errors import Interrupted, RunFailed, UserError
from ex_color.sweeps import ERROR_FILE
from ex_color.tasks.train import TRAINER_EXTRAS, build_parts, hydra_run_dir

log = logging.getLogger(__name__)

MAX_SEEDS = 4096


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> [0, …, 7]; '0,3,9' and '0-3,10-11' too. Raises UserError naming the bad part."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise UserError(f"--seeds {text}: {part!r} is not a seed or a range like 0-7")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise UserError(f"--seeds {text}: range {part!r} runs backwards")
        seeds.extend(range(low, high + 1))
        if len(seeds) > MAX_SEEDS:
            raise UserError(f"--seeds {text}: more than {MAX_SEEDS} seeds")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1}) if len(seeds) != len(set(seeds)) else []
    if repeated:
        raise UserError(f"--seeds {text}: seed {repeated[0]} appears twice")
    return seeds


def seed_dir(run_dir: Path, seed: int) -> Path:
    return run_dir / f"seed-{seed}"


def check_ensemble_config(cfg: DictConfig) -> None:
    """What a single run allows but training seeds together does not; raises UserError."""
    from hydra.utils import get_class

    from ex_color.ensemble import check_elementwise

    for name, spec in (cfg.get("logger") or {}).items():
        if str(spec.get("_target_", "")) != "ex_color.metrics_log.MetricsCSV":
            raise UserError(
                f"logger.{name}: --seeds writes metrics.csv only; for {name}, sweep instead: excolor train -m seed=0,1,2"
            )
    extras = set(TRAINER_EXTRAS) | {"accelerator", "devices", "deterministic", "enable_model_summary", "num_sanity_val_steps"}
    for key, value in plain(cfg.trainer).items():
        if key not in extras and value not in (None, False, 0):
            raise UserError(f"trainer.{key}: a Lightning setting; --seeds trains without Lightning's loop")
    try:
        target = get_class(str(cfg.optimizer._target_))
    except Exception:
        raise UserError(f"optimizer._target_: cannot import {cfg.optimizer._target_!r}") from None
    check_elementwise(target)
    device_for(cfg)


def device_for(cfg: DictConfig):
    import torch

    accelerator = str(cfg.trainer.get("accelerator") or "cpu").lower()
    if accelerator == "cpu":
        return torch.device("cpu")
    if accelerator in ("gpu", "cuda", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if accelerator == "auto":
            return torch.device("cpu")
        raise UserError(f"trainer.accelerator={accelerator}: no CUDA device is available")
    raise UserError(f"trainer.accelerator={accelerator}: --seeds runs on cpu or gpu")


def validate(cfg: DictConfig) -> None:
    build_parts(cfg, warn=False)
    check_ensemble_config(cfg)


@contextmanager
def stop_on_signals():
    """Yields a function telling whether SIGINT or SIGTERM arrived; training stops between steps."""
    received: list[signal.Signals] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return

    def handle(signum, frame):
        if received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(signal.Signals(signum))

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: received[0] if received else None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def job_overrides() -> list[str]:
    """The command line's overrides, when Hydra composed this config."""
    from hydra.core.hydra_config import HydraConfig

    return [str(o) for o in HydraConfig.get().overrides.task] if HydraConfig.initialized() else []


@dataclass
class SeedsOutcome:
    directory: Path  # holds seed-<k>/ for each seed
    seeds: list[int]
    failures: dict[int, str]  # seed -> what went non-finite

    @property
    def finished(self) -> list[int]:
        return [seed for seed in self.seeds if seed not in self.failures]

    def check(self) -> None:
        """RunFailed naming the failed seeds, if any."""
        if self.failures:
            lines = "; ".join(f"seed {seed}: {message}" for seed, message in self.failures.items())
            raise RunFailed(
                f"{len(self.failures)} of {len(self.seeds)} seeds failed ({lines}); the others finished in {self.directory}"
            )


def train_seeds(cfg: DictConfig, seeds: Sequence[int], run_dir: str | Path | None = None) -> Path:
    """Train `cfg` once per seed, all seeds together; returns the directory holding `seed-<k>/` runs.

    Raises RunFailed, after the other seeds finished, if any seed's loss went non-finite."""
    outcome = train_seeds_outcome(cfg, seeds, run_dir)
    outcome.check()
    runs.update_latest(outcome.directory)
    return outcome.directory


def build_ensemble(cfg: DictConfig, seeds: Sequence[int], device, warn: bool = True):
    """(EnsembleLoop, the first seed's TrainingParts) for `seeds`: the schedule and regularizers are built
    and checked once; each seed gets what `train` would build for it, its initial weights
    (`torch.manual_seed(seed)` before the model, as `L.seed_everything(seed)` does) and its batch stream."""
    import torch
    from hydra.utils import instantiate

    from ex_color.builders import build_model
    from ex_color.ensemble import EnsembleLoop, StackedColorMLP
    from ex_color.losses import RegularizerSet
    from ex_color.tasks.train import build_batches

    first_cfg = cfg.copy()
    first_cfg.seed = seeds[0]
    torch.manual_seed(seeds[0])
    first = build_parts(first_cfg, warn)
    models, sources = [first.model], [first.batches]
    for seed in seeds[1:]:
        torch.manual_seed(seed)
        models.append(build_model(cfg.model))
        sources.append(build_batches(cfg, seed))
    loop = EnsembleLoop(
        StackedColorMLP(models),
        RegularizerSet(first.regularizers, first.batches.label_names),
        first.timeline,
        sources,
        optimizer=instantiate(cfg.optimizer),
        device=device,
        log_every=int(cfg.trainer.get("log_every") or 100),
    )
    return loop, first


def train_seeds_outcome(cfg: DictConfig, seeds: Sequence[int], run_dir: str | Path | None = None) -> SeedsOutcome:
    """`train_seeds` without raising for failed seeds nor touching outputs/latest."""
    import torch

    from ex_color.metrics_log import MetricsCSV
    from ex_color.training import log_metric_rows, non_finite_problem

    seeds = list(seeds)
    if not seeds:
        raise UserError("--seeds: no seeds given")
    run_dir = Path(run_dir) if run_dir is not None else hydra_run_dir()
    if run_dir is None:
        raise ValueError("train_seeds(cfg, seeds) outside Hydra needs run_dir")
    check_ensemble_config(cfg)
    device = device_for(cfg)
    torch.set_num_threads(int(cfg.trainer.get("threads") or 1))
    if cfg.trainer.get("deterministic"):  # as Lightning's Trainer(deterministic=True) does
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)

    configs = []
    for seed in seeds:
        seed_cfg = cfg.copy()
        seed_cfg.seed = seed
        configs.append(seed_cfg)
    loop, first = build_ensemble(cfg, seeds, device)
    regularizers = loop.regularizers

    directories = [seed_dir(run_dir, seed) for seed in seeds]
    existing = [d for d in directories if d.exists()]
    if existing:
        raise UserError(f"{existing[0]}: already exists; train seeds into a new directory")
    loggers = []
    overrides = job_overrides()
    for directory, seed_cfg in zip(directories, configs):
        (directory / runs.CONFIG).parent.mkdir(parents=True)
        runs.atomic_write_text(directory / runs.CONFIG, OmegaConf.to_yaml(seed_cfg, resolve=True))
        # As Hydra records a sweep job's overrides: `excolor report` tells the seeds apart by them.
        seed_overrides = OmegaConf.create([*overrides, f"seed={seed_cfg.seed}"])
        runs.atomic_write_text(directory / runs.CONFIG.parent / "overrides.yaml", OmegaConf.to_yaml(seed_overrides))
        shutil.copyfile(first.dopesheet_path, directory / runs.DOPESHEET)
        loggers.append(MetricsCSV(save_dir=str(directory)))

    names = ("train/loss", "train/recon", *(f"train/{n}" for n in regularizers.names))
    failed: dict[int, str] = {}  # member index -> what went non-finite
    # A progress line only helps a person watching a terminal; in logs it is noise.
    show_progress = sys.stderr.isatty() and int(cfg.trainer.get("progress_every") or 0) > 0

    def record(chunk) -> None:
        if show_progress:
            done = chunk.first_step + len(chunk.table)
            end = "\n" if done >= loop.length else ""
            print(f"\r{len(seeds)} seeds: step {done:,}/{loop.length:,}", end=end, file=sys.stderr, flush=True)
        for index, logger in enumerate(loggers):
            if index in failed:
                continue
            values = chunk.table[:, index]
            problem = non_finite_problem(values, chunk.first_step, loop.active, regularizers)
            if problem is not None:
                step, failed[index] = problem
                values = values[: step - chunk.first_step]
            log_metric_rows([logger], names, chunk.first_step, values, loop.lr)

    batch_size = first.batches.batch_size
    if device.type != "cpu":
        log.info("on %s the seeds agree with their single runs to rounding, not bit for bit", device.type)
    elif batch_size % 32:
        log.warning(
            "data.batch_size=%d is not a multiple of 32: the seeds agree with their single runs to rounding, "
            "not bit for bit (some CPU kernels round a batch's last elements differently)",
            batch_size,
        )
    log.info(
        "training %s over %d seeds (%s) together on %s: %d steps, regularizers: %s",
        cfg.name,
        len(seeds),
        ", ".join(map(str, seeds)),
        device.type,
        loop.length,
        ", ".join(regularizers.names) or "none",
    )
    with stop_on_signals() as received:
        loop.stop_requested = lambda: received() is not None
        done = loop.run(record)
        signal_received = received()
    if signal_received is not None:
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)
        runs.discard_unfinished(run_dir)
        raise Interrupted(
            f"{signal_received.name} at step {done}: seeds trained together cannot resume; nothing was kept",
            128 + int(signal_received),
        )

    settings = model_settings(cfg.model)
    for index, (seed, directory) in enumerate(zip(seeds, directories)):
        if index in failed:
            record_json = {"seed": seed, "message": failed[index], "exit_code": 1}
            runs.atomic_write_text(directory / ERROR_FILE, json.dumps(record_json, indent=2) + "\n")
            continue
        checkpoint = {
            "state_dict": {f"model.{k}": v for k, v in loop.model.state_dict(index).items()},
            "global_step": loop.length,
            "epoch": 0,
            "excolor": {
                "model": settings,
                "schedule_step": loop.length,
                "schedule_length": loop.length,
                "regularizers": list(regularizers.names),
                "ensemble": {"seeds": seeds, "index": index},
            },
        }
        save_checkpoint(checkpoint, directory / runs.CHECKPOINT)
    return SeedsOutcome(run_dir, seeds, {seeds[i]: message for i, message in sorted(failed.items())})


def save_checkpoint(checkpoint: dict, path: Path) -> None:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    runs.atomic_write_bytes(path, buffer.getvalue())
