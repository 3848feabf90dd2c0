"""Per-step metrics as CSV in the run directory: a Lightning logger that survives resuming.

Lightning's own CSVLogger deletes an existing metrics.csv when it starts, which would lose the history
of a resumed run. This one, at its first write, keeps the rows of steps before the first step it logs
(the resume point) and appends after them, so a resumed run has one row per step, none twice.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from ex_color.errors import WriteFailed
from ex_color.runs import METRICS, atomic_write_text


class MetricsCSV(Logger):
    def __init__(self, save_dir: str | os.PathLike, filename: str = str(METRICS)):
        super().__init__()
        self._save_dir = str(save_dir)
        self.path = Path(save_dir) / filename
        self.columns: list[str] | None = None
        self._pending: list[dict[str, Any]] = []
        self._started = False

    def _keep_rows_before(self, step: int) -> None:
        with open(self.path, newline="") as handle:
            reader = csv.DictReader(handle)
            self.columns = list(reader.fieldnames or [])
            rows = [row for row in reader if int(float(row["step"])) < step]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, buffer.getvalue())

    def _add_columns(self, keys) -> None:
        self.columns = ["step", *sorted((set(self.columns) | set(keys)) - {"step"})]
        with open(self.path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, buffer.getvalue())

    @property
    def name(self) -> str:
        return "metrics"

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def log_dir(self) -> str:
        return self._save_dir

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass  # the resolved config is saved in .hydra/config.yaml

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._pending.append({"step": step, **metrics})

    @rank_zero_only
    def save(self) -> None:
        if not self._pending:
            return
        if not self._started:
            self._started = True
            if self.path.exists():
                self._keep_rows_before(min(int(row["step"]) for row in self._pending))
        new_file = not self.path.exists()
        keys = dict.fromkeys(k for row in self._pending for k in row)
        if self.columns is None or new_file:
            self.columns = ["step", *sorted(k for k in keys if k != "step")]
        elif not keys.keys() <= set(self.columns):
            # A column first seen now (a validation metric, a term switched on later): rewrite the header.
            self._add_columns(keys)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
                if new_file:
                    writer.writeheader()
                writer.writerows(self._pending)
        except OSError as error:
            self._pending = []  # the run stops; what reached the file is cut back to its checkpoint
            raise WriteFailed(self.path, error) from None
        self._pending = []

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()
