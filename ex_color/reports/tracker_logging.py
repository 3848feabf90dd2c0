"""What the reports send to the experiment trackers (`logger=wandb`, `logger=tensorboard`), read from files:

- a run's figures, intervention metrics and named-colour tables (`run_payload`: `excolor run` logs them into
  the training's wandb run);
- a redux's summary (`log_redux`, after `excolor run --seeds`): the seeds' wandb runs end with training, so
  the redux gets a wandb run of its own in the same group (the seeds' directory), named `<name>/summary`
  (job type `redux`), and TensorBoard events in `<seeds dir>/tensorboard/`. Both hold, per seed (the step is
  the seed number), the score and every `selectivity/<kind>/<field>`; the box plots and the best seed's
  figures as images; the per-seed table (wandb: a table; TensorBoard: summary.md as text); and the spread
  of each selectivity field (median, quartiles, min, max) in the wandb run's summary.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ex_color.evaluation.seed_selectivity import FIELDS, parse_column
from ex_color.figures.registry import INTERVENTION_FIGURES, RUN_FIGURES
from ex_color.reports.redux import FIGURES, SUMMARY_MD
from ex_color.reports.redux_selectivity import kinds_in, spreads
from ex_color.reports.results import load_run
from ex_color.reports.run_report import figures_in
from ex_color.training.tracking import log_results

RUN_TABLE_HEADERS = ["colour", "baseline", "intervened", "delta"]


def run_payload(run_dir: Path, result=None, prefix: str = ""):
    """(scalars, images, tables) of an evaluated run (`result`: its RunResult, read here unless given):
    intervention metrics, figures (PNG, alt text) and each intervention's named-colour table, keys prefixed by
    `prefix`."""
    result = result if result is not None else load_run(run_dir)
    metrics = result.metrics()
    scalars = {f"{prefix}interventions/{key}": value for key, value in metrics.items() if "/" in key}
    images = {f"{prefix}figures/{name}": (png, alt) for name, png, alt in figures_in(run_dir / "figures", RUN_FIGURES)}
    tables = {}
    for kind, intervention in result.interventions.items():
        folder = run_dir / "interventions" / kind / "figures"
        images.update(
            {
                f"{prefix}interventions/{kind}/figures/{name}": (png, alt)
                for name, png, alt in figures_in(folder, INTERVENTION_FIGURES)
            }
        )
        tables[f"{prefix}interventions/{kind}/named_colors"] = (
            RUN_TABLE_HEADERS,
            [[name, row.baseline, row.intervened, row.delta] for name, row in intervention.named_colors.items()],
        )
    return scalars, images, tables


def seed_scalars(summary) -> dict[str, dict[str, float]]:
    """Seed name -> {score, selectivity/<kind>/<field>} (finite values only)."""
    out = {}
    for name, row in summary.rows.items():
        values = {}
        for column, value in row.items():
            parsed = parse_column(column)
            if column == "score" or parsed is not None:
                key = "score" if parsed is None else f"selectivity/{parsed[0]}/{parsed[1]}"
                if value is not None and math.isfinite(value):
                    values[key] = float(value)
        out[name] = values
    return out


def seed_table(summary) -> tuple[list[str], list[list[Any]]]:
    """One row per seed: its score and, per intervention, every selectivity field and the worst far colour."""
    kinds = list(dict.fromkeys(k for result in summary.seeds.values() for k in result.selectivity))
    headers = ["seed", "score"] + [
        f"{kind}/{field}" for kind in kinds for field in (*FIELDS[:2], "worst_far.name", *FIELDS[2:])
    ]
    rows = []
    for name, row in summary.rows.items():
        records = summary.seeds[name].selectivity
        cells: list[Any] = [name, row.get("score")]
        for kind in kinds:
            record = records.get(kind)
            if record is None:
                cells += [None] * 5
            else:
                cells += [record["delta_ratio"], record["target_delta"], record["worst_far"]["name"],
                          record["worst_far"]["delta"], record["error_ratio"]]  # fmt: skip
        rows.append(cells)
    return headers, rows


def summary_images(summary) -> dict[str, tuple[Path, str]]:
    """The summary's figures and the best seed's (evaluated) figures, keyed for the trackers."""
    images = {}
    for png in sorted((summary.directory / FIGURES).glob("*.png")):
        txt = png.with_suffix(".txt")
        images[f"summary/{png.stem}"] = (png, txt.read_text().strip() if txt.is_file() else png.stem)
    if summary.best is not None and summary.seeds[summary.best].interventions:
        images.update(run_payload(summary.directory / summary.best, summary.seeds[summary.best], "best/")[1])
    return images


def logger_specs(cfg) -> dict[str, Any]:
    """`wandb` and `tensorboard` -> their logger config in `cfg.logger`, when configured."""
    specs = {}
    for spec in (cfg.get("logger") or {}).values():
        target = str(spec.get("_target_", "")) if hasattr(spec, "get") else ""
        if target.endswith("wandb_logger"):
            specs["wandb"] = spec
        elif target.endswith("tensorboard_logger"):
            specs["tensorboard"] = spec
    return specs


def log_redux(cfg, summary) -> list[str]:
    """The redux's summary into each tracker `cfg.logger` configures; returns the trackers logged to."""
    specs = logger_specs(cfg)
    if "wandb" in specs:
        log_wandb(cfg, specs["wandb"], summary)
    if "tensorboard" in specs:
        log_tensorboard(specs["tensorboard"], summary)
    return sorted(specs)


def log_wandb(cfg, spec, summary) -> None:
    from hydra.utils import instantiate

    directory = summary.directory
    logger = instantiate(spec, save_dir=str(directory), group=directory.name, name=f"{cfg.name}/summary",
                         job_type="redux")  # fmt: skip
    status = "failed"
    try:
        per_seed = seed_scalars(summary)
        for step, (name, values) in enumerate(per_seed.items()):
            logger.log_metrics({"seed": seed_number(name, step), **values}, step=seed_number(name, step))
        scalars = {
            f"selectivity/{kind}/{field}/{stat}": value
            for kind, fields in spreads(summary.rows, kinds_in(summary.columns)).items()
            for field, spread in fields.items()
            for stat, value in spread.items()
            if stat != "n" and value is not None
        }
        if summary.best is not None:
            scalars.update({f"best/{key}": value for key, value in per_seed[summary.best].items()})
        log_results(scalars, summary_images(summary), {"seeds": seed_table(summary)}, run=logger.run)
        logger.run.summary.update({"best": summary.best, "best_rule": summary.choice.rule if summary.choice else None})
        status = "success"
    finally:
        logger.finalize(status)


def seed_number(name: str, fallback: int) -> int:
    tail = name.removeprefix("seed-")
    return int(tail) if tail.isdigit() else fallback


def log_tensorboard(spec, summary) -> None:
    from hydra.utils import instantiate
    from matplotlib.image import imread

    logger = instantiate(spec, save_dir=str(summary.directory))
    writer = logger.experiment
    for step, (name, values) in enumerate(seed_scalars(summary).items()):
        for key, value in values.items():
            writer.add_scalar(key, value, global_step=seed_number(name, step))
    for key, (png, alt) in summary_images(summary).items():
        pixels = imread(png)[..., :3]
        writer.add_image(key, np.ascontiguousarray(pixels), dataformats="HWC")
        writer.add_text(f"{key}/alt", alt)
    markdown = summary.directory / SUMMARY_MD
    if markdown.is_file():
        writer.add_text("summary", markdown.read_text())
    logger.finalize("success")
