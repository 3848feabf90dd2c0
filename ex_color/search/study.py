"""The Optuna study behind `excolor search`: where it is stored, and running its trials one at a time.

A search directory holds `search.yaml` (what was asked: overrides, seeds, trials, storage, study name),
`study.db` (Optuna's SQLite storage, unless `--storage` names a PostgreSQL server) and one `--seeds` redux
per trial, `trial-<k>/` (k: Optuna's trial number). Several workers (processes, SLURM jobs) may share one
study through a shared storage and directory: each takes the next trial under a lock (a file lock for
SQLite, an advisory lock for PostgreSQL), so together they run exactly N trials and none twice.

A trial interrupted (Ctrl-C, SIGTERM) is marked FAIL and its parameters queued again, so `--resume` runs it
afresh in a new `trial-<k>/` (the interrupted directory is kept). `--resume` also fails and requeues any
trial a killed worker left RUNNING: it must not be run while another worker of the same study is running.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ex_color import runs
from ex_color.errors import Interrupted, RunFailed, UserError

log = logging.getLogger(__name__)

RECORD = "search.yaml"
STUDY_DB = "study.db"
LOCK = ".study.lock"
INTERRUPTED = "interrupted"
RETRY_OF = "retry_of"
RECIPE = "recipe"  # the trial of the recipe as configured


@dataclass(frozen=True)
class SearchRecord:
    """What `excolor search` was asked, kept as search.yaml so that `--resume` and other workers agree."""

    overrides: list[str]
    seeds: list[int]
    trials: int
    study: str
    storage: str | None = None  # None: DIR/study.db

    def url(self, directory: Path) -> str:
        if self.storage is None:
            return f"sqlite:///{(directory / STUDY_DB).resolve()}"
        return sqlalchemy_url(self.storage)

    def save(self, directory: Path) -> None:
        from omegaconf import OmegaConf

        runs.atomic_write_text(directory / RECORD, OmegaConf.to_yaml(OmegaConf.create(asdict(self))))

    @classmethod
    def load(cls, directory: Path) -> SearchRecord:
        from omegaconf import OmegaConf

        path = directory / RECORD
        if not directory.is_dir():
            raise UserError(f"--resume {directory}: no such directory")
        if not path.is_file():
            raise UserError(f"--resume {directory}: not a search directory (no {RECORD})")
        try:
            spec = OmegaConf.to_container(OmegaConf.load(path))
            return cls(**spec)
        except Exception as error:
            raise UserError(f"{path}: cannot read it ({type(error).__name__})") from None


def sqlalchemy_url(url: str) -> str:
    """A PostgreSQL URL as SQLAlchemy reaches it through psycopg 3 (`postgresql://` names psycopg2)."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def check_storage(url: str) -> None:
    if not url.startswith(("postgresql://", "postgres://", "postgresql+", "sqlite:///")):
        raise UserError(f"--storage {url}: expected a PostgreSQL URL (postgresql://USER@HOST/DB) or sqlite:///FILE")


@contextmanager
def study_lock(url: str, study: str, directory: Path):
    """Held while a worker counts the trials and takes the next: one worker at a time, across machines."""
    if url.startswith("postgresql"):
        import sqlalchemy

        key = int.from_bytes(hashlib.sha256(study.encode()).digest()[:8], "big", signed=True)
        engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        engine.dispose()
        return
    with open(directory / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_study(record: SearchRecord, directory: Path, spec, shared: bool):
    """The study (created if new), sampled by TPE, constraints included; the sampler's seed is the spec's,
    plus the number of trials the study already holds (so that `--resume` does not replay the first session's
    random start-up points) and the process id where several workers share the study (so that they do not
    propose the same points)."""

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # Optuna 5 deprecates constraints_func for Trial.set_constraint, which Optuna 4 (also supported) lacks
    warnings.filterwarnings("ignore", message=".*constraints_func.*", category=FutureWarning)

    def sampler(held: int):
        seed = spec.seed + held + (os.getpid() if shared else 0)
        constraints = constraint_values if spec.constraints else None
        return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints, multivariate=True)

    url = record.url(directory)
    try:
        with study_lock(url, record.study, directory):  # workers starting together: one makes the tables
            storage = optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
            study = optuna.create_study(
                study_name=record.study,
                storage=storage,
                sampler=sampler(0),
                directions=spec.directions,
                load_if_exists=True,
            )
            held = len(study.get_trials(deepcopy=False))
            if held:
                study.sampler = sampler(held)
            return study
    except ValueError as error:  # directions differ from the stored study's
        raise UserError(f"study {record.study}: {error}") from None
    except Exception as error:  # SQLAlchemy: unreachable server, bad URL, missing driver
        line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"storage {record.storage or url}: cannot open the study ({line})") from None


