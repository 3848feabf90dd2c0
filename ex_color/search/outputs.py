"""What a search leaves beside its trials: search.json, search.md, figures/ (Optuna's matplotlib plots: the
optimisation history and the parameter importances of each objective, and the Pareto front of a study with
two objectives or more) and the best trial as an `excolor run` command line.

The best trial: among the complete trials that meet every constraint, those no other dominates (the Pareto
front; one trial for a single objective), the best by the first objective."""

from __future__ import annotations

import json
import math
import shlex
import warnings
from pathlib import Path
from typing import Any

from ex_color import runs
from ex_color.reports.render import TextTable, escape, image, number
from ex_color.search.study import SearchRecord, feasible_front, trial_record

SEARCH_JSON = "search.json"
SEARCH_MD = "search.md"
FIGURES = "figures"


def finite(value: Any) -> Any:
    """JSON without NaN or infinities (null instead), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def best_command(record: SearchRecord, trial) -> str:
    """`excolor run --seeds ... <the search's overrides> <the trial's>`: the trial again, as an ordinary run."""
    seeds = record.seeds
    text = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ",".join(map(str, seeds))
    overrides = trial.user_attrs.get("overrides") or record.overrides
    return shlex.join(["excolor", "run", "--seeds", text, *overrides])


def search_json(study, spec, record: SearchRecord, directory: Path) -> dict[str, Any]:
    front = feasible_front(study, spec)
    trials = [trial_record(t, spec) for t in study.get_trials(deepcopy=False)]
    best = front[0] if front else None
    return finite(
        {
            "study": record.study,
            "storage": record.storage or str(directory / "study.db"),
            "trials_asked": record.trials,
            "seeds": record.seeds,
            "overrides": record.overrides,
            "objectives": [
                {"name": o.name, "statistic": o.statistic.label(), "direction": o.direction} for o in spec.objectives
            ],
            "constraints": [{"name": c.name, "bound": c.label()} for c in spec.constraints],
            "space": {p.name: p.target() for p in spec.space},
            "best": None if best is None else {**trial_record(best, spec), "command": best_command(record, best)},
            "pareto_front": [t.number for t in front],
            "trials": trials,
        }
    )


def markdown(data: dict[str, Any], figures: list[Path], directory: Path) -> str:
    objectives = data["objectives"]
    names = [o["name"] for o in objectives]
    parts = [f"# Search {escape(data['study'])}: {len(data['trials'])} trials of {data['trials_asked']}\n"]
    parts.append(
        f"Each trial: an `excolor run --seeds` redux over seeds {escape(str(data['seeds']))}, `trial-<k>/`. "
        "Objectives: "
        + "; ".join(f"{o['direction']} {escape(o['statistic'])} (`{o['name']}`)" for o in objectives)
        + ". Constraints: "
        + ("; ".join(escape(c["bound"]) for c in data["constraints"]) or "none")
        + ".\n"
    )
    best = data["best"]
    if best is not None:
        values = ", ".join(f"{n} {number(best['values'][n])}" for n in names)
        parts.append(f"**Best trial: [{best['number']}](trial-{best['number']}/summary.md)**, {values}.\n")
        parts.append("```\n" + best["command"] + "\n```\n")
    else:
        parts.append("**No complete trial meets the constraints yet.**\n")
    front = set(data["pareto_front"])
    params = list(data["space"])
    rows = []
    for t in data["trials"]:
        label = (
            f"[{t['number']}](trial-{t['number']}/summary.md)"
            if (directory / t["directory"] / "summary.md").is_file()
            else str(t["number"])
        )
        values = t["values"] or {}
        rows.append(
            [
                label + (" ★" if t["number"] in front else "") + (" (the recipe)" if t.get("recipe") else ""),
                t["state"].lower() + (" (interrupted)" if t.get("interrupted") else ""),
                *(number(values.get(n)) for n in names),
                "–" if t["feasible"] is None else ("yes" if t["feasible"] else "no"),
                *(number(t["params"].get(p)) for p in params),
                number(t["seconds"]),
            ]
        )
    parts.append(
        TextTable(
            "Trials",
            ["trial", "state", *[f"`{n}`" for n in names], "feasible", *[f"`{p}`" for p in params], "seconds"],
            rows,
            note="★: on the Pareto front of the feasible trials (a single objective: the best); the recipe: the "
            "experiment as configured, tried first. Parameters: "
            + "; ".join(f"`{p}`: {escape(target)}" for p, target in data["space"].items())
            + ".",
        ).markdown("##")
    )
    for path in figures:
        alt_file = path.with_suffix(".txt")
        alt = alt_file.read_text().strip() if alt_file.is_file() else path.stem
        parts.append(f"## {path.stem.replace('-', ' ').capitalize()}\n\n" + image(alt, f"{FIGURES}/{path.name}") + "\n")
    return "\n".join(parts)


def fitted(axes, trials_on_x: bool = False):
    """Optuna's figure, wide enough for its long labels, laid out to keep them all on the page, its legend
    inside the axes; `trials_on_x`: the x axis counts trials, so its ticks are whole numbers."""
    from matplotlib.ticker import MaxNLocator

    figure = axes.figure
    figure.set_size_inches(10, 5)
    legend = axes.get_legend()
    if legend is not None:
        legend.set_bbox_to_anchor(None)  # Optuna anchors it outside the axes, on the right
        legend.set_loc("best")
    if trials_on_x:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    return figure


def draw_figures(study, spec, directory: Path) -> list[Path]:
    """Optuna's matplotlib plots into figures/; a plot that needs more trials than there are is left out."""
    import matplotlib

    matplotlib.use("Agg")
    import optuna
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as plots

    from ex_color.plots.io import save_figure

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    written = []
    multi = len(spec.objectives) > 1
    for index, objective in enumerate(spec.objectives):
        suffix = f"-{objective.name}" if multi else ""
        label = f"{objective.statistic.label()} ({objective.direction})"

        def target(t, i=index):
            return t.values[i]

        if complete:
            axes = plots.plot_optimization_history(study, target=target if multi else None, target_name=label)
            written.append(
                save_figure(
                    fitted(axes, trials_on_x=True),
                    directory / FIGURES / f"optimisation-history{suffix}",
                    f"Optimisation history: {label} of each of {len(complete)} complete trials, and the best so far.",
                )
            )
        if len(complete) >= 2 and len(spec.space) >= 1:
            try:
                axes = plots.plot_param_importances(
                    study,
                    evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
                    target=target if multi else None,
                    target_name=label,
                )
            except (RuntimeError, ValueError):  # too few distinct trials to judge
                continue
            written.append(
                save_figure(
                    fitted(axes),
                    directory / FIGURES / f"parameter-importances{suffix}",
                    f"Parameter importances (PED-ANOVA) for {label} over {len(complete)} complete trials.",
                )
            )
    if multi and complete:
        names = [f"{o.name} ({o.direction})" for o in spec.objectives[:3]]
        axes = plots.plot_pareto_front(
            study,
            target_names=names,
            targets=(lambda t: t.values[:3]) if len(spec.objectives) > 3 else None,
            constraints_func=(lambda t: t.user_attrs.get("constraints", [])) if spec.constraints else None,
        )
        written.append(
            save_figure(
                fitted(axes),
                directory / FIGURES / "pareto-front",
                f"Pareto front of {len(complete)} complete trials over {', '.join(names)}.",
            )
        )
    return written


def write_outputs(study, spec, record: SearchRecord, directory: Path, figures: bool = True) -> dict[str, Any]:
    """search.json and search.md (and, with `figures`, the plots first); returns search.json's data."""
    drawn = draw_figures(study, spec, directory) if figures else sorted((directory / FIGURES).glob("*.png"))
    data = search_json(study, spec, record, directory)
    runs.atomic_write_text(directory / SEARCH_JSON, json.dumps(data, indent=2) + "\n")
    runs.atomic_write_text(directory / SEARCH_MD, markdown(data, drawn, directory))
    return data
