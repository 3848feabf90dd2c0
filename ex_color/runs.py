"""The run directory: its layout, atomic writes, `outputs/latest`, and loading a run back.

Layout of a training run (see docs/ARCHITECTURE.md):
    .hydra/config.yaml   resolved config      dopesheet.csv   the schedule used
    checkpoints/last.ckpt                     metrics.csv     per-step losses
    train.log                                 interventions/<kind>/...   figures/...
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ex_color.errors import UserError

LATEST = Path("outputs") / "latest"
CHECKPOINT = Path("checkpoints") / "last.ckpt"
CONFIG = Path(".hydra") / "config.yaml"
DOPESHEET = Path("dopesheet.csv")
METRICS = Path("metrics.csv")


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write to a temporary file beside `path`, then rename: readers never see a truncated file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def seed_dir(run_dir: Path, seed: int) -> Path:
    """Where seed `seed` of seeds trained together lives."""
    return Path(run_dir) / f"seed-{seed}"


def save_checkpoint(checkpoint: dict, path: Path) -> None:
    """`torch.save` through a temporary file and a rename: an interrupted write leaves the old checkpoint."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def update_latest(run_dir: Path, latest: Path = LATEST) -> None:
    """Point `outputs/latest` at `run_dir` (relative link when the run is under outputs/)."""
    run_dir = Path(run_dir).resolve()
    latest = Path(latest).absolute()
    latest.parent.mkdir(parents=True, exist_ok=True)
    try:
        target = os.path.relpath(run_dir, latest.parent.resolve())
        if target.startswith(".."):
            target = str(run_dir)
    except ValueError:
        target = str(run_dir)
    tmp = latest.with_name(f".latest.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target, target_is_directory=True)
    os.replace(tmp, latest)


def discard_unfinished(run_dir: Path) -> None:
    """Remove what a run that never trained left (Hydra's files, the log); keep anything else."""
    import shutil

    run_dir = Path(run_dir)
    if not run_dir.is_dir() or (run_dir / CHECKPOINT).exists():
        return
    shutil.rmtree(run_dir / ".hydra", ignore_errors=True)
    for leftover in (*run_dir.glob("*.log"), run_dir / DOPESHEET, run_dir / METRICS):
        leftover.unlink(missing_ok=True)
    for directory in (run_dir / "checkpoints", run_dir):
        try:
            directory.rmdir()
        except OSError:
            pass


def resolve_run(run: str | os.PathLike | None) -> Path:
    """The run directory named by `--run`, defaulting to `outputs/latest`; checked to be a training run."""
    if run is None:
        path = LATEST
        if not path.exists():
            raise UserError("no run given and outputs/latest does not exist: train first, or pass --run DIR")
    else:
        path = Path(run).expanduser()
        if not path.exists():
            raise UserError(f"--run {run}: no such directory")
    path = path.resolve()
    if not path.is_dir():
        raise UserError(f"--run {run}: not a directory")
    missing = [str(p) for p in (CONFIG, CHECKPOINT) if not (path / p).exists()]
    if missing:
        raise UserError(f"{path}: not a training run (missing {', '.join(missing)})")
    return path


def load_config(run_dir: Path):
    from omegaconf import OmegaConf

    path = Path(run_dir) / CONFIG
    try:
        return OmegaConf.load(path)
    except Exception as error:
        raise UserError(f"{path}: cannot read the run's config ({type(error).__name__})") from None


def load_checkpoint(run_dir: Path) -> dict:
    """A run's checkpoint as plain data, loaded without executing pickled code (`weights_only`)."""
    import pickle

    import torch

    path = Path(run_dir) / CHECKPOINT
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: no checkpoint") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise UserError(f"{path}: checkpoint is truncated, corrupt or not ours ({type(error).__name__})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "excolor" not in checkpoint:
        raise UserError(f"{path}: checkpoint is truncated, corrupt or not ours (not an ex-color checkpoint)")
    return checkpoint


def load_model(run_dir: Path):
    """The trained model of a run, in eval mode."""
    from ex_color.model import ColorMLP

    path = Path(run_dir) / CHECKPOINT
    checkpoint = load_checkpoint(run_dir)
    try:
        settings = checkpoint["excolor"]["model"]
        state = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items() if k.startswith("model.")}
        model = ColorMLP(**settings)
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, ValueError) as error:
        raise UserError(f"{path}: checkpoint is truncated, corrupt or not ours ({type(error).__name__})") from None
    return model.eval()
