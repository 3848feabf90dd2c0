"""`run(cfg)`: the main job — train, evaluate each intervention, draw every figure, write report.md.

Everything is checked before training starts (intervention names, their overrides, and that each one can
be built for the configured model), so a typo fails in a second, not after a minute of training. With
`logger=wandb`, the figures and intervention metrics go to the training's own wandb run, which stays open
until the end and is finished (marked failed if anything raised) on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ex_color import runs
from ex_color.builders import build_model, check_interventions, layer_widths, plain
from ex_color.config import compose_intervention, known_options
from ex_color.domains import domain_for, domain_of_run
from ex_color.errors import Interrupted, UserError
from ex_color.evaluation.settings import EvalSettings
from ex_color.figures.views import check_views
from ex_color.reports import redux
from ex_color.reports.redux import SUMMARY_MD, ReduxSettings
from ex_color.reports.redux_choice import PARETO, SCORE, mark_best
from ex_color.reports.tracker_logging import log_redux
from ex_color.training.setup import build_loop, trainer_settings
from ex_color.training.signals import Terminated, sigterm_raises
from ex_color.training.tracking import tracking_scope

logger = logging.getLogger(__name__)


def intervention_configs(cfg: DictConfig) -> dict[str, DictConfig]:
    """The composed `intervene` config of each intervention in `cfg.interventions`: the kind's config, the
    experiment's `intervention_settings.<kind>`, then `cfg.intervention_overrides.<kind>` (Hydra overrides)."""
    kinds = [str(k) for k in plain(cfg.get("interventions") or [])]
    known = known_options("intervention")
    for kind in kinds:
        if kind not in known:
            raise UserError(f"interventions: unknown intervention {kind!r}; kinds: {', '.join(known)}")
    if len(set(kinds)) != len(kinds):
        raise UserError(f"interventions: each intervention at most once (got {', '.join(kinds)})")
    overrides = plain(cfg.get("intervention_overrides") or {})
    if not isinstance(overrides, dict):
        raise UserError("intervention_overrides: expected a mapping kind -> list of overrides")
    for kind, extra in overrides.items():
        if extra and kind not in kinds:
            raise UserError(
                f"intervention_overrides.{kind}: {kind!r} is not in interventions ({', '.join(kinds) or 'none'})"
            )
    configs = {}
    for kind in kinds:
        extra = overrides.get(kind) or []
        extra = [extra] if isinstance(extra, str) else [str(o) for o in extra]
        try:
            configs[kind] = compose_intervention(kind, extra, cfg, where="interventions:")
        except UserError as error:
            raise UserError(f"intervention_overrides.{kind}: {error}") from None
    return configs


def run(cfg: DictConfig, run_dir: str | Path | None = None) -> Path:
    """Train as `cfg` says, score it (when the experiment has a score), evaluate `cfg.interventions`, draw
    every figure, write report.md; returns the run directory (Hydra's output directory unless `run_dir` is
    given)."""
    from ex_color.tasks.train import train

    configs = intervention_configs(cfg)
    check_interventions(configs, cfg)
    score = score_plan(cfg)
    with tracking_scope():
        run_dir = train(cfg, run_dir, command=RUN_COMMAND)
        with stopped_after_training(run_dir):
            report = score_and_evaluate(run_dir, configs, score)
    logger.info("report: %s", report)
    return run_dir


RUN_COMMAND = "excolor run"


@contextmanager
def stopped_after_training(run_dir: Path):
    """Ctrl-C or SIGTERM while a trained run is evaluated: one line saying that training is kept and how to
    finish; the exit status is 128 + the signal."""
    try:
        with sigterm_raises():
            yield
    except (KeyboardInterrupt, Terminated) as stop:
        name, code = ("SIGINT", 130) if isinstance(stop, KeyboardInterrupt) else ("SIGTERM", 143)
        raise Interrupted(
            f"{name} while evaluating: training is complete in {run_dir}; "
            f"continue with: {RUN_COMMAND} --resume {run_dir}",
            code,
        ) from None


