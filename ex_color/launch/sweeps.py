"""Sweeps (Hydra multirun): a job that fails on a user mistake or a failed run does not stop the sweep.

The job prints its one-line error and leaves `error.json` in its own directory (jobs may run in other
processes or on other machines, so a file is how the failure travels back); the other jobs go on. The
`SweepCallback` (configured in configs/train.yaml) remembers the sweep directory in the process that
launched the sweep, so the CLI can count the failures at the end and exit non-zero with one line.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode

from ex_color.errors import RunFailed
from ex_color.runs import atomic_write_text

ERROR_FILE = "error.json"

# configs/hydra/launcher/joblib.yaml gives the plugin's config of that name the project's defaults, and
# Hydra warns that it matches the plugin's schema by name. That is intended; the warning would come from
# every process that composes a job's config: the launching one and joblib's workers, which import this
# module (with the callback) before they compose.
warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/\w+' is validated against ConfigStore schema")
_sweep_dir: Path | None = None


def in_sweep() -> bool:
    """True inside a job of a Hydra multirun."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def record_failure(message: str, exit_code: int) -> str:
    """Write the current job's failure to its directory; returns the line to print (names the job)."""
    hydra_cfg = HydraConfig.get()
    overrides = [str(o) for o in hydra_cfg.overrides.task]
    line = f"job {hydra_cfg.job.num} ({' '.join(overrides) or 'no overrides'}): {message}"
    record = {"job": int(hydra_cfg.job.num), "overrides": overrides, "message": message, "exit_code": exit_code}
    try:
        atomic_write_text(Path(hydra_cfg.runtime.output_dir) / ERROR_FILE, json.dumps(record, indent=2) + "\n")
    except RunFailed as error:  # a full disk: the job still fails alone, in one line
        line += f" ({ERROR_FILE} not written: {error})"
    return line


class SweepCallback(Callback):
    """Remembers the sweep directory in the launching process (called there by Hydra)."""

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        global _sweep_dir
        _sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()


@dataclass
class SweepOutcome:
    directory: Path
    jobs: int
    failures: list[dict]

    @property
    def exit_code(self) -> int:
        """2 when every failure was a user mistake, else 1 (0 without failures)."""
        if not self.failures:
            return 0
        return 2 if all(f.get("exit_code") == 2 for f in self.failures) else 1

    def message(self) -> str:
        jobs = ", ".join(str(f.get("job", "?")) for f in self.failures)
        return (
            f"{len(self.failures)} of {self.jobs} sweep jobs failed (job {jobs}); "
            f"each job's error is in its {ERROR_FILE} under {self.directory}"
        )


def last_sweep() -> SweepOutcome | None:
    """The jobs and failures of the sweep this process just launched (None when it launched none)."""
    if _sweep_dir is None or not _sweep_dir.is_dir():
        return None
    # A job's directory holds .hydra/ (Hydra writes it before the job starts) or, when the job failed on a
    # user mistake and its unfinished run was discarded, only error.json.
    found = [Path(folder) / name for folder, _, names in os.walk(_sweep_dir, followlinks=True) for name in names]
    jobs = {p.parent.parent for p in found if p.name == "config.yaml" and p.parent.name == ".hydra"}
    errors = [p for p in found if p.name == ERROR_FILE]  # job folders may be links to other disks
    jobs |= {p.parent for p in errors}
    failures = []
    for error in errors:
        try:
            failures.append(json.loads(error.read_text()))
        except ValueError:
            failures.append({"job": error.parent.name, "exit_code": 1})
    failures.sort(
        key=lambda f: (
            not isinstance(f.get("job"), int),
            f.get("job") if isinstance(f.get("job"), int) else 0,
            str(f.get("job")),
        )
    )
    return SweepOutcome(_sweep_dir, len(jobs), failures)
