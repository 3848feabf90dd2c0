"""`search(...)`: an Optuna study over the experiment's `search:` block; each trial is `run_seeds` (the
`excolor run --seeds` redux) into `DIR/trial-<k>/`, scored by the block's statistics of its summary.json.

Everything the command is given (the overrides, the search block, the dopesheet columns, the storage URL)
is checked before the search directory is made; a mistake is one line and leaves nothing behind."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ex_color.errors import Interrupted, RunFailed, UserError
from ex_color.paths import resolve_dopesheet
from ex_color.runs import check_writable
from ex_color.search.outputs import write_outputs
from ex_color.search.spec import SearchSpec
from ex_color.search.study import (
    RECORD,
    SearchRecord,
    check_storage,
    enqueue_recipe,
    open_study,
    requeue_running,
    run_trials,
)

log = logging.getLogger(__name__)

SEARCHES = Path("searches")
VIOLATED = 1e300  # a constraint whose statistic no seed has: as far outside its bounds as a float goes


@dataclass
class SearchResult:
    directory: Path
    ran: int
    data: dict[str, Any]


def prepare(overrides: list[str]):
    """The composed config and its search spec, everything checked; the base dopesheet."""
    from ex_color.config import compose
    from ex_color.search.dopesheet import check_columns
    from ex_color.tasks.run import validate_seeds

    for override in overrides:
        if override.startswith("-"):
            raise UserError(f"{override}: Hydra's flags (-m, --cfg, ...) have no place in a search")
        if override.split("=", 1)[0].lstrip("+~") == "seed":
            raise UserError("seed=...: a search's seeds come from --seeds")
    cfg = compose("run", overrides)
    spec = SearchSpec.from_config(cfg)
    validate_seeds(cfg)
    sheet = resolve_dopesheet(str(cfg.dopesheet))
    columns = [(f"search.space.{p.name}.column", p.column) for p in spec.space if p.column is not None]
    if columns:
        if not sheet.is_file():
            raise UserError(f"dopesheet: {cfg.dopesheet} not found (search.space scales its columns)")
        check_columns(sheet, columns)
    return cfg, spec, sheet


def search(
    overrides: list[str],
    trials: int | None,
    seeds: list[int] | None,
    directory: Path | None = None,
    storage: str | None = None,
    resume: Path | None = None,
) -> SearchResult:
    """Start (or, with `resume`, continue; or, given the directory and storage of a running search, join)
    a search; returns its directory, how many trials this process ran, and search.json's data."""
    if trials is not None and trials < 1:
        raise UserError(f"--trials {trials}: at least 1")
    log_to_stderr()
    if resume is not None:
        if overrides or seeds is not None or directory is not None or storage is not None:
            raise UserError("--resume continues a search as it was started; give it alone (or with --trials)")
        directory = Path(resume)
        record = SearchRecord.load(directory)
        if trials is not None:
            record = replace(record, trials=trials)
        cfg, spec, sheet = prepare(record.overrides)
        made = False
    else:
        if trials is None or seeds is None:
            raise UserError("--trials N and --seeds A-B are required (or --resume DIR)")
        if storage is not None:
            check_storage(storage)
        cfg, spec, sheet = prepare(overrides)
        directory = (
            Path(directory) if directory is not None else SEARCHES / str(cfg.name) / time.strftime("%Y-%m-%d_%H-%M-%S")
        )
        record = SearchRecord(list(overrides), list(seeds), trials, f"{cfg.name}/{directory.name}", storage)
        made = claim_directory(directory, record)
    try:
        study = open_study(record, directory, spec, shared=record.storage is not None)
    except UserError:
        if made:
            remove_made(directory)
        raise
    if resume is not None:
        record.save(directory)
        requeued = requeue_running(study)
        if requeued:
            log.info("trials left running by a stopped worker, marked failed and queued again: %s", requeued)
    else:
        enqueue_recipe(study, record, directory, spec, cfg)
    return run_search(study, spec, record, directory, sheet)


def log_to_stderr() -> None:
    """As Hydra's job logging: the search's messages (and its trials') on stderr."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO)


def claim_directory(directory: Path, record: SearchRecord) -> bool:
    """Make the search directory, or join it (the same search, a shared storage); True if this made it."""
    if (directory / RECORD).is_file():
        if record.storage is None:
            raise UserError(f"{directory}: already a search; continue it with: excolor search --resume {directory}")
        existing = SearchRecord.load(directory)
        if replace(existing, trials=record.trials) != record:
            raise UserError(f"{directory}: a search with other settings ({RECORD}); workers must be started alike")
        return False
    # (hidden files: a worker starting alongside is writing search.yaml)
    if directory.exists() and any(not p.name.startswith(".") for p in directory.iterdir()):
        raise UserError(f"{directory}: exists and is not a search; give a new --dir")
    check_writable(directory, "--dir")
    made = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    record.save(directory)
    return made


def remove_made(directory: Path) -> None:
    for name in (RECORD, "study.db", ".study.lock"):
        (directory / name).unlink(missing_ok=True)
    try:
        directory.rmdir()
    except OSError:
        pass


def run_search(study, spec: SearchSpec, record: SearchRecord, directory: Path, sheet: Path) -> SearchResult:

    def run_trial(trial):
        return run_one(trial, spec, record, directory, sheet)

    try:
        ran = run_trials(study, record, directory, spec, run_trial)
    except Interrupted:
        write_outputs(study, spec, record, directory, figures=False)
        raise
    data = write_outputs(study, spec, record, directory)
    return SearchResult(directory, ran, data)


def run_one(trial, spec: SearchSpec, record: SearchRecord, directory: Path, sheet: Path):
    """One trial: its config (the search's overrides, then the trial's), `run_seeds`, then the statistics."""
    from ex_color.config import compose
    from ex_color.reports.redux import SUMMARY_JSON
    from ex_color.search.dopesheet import scaled_dopesheet
    from ex_color.tasks.run import run_seeds

    params = {p.name: p.suggest(trial) for p in spec.space}
    trial_dir = directory / f"trial-{trial.number}"
    overrides = [*record.overrides, *spec.overrides(params)]
    factors = spec.factors(params)
    if factors:
        scaled = scaled_dopesheet(sheet, factors, trial_dir / "dopesheet.csv")
        overrides.append(f"dopesheet={scaled.resolve()}")
    trial.set_user_attr("overrides", overrides)
    log.info(
        "trial %d: %s",
        trial.number,
        ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()),
    )
    cfg = compose("run", overrides)
    message = None
    with trial_log(trial_dir / "search-trial.log"):
        try:
            run_seeds(cfg, record.seeds, trial_dir)
        except RunFailed as error:
            if not (trial_dir / SUMMARY_JSON).is_file():
                raise
            message = str(error)  # some seeds failed; the others are summarised
    summary = json.loads((trial_dir / SUMMARY_JSON).read_text())
    values = [o.statistic.of(summary) for o in spec.objectives]
    statistics = {o.name: v for o, v in zip(spec.objectives, values)}
    statistics.update({c.name: c.statistic.of(summary) for c in spec.constraints})
    attrs: dict[str, Any] = {"statistics": statistics}
    if spec.constraints:
        attrs["constraints"] = [min(c.violation(statistics[c.name]), VIOLATED) for c in spec.constraints]
    if message is not None:
        attrs["message"] = message
    return values, attrs


class trial_log:
    """Log to the trial's own file while it runs (as Hydra logs a run to its directory)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.FileHandler(self.path)
        self.handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
        logging.getLogger().addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()
        return False