def resume(run_dir: str | Path) -> Path:
    """`excolor run --resume DIR`: finish what an interrupted `excolor run` (one seed or `--seeds`) left, with
    the config it was started with: training from its checkpoints to the end of the schedule, then the score,
    the evaluation, the figures and report.md (for seeds: each seed's selectivity, the best seed's evaluation
    and the summary). A run already complete is refused, as is anything `run` would refuse."""
    from ex_color.tasks.train import TrainOutcome, continue_training, resume_plan

    plan = resume_plan(run_dir)
    together = plan.seeds is not None
    last_written = plan.run_dir / (SUMMARY_MD if together else "report.md")
    if plan.trained and last_written.is_file():
        raise UserError(f"{plan.run_dir} is complete ({last_written.name} is written); nothing to resume")
    configs = intervention_configs(plan.cfg)
    check_interventions(configs, plan.cfg)
    score = score_plan(plan.cfg)
    if not plan.trained:
        continue_training(plan, RUN_COMMAND, check=False)
    with stopped_after_training(plan.run_dir):
        if not together:
            with tracking_scope():
                report = score_and_evaluate(plan.run_dir, configs, score)
            logger.info("report: %s", report)
            runs.update_latest(plan.run_dir)
            return plan.run_dir
        outcome = TrainOutcome.of_seeds(plan.run_dir, plan.seeds)
        finish_seeds(plan.cfg, outcome.directory, [outcome.member_dir(s) for s in outcome.finished], configs, score)
    outcome.check()
    runs.update_latest(outcome.directory)
    return outcome.directory


def score_and_evaluate(run_dir: Path, configs: dict[str, DictConfig], score) -> Path:
    """A trained run scored (when the experiment has a score), evaluated in full by its domain and logged to
    the tracker in progress, its checkpoint loaded once; returns report.md's path."""
    domain = domain_of_run(run_dir)
    if score is not None:
        domain.score_runs([run_dir], score)
    return domain.evaluate_run(run_dir, configs, log_results=True)


def score_plan(cfg: DictConfig):
    """What the experiment's score needs, checked by the domain (colour: (settings, the plan's intervention
    configs), each kind built for an untrained model of the configured shape); None without a score."""
    return domain_for(cfg.get("data")).score_plan(cfg)


def run_seeds(cfg: DictConfig, seeds: list[int], run_dir: str | Path | None = None) -> Path:
    """`run` for several seeds, the redux procedure: trained together (`tasks.train.train_outcome`), each
    scored, then the best seed (or, with `redux.evaluate=all`, every seed) evaluated in full, and the summary
    across the seeds (summary.md, summary.json, figures/); returns the directory holding `seed-<k>/`."""
    from ex_color.tasks.train import train_outcome

    configs = intervention_configs(cfg)
    check_interventions(configs, cfg)
    score = score_plan(cfg)
    outcome = train_outcome(cfg, run_dir, seeds=seeds, command=RUN_COMMAND)
    with stopped_after_training(outcome.directory):
        finish_seeds(cfg, outcome.directory, [outcome.member_dir(seed) for seed in outcome.finished], configs, score)
    outcome.check()
    runs.update_latest(outcome.directory)
    return outcome.directory


def finish_seeds(cfg: DictConfig, directory: Path, finished: list[Path], configs, score) -> None:
    """After seeds trained together: score each, measure each one's selectivity, evaluate the best by
    `redux.best` (or all), write the summary and log it to the trackers `cfg.logger` names; each seed's
    checkpoint is loaded once."""
    if not finished:
        return

    settings = redux.ReduxSettings.from_config(cfg.get("redux"))
    domain = domain_for(cfg.get("data"))  # one for the whole redux: each checkpoint is loaded once
    if score is not None:
        domain.score_runs(finished, score)
    domain.measure_seeds(cfg, finished, configs)
    summary = redux.summarise(directory, settings)
    if summary.best is not None:
        logger.info("best seed by %s: %s (%s)", settings.best, summary.best, summary.choice.text)
    chosen = finished if settings.evaluate == "all" or summary.best is None else [directory / summary.best]
    stale = mark_best(directory, summary.choice, len(summary.rows))
    for seed_dir in chosen:
        domain.evaluate_run(seed_dir, configs)
    for seed_dir in stale:  # chosen by an earlier summary of this redux: its report.md no longer says so
        if seed_dir not in chosen and (seed_dir / "report.md").is_file():
            domain.write_report(seed_dir)
    summary.reread([seed_dir.name for seed_dir in chosen])
    redux.write_summary(summary)
    logger.info("summary across seeds: %s", directory / redux.SUMMARY_MD)
    log_redux(cfg, summary)


def validate(cfg: DictConfig) -> None:
    """Check a composed `run` config completely (training, interventions, the score and the redux settings)
    before any run directory exists."""
    from ex_color.tasks.train import validate as validate_training

    validate_training(cfg)
    configs = intervention_configs(cfg)
    check_interventions(configs, cfg)
    score_plan(cfg)
    ReduxSettings.from_config(cfg.get("redux")).check([kind for kind in configs if kind != "none"])
    check_eval(cfg)


