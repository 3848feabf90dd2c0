"""The latent history file of a run: history.npz (steps [T], colours [N, 3], latents [T, N, n]).

Recorded during training by `ex_color.training.recorder.LatentRecorder` (`history:` in configs/train.yaml) and
read by the history figures and the sweep's contact sheet. The file's bytes depend only on its arrays.
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ex_color.errors import UserError, reading

log = logging.getLogger(__name__)

HISTORY = Path("history.npz")
RECORD_HINT = "record one by training with history.snapshots=N (e.g. excolor train experiment=ex-1.7)"


@dataclass(frozen=True)
class History:
    """One run's snapshots: steps [T] (steps done), colours [N, 3], latents [T, N, n] (float32)."""

    steps: np.ndarray
    colours: np.ndarray
    latents: np.ndarray

    def to_bytes(self) -> bytes:
        """history.npz's bytes (np.load reads them): a zip of the three arrays with fixed timestamps, so that
        the same arrays give the same file."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for name, array in (("steps", self.steps), ("colours", self.colours), ("latents", self.latents)):
                data = io.BytesIO()
                np.lib.format.write_array(data, np.ascontiguousarray(array), allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), data.getvalue())
        return buffer.getvalue()

    @classmethod
    def read(cls, path: Path) -> History:
        """ValueError/OSError if the file is not a history."""
        with np.load(path, allow_pickle=False) as arrays:
            steps, colours, latents = (arrays[name] for name in ("steps", "colours", "latents"))
        if steps.ndim != 1 or colours.ndim != 2 or latents.shape[:2] != (len(steps), len(colours)):
            raise ValueError("arrays of mismatched shapes")
        return cls(steps.astype(np.int64), colours.astype(np.float32), latents.astype(np.float32))


def load_history(run_dir: Path) -> History:
    """The run's history.npz; UserError (one line: how to record one) if it has none or it is unreadable."""
    path = Path(run_dir) / HISTORY
    if not path.exists():
        raise UserError(f"{run_dir}: no latent history ({HISTORY}); {RECORD_HINT}")

    with reading(path):
        history = History.read(path)
    if len(history.steps) < 1:
        raise UserError(f"{path}: holds no snapshots; {RECORD_HINT}")
    return history


def read_saved(run_dir: Path) -> History | None:
    """A member's history.npz when resuming, or None when it has none; DamagedFile when it is unreadable."""
    path = Path(run_dir) / HISTORY
    if not path.exists():
        return None
    with reading(path):
        return History.read(path)