def enqueue_recipe(study, record: SearchRecord, directory: Path, spec, cfg) -> None:
    """A new study's first trial: the recipe as configured (`SearchSpec.recipe`), once, whoever starts first."""
    params, message = spec.recipe(cfg)
    with study_lock(record.url(directory), record.study, directory):
        if study.get_trials(deepcopy=False):
            return
        if params is not None:
            study.enqueue_trial(params, user_attrs={RECIPE: True})
    log.info("%s", message)


def constraint_values(trial) -> list[float]:
    return list(trial.user_attrs.get("constraints", []))


def counted(study) -> int:
    """The trials that count towards N: finished or running, and failed ones that were not interrupted."""
    from optuna.trial import TrialState

    total = 0
    for trial in study.get_trials(deepcopy=False):
        if trial.state in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED):
            total += 1
        elif trial.state == TrialState.FAIL and not trial.user_attrs.get(INTERRUPTED):
            total += 1
    return total


def requeue_running(study) -> list[int]:
    """Fail (as interrupted) and queue again every trial left RUNNING by a worker that was killed."""
    import optuna
    from optuna.trial import TrialState

    left = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    for trial in left:
        optuna.trial.Trial(study, trial._trial_id).set_user_attr(INTERRUPTED, True)
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number}, skip_if_exists=False)
    return [t.number for t in left]


def run_trials(study, record: SearchRecord, directory: Path, spec, run_trial) -> int:
    """Take trials until the study has `record.trials`; `run_trial(trial)` returns (values, user attrs).
    Returns how many this worker ran. An interruption fails and requeues the trial, then raises."""
    from optuna.trial import TrialState

    url = record.url(directory)
    ran = 0
    while True:
        with study_lock(url, record.study, directory):
            if counted(study) >= record.trials:
                return ran
            trial = study.ask()
        try:
            values, attrs = run_trial(trial)
        except (Interrupted, KeyboardInterrupt) as stop:
            trial.set_user_attr(INTERRUPTED, True)
            study.tell(trial, state=TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number}, skip_if_exists=False)
            code = stop.exit_code if isinstance(stop, Interrupted) else 130
            kept = sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))
            raise Interrupted(
                f"interrupted in trial {trial.number} (marked failed, to be run again); the study's {kept} "
                f"finished trial{'s are' if kept != 1 else ' is'} kept ({ran} run here); "
                f"continue with: excolor search --resume {directory}",
                code,
            ) from None
        except (UserError, RunFailed) as error:
            log.warning("trial %d failed: %s", trial.number, error)
            trial.set_user_attr("message", str(error))
            study.tell(trial, state=TrialState.FAIL)
            ran += 1
            continue
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        if any(v is None for v in values):
            missing = [o.statistic.label() for o, v in zip(spec.objectives, values) if v is None]
            trial.set_user_attr("message", f"no seed has a finite value for {', '.join(missing)}")
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, values)
        ran += 1


def trial_record(trial, spec) -> dict[str, Any]:
    """One trial as search.json lists it."""
    values = dict(zip([o.name for o in spec.objectives], trial.values)) if trial.values else None
    constraints = trial.user_attrs.get("constraints")
    return {
        "number": trial.number,
        "state": trial.state.name,
        "directory": f"trial-{trial.number}",
        "params": trial.params,
        "values": values,
        "feasible": None if constraints is None else all(c <= 0 for c in constraints),
        "statistics": trial.user_attrs.get("statistics"),
        "overrides": trial.user_attrs.get("overrides"),
        "seconds": trial.duration.total_seconds() if trial.duration is not None else None,
        **{k: trial.user_attrs[k] for k in ("message", INTERRUPTED, RETRY_OF, RECIPE) if k in trial.user_attrs},
    }


def feasible_front(study, spec) -> list:
    """The complete, feasible trials no other such trial dominates (single objective: the best), best first
    by the first objective."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    done = [t for t in done if all(c <= 0 for c in t.user_attrs.get("constraints", []))]
    signs = [1 if d == StudyDirection.MAXIMIZE else -1 for d in study.directions]

    def key(t):
        return [s * v for s, v in zip(signs, t.values)]

    def dominates(a, b) -> bool:
        ka, kb = key(a), key(b)
        return all(x >= y for x, y in zip(ka, kb)) and any(x > y for x, y in zip(ka, kb))

    front = [t for t in done if not any(dominates(o, t) for o in done if o is not t)]
    return sorted(front, key=lambda t: [-k for k in key(t)])