def check_eval(cfg: DictConfig) -> None:
    """The `eval` settings, and the figures' latent views against the configured latent width."""
    settings = EvalSettings.from_config(cfg.get("eval"))
    check_views(settings, layer_widths(build_model(cfg.model))["latent"])  # any model: its `latent`'s width


def validate_seeds(cfg: DictConfig) -> None:
    from ex_color.tasks.train import validate_seeds as validate_training_seeds

    validate(cfg)
    validate_training_seeds(cfg)
    check_redux_columns(cfg)


def check_redux_columns(cfg: DictConfig) -> None:
    """`redux.minimise` / `redux.maximise` and a column `redux.best` names are columns the seeds' summary will
    have (`redux.seed_columns`: the score, recon, the domain's own (`Domain.seed_columns`: colour's
    selectivity per intervention), the validation values and label counts), known from the config before
    any training."""
    settings = ReduxSettings.from_config(cfg.get("redux"))
    named = [(key, c) for key in ("minimise", "maximise") for c in getattr(settings, key) or ()]
    named += [("best", settings.best)] if settings.best not in (SCORE, PARETO) else []
    if not named:
        return
    loop, _ = build_loop(cfg, [int(cfg.seed)], trainer_settings(cfg), warn=False)
    try:
        names = [name.removeprefix("train/") for name in loop.metric_names]
        every, length = (loop.validation.every if loop.validation is not None else 0), loop.length
    finally:
        loop.close()
    never_validated = 0 < length < every  # a validation set measured every N steps, N beyond the schedule
    columns = [*(["score"] if cfg.get("score") is not None else []), "recon"]
    columns += domain_for(cfg.get("data")).seed_columns(cfg)
    columns += [
        name for name in names if name.startswith("labels/") or (name.startswith("val/") and not never_validated)
    ]
    for key, name in named:
        if name not in columns:
            why = (
                f" (data.validation.every={every} is beyond the {length}-step schedule: no validation is measured)"
                if never_validated and name in names
                else ""
            )
            raise UserError(f"redux.{key}: the seeds will have no column {name!r}{why}; columns: {', '.join(columns)}")


# -- a SLURM sweep job that SLURM requeued (ex_color.launch.slurm decides what it does) ---------------------------


def continue_job(task: Callable, cfg) -> Any:
    """Run this sweep job's task, or, when SLURM restarted the job, continue what its last attempt left.

    Training resumes through `tasks.train.resume_run` (bit-identical to an uninterrupted run); `excolor
    run` then evaluates the trained run as usual. Raises UserError when the directory must not be used."""
    from ex_color.launch import slurm
    from ex_color.tasks.train import resume_run

    plan = slurm.current_plan()
    if plan is None or plan.action == "start":
        return task(cfg)
    if plan.action == "refuse":
        raise UserError(plan.message)
    if plan.action == "resume":
        logger.info("requeued (restart %d): resuming from step %d of %s", slurm.restart_count(), plan.step, plan.length)
        _without_job_log_file(resume_run, plan.run_dir)
    else:
        logger.info(
            "requeued (restart %d): training had finished (%d steps); not training again",
            slurm.restart_count(),
            plan.step,
        )
    return _after_training(task, cfg, plan.run_dir)


def _after_training(task: Callable, cfg, run_dir: Path) -> Path:
    """What the task does after training: nothing more for `train`, evaluation and report for `run`."""
    function = task.func if isinstance(task, partial) else task
    if function is run:
        configs = intervention_configs(cfg)
        score = score_plan(cfg)
        with tracking_scope():
            score_and_evaluate(run_dir, configs, score)
    elif function is run_seeds:
        finished = [
            p
            for p in sorted(run_dir.glob("seed-*"))
            if (p / runs.CHECKPOINT).exists() and not (p / "error.json").exists()
        ]
        finish_seeds(cfg, run_dir, finished, intervention_configs(cfg), score_plan(cfg))
    runs.update_latest(run_dir)
    return run_dir


def _without_job_log_file(function: Callable, run_dir: Path) -> Any:
    """`resume_run` logs to the run's train.log itself; Hydra's handler on the same file steps aside
    meanwhile, so that no line is written twice."""
    root = logging.getLogger()
    log_file = str((run_dir / "train.log").resolve())
    hydra_handlers = [
        h
        for h in root.handlers
        if isinstance(h, logging.FileHandler) and str(Path(h.baseFilename).resolve()) == log_file
    ]
    before = list(root.handlers)
    for handler in hydra_handlers:
        root.removeHandler(handler)
    try:
        return function(run_dir)
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
        for handler in hydra_handlers:
            root.addHandler(handler)
