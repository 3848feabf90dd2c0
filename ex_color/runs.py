"""The run directory: its layout, atomic writes, `outputs/latest`, and loading a run back.

Layout of a training run (see docs/ARCHITECTURE.md):
    .hydra/config.yaml   resolved config      dopesheet.csv   the schedule used
    checkpoints/last.ckpt                     metrics.csv     per-step losses
    train.log                                 interventions/<kind>/...   figures/...
    history.npz          the latent history (with history.snapshots > 0; ex_color/history.py)
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import tempfile
from pathlib import Path

from ex_color.errors import DamagedFile, UserError, WriteFailed, reading, whole_text

LATEST = Path("outputs") / "latest"
CHECKPOINT = Path("checkpoints") / "last.ckpt"
CONFIG = Path(".hydra") / "config.yaml"
DOPESHEET = Path("dopesheet.csv")
METRICS = Path("metrics.csv")
INTERVENTION_SETTINGS = "intervention.yaml"  # in interventions/<kind>/: the settings it was measured with
# What every run's resolved config holds (a config without one of them is damaged, or not a run's).
CONFIG_KEYS = ("name", "seed", "model")


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write to a temporary file beside `path`, then rename: readers never see a truncated file, and a
    write that fails (WriteFailed) leaves the old file as it was."""
    path = Path(path)
    _rename_all([(_written_beside(path, data), path)])
    return path


def atomic_write_many(files: list[tuple[Path, bytes]]) -> None:
    """Write several files all or nothing: every temporary file first, then the renames (which need no
    space), so that a full disk leaves every old file as it was."""
    written: list[tuple[str, Path]] = []
    try:
        for path, data in files:
            written.append((_written_beside(Path(path), data), Path(path)))
    except BaseException:
        for tmp, _ in written:
            Path(tmp).unlink(missing_ok=True)
        raise
    _rename_all(written)


def _rename_all(written: list[tuple[str, Path]]) -> None:
    for index, (tmp, path) in enumerate(written):
        try:
            os.replace(tmp, path)
        except OSError as error:
            for leftover, _ in written[index:]:
                Path(leftover).unlink(missing_ok=True)
            raise WriteFailed(path, error) from None


def _written_beside(path: Path, data: bytes) -> str:
    """A temporary file beside `path` holding `data`; raises WriteFailed, leaving nothing, if it cannot be."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        return tmp
    except OSError as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise WriteFailed(path, error) from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: Path, what: str, file: bool = False) -> None:
    """UserError naming `what`, the path and the reason unless `path` (a directory, or with `file` a file)
    could be created, with its parents, and written; creates nothing itself."""
    path = Path(path).expanduser().absolute()
    if file and path.is_dir():
        raise UserError(f"{what} {path}: is a directory; name a file")
    existing = path.parent if file else path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} {path}: {existing} is a file, not a directory")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".excolor-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise UserError(f"{what} {path}: cannot write in {existing} ({error.strerror or error})") from None


def seed_dir(run_dir: Path, seed: int) -> Path:
    """Where seed `seed` of seeds trained together lives."""
    return Path(run_dir) / f"seed-{seed}"


def save_checkpoints(checkpoints: list[tuple[dict, Path]], files: list[tuple[Path, bytes]] = ()) -> None:
    """`torch.save` each (checkpoint, path), all or nothing (`atomic_write_many`) with `files` (the latent
    histories): the members of seeds trained together never end at different steps."""

    import torch

    extra, files = list(files), []
    for checkpoint, path in checkpoints:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        files.append((path, buffer.getvalue()))
    atomic_write_many([*files, *extra])


def cut_metrics_to(run_dir: Path, step: int) -> None:
    """Cut metrics.csv back, in place (it needs no space), to its complete rows of steps before `step`."""
    path = Path(run_dir) / METRICS
    if not path.exists():
        return
    with open(path, "rb") as handle:
        data = handle.read()
    keep = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        if keep:  # past the header
            try:
                if int(float(line.split(b",", 1)[0])) >= step:
                    break
            except ValueError:
                break
        keep += len(line)
    os.truncate(path, keep)


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def update_latest(run_dir: Path, latest: Path = LATEST) -> None:
    """Point `outputs/latest` at `run_dir` (relative link when the run is under outputs/)."""
    run_dir = Path(run_dir).resolve()
    latest = Path(latest).absolute()
    try:
        latest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WriteFailed(latest.parent, error) from None
    try:
        target = os.path.relpath(run_dir, latest.parent.resolve())
        if target.startswith(".."):
            target = str(run_dir)
    except ValueError:
        target = str(run_dir)
    tmp = latest.with_name(f".latest.{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target, target_is_directory=True)
        os.replace(tmp, latest)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise WriteFailed(latest, error) from None


def discard_unfinished(run_dir: Path, keep: frozenset[Path] = frozenset(), log_name: str | None = None) -> None:
    """Remove what a run that never trained left (Hydra's files, its log, the dopesheet copy, metrics.csv),
    sparing every path in `keep` (what was there before the command: `reuse.snapshot`); keep anything else.
    `log_name`: the job's log file (train.log, run.log); without it, every `*.log` not kept."""
    run_dir = Path(run_dir).absolute()
    if not run_dir.is_dir() or (run_dir / CHECKPOINT).exists():
        return
    if run_dir / ".hydra" not in keep:
        shutil.rmtree(run_dir / ".hydra", ignore_errors=True)
    logs = [run_dir / log_name] if log_name else list(run_dir.glob("*.log"))
    for leftover in (*logs, run_dir / DOPESHEET, run_dir / METRICS):
        if leftover not in keep:
            leftover.unlink(missing_ok=True)
    for directory in (run_dir / "checkpoints", run_dir):
        if directory in keep:
            continue
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
        seeds = sorted(path.glob("seed-*/" + str(CHECKPOINT)))
        hint = f"; a --seeds directory: name one of its seeds, e.g. {seeds[0].parent.parent}" if seeds else ""
        raise UserError(f"{path}: not a training run (missing {', '.join(missing)}){hint}")
    return path


# `_target_`s saved by runs made before the package layout of December 2026 (issue 21), at their new homes.
MOVED_TARGETS = {
    "ex_color.metrics_log.": "ex_color.training.metrics_log.",
    "ex_color.tracking.": "ex_color.training.tracking.",
    "ex_color.sweeps.": "ex_color.launch.sweeps.",
}


def current_target(target: str) -> str:
    for old, new in MOVED_TARGETS.items():
        if target.startswith(old):
            return new + target.removeprefix(old)
    return target


def _retarget(node) -> None:
    from omegaconf import DictConfig, ListConfig

    children = node.keys() if isinstance(node, DictConfig) else range(len(node))
    for key in children:
        child = node._get_node(key)
        if isinstance(child, DictConfig | ListConfig):
            _retarget(child)
        elif key == "_target_" and not child._is_interpolation() and isinstance(child._value(), str):
            node[key] = current_target(child._value())


def saved_intervention(folder: Path):
    """The settings an intervention in `folder` (RUN/interventions/<kind>) was measured with, as a DictConfig,
    or None when it holds none; DamagedFile naming the file when it is not such settings."""
    from omegaconf import OmegaConf

    saved = Path(folder) / INTERVENTION_SETTINGS
    if not saved.exists():
        return None
    text = whole_text(saved)
    with reading(saved):
        cfg = OmegaConf.create(text)
    if not OmegaConf.is_dict(cfg) or not OmegaConf.is_dict(cfg.get("intervention")):
        raise DamagedFile(saved, "no 'intervention' settings")
    return cfg


def load_config(run_dir: Path):
    """A run's saved config, with `_target_`s of modules that moved since it was saved pointed at their new homes."""
    from omegaconf import OmegaConf

    path = Path(run_dir) / CONFIG
    text = whole_text(path)
    with reading(path):
        cfg = OmegaConf.create(text)
    missing = [key for key in CONFIG_KEYS if not OmegaConf.is_dict(cfg) or key not in cfg]
    if missing:
        raise DamagedFile(path, f"not a run's config: no {missing[0]!r}")
    with reading(path):
        _retarget(cfg)
    return cfg


def load_checkpoint(run_dir: Path) -> dict:
    """A run's checkpoint as plain data, loaded without executing pickled code (`weights_only`)."""

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


# The `excolor` metadata of the checkpoints read in this process, by the file's identity (path, mtime, size), so
# that a command reading a run's model and then its schedule length loads the checkpoint once.
_METADATA: dict[tuple, dict] = {}


def _identity(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def checkpoint_metadata(run_dir: Path) -> dict:
    """The checkpoint's `excolor` block (model settings, schedule length, ...), loaded only if this process has
    not read that file already."""
    path = Path(run_dir) / CHECKPOINT
    known = _METADATA.get(_identity(path))
    if known is not None:
        return known
    return _remember(path, load_checkpoint(run_dir))


def _remember(path: Path, checkpoint: dict) -> dict:
    identity = _identity(path)
    if identity is not None:
        _METADATA[identity] = checkpoint["excolor"]
    return checkpoint["excolor"]


def load_model(run_dir: Path):
    """The trained model of a run, in eval mode and float32 (whatever precision it trained in): rebuilt from
    the checkpoint's `_target_` and keys (none: a ColorMLP, as runs made before own models saved)."""
    from ex_color.model_contract import model_spec

    path = Path(run_dir) / CHECKPOINT
    checkpoint = load_checkpoint(run_dir)
    _remember(path, checkpoint)
    try:
        spec = model_spec(checkpoint["excolor"]["model"], key=f"{path}: model")
        state = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items() if k.startswith("model.")}
        model = spec.build(key=f"{path}: model")
        model.load_state_dict(state)
    except UserError as error:
        if "_target_" in str(error):  # an own model that cannot be imported from here
            raise
        raise UserError(f"{path}: checkpoint is truncated, corrupt or not ours ({error})") from None
    except (RuntimeError, KeyError, TypeError, ValueError) as error:
        raise UserError(f"{path}: checkpoint is truncated, corrupt or not ours ({type(error).__name__})") from None
    return model.eval()


def alt_text(png: Path, default: str) -> str:
    """The alt text written beside a figure (`<name>.txt`), or `default` without one; DamagedFile naming it
    when it is not UTF-8 text."""
    txt = Path(png).with_suffix(".txt")
    if not txt.is_file():
        return default
    text = whole_text(txt).strip()
    if not text:
        raise DamagedFile(txt, "empty: a figure's alt text is never empty")
    return text
