"""`excolor search`: an Optuna study whose trials are `--seeds` reduxes, its spec, its outputs, Ctrl-C and
--resume (tests/test_search_postgres.py: several workers sharing one study)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import excolor, interrupted_at_checkpoint
from ex_color.config import compose
from ex_color.errors import UserError
from ex_color.paths import resolve_dopesheet
from ex_color.schedule import load_dopesheet
from ex_color.search.dopesheet import scaled_dopesheet
from ex_color.search.spec import Constraint, SearchSpec, Statistic

FAST = ["experiment=smoke", "eval.hd={hues: 12, saturations: 4, values: 4}", "interventions=[none]"]


def spec_of(*overrides: str) -> SearchSpec:
    return SearchSpec.from_config(compose("run", ["experiment=smoke", *overrides]))


def test_smoke_ships_a_search_of_a_dopesheet_factor_and_a_config_key():
    spec = spec_of()
    assert [o.name for o in spec.objectives] == ["recon"] and spec.directions == ["minimize"]
    lr, hidden = spec.space
    assert (lr.column, lr.log, lr.low, lr.high) == ("lr", True, 0.5, 2.0)
    assert (hidden.key, hidden.type) == ("model.hidden", "int")
    assert spec.overrides({"lr": 1.5, "hidden": 12}) == ["model.hidden=12"]
    assert spec.factors({"lr": 1.5, "hidden": 12}) == {"lr": 1.5}


@pytest.mark.parametrize("experiment", ["ex-2.4.1", "ex-2.10.1"])
def test_the_reduxes_ship_a_search(experiment):
    spec = SearchSpec.from_config(compose("run", [f"experiment={experiment}"]))
    assert spec.objectives and spec.space and spec.constraints


def test_the_command_line_changes_any_part_of_the_space():
    spec = spec_of("search.space.hidden.high=32", "~search.space.lr", "search.objectives.recon.aggregate=mean")
    assert [(p.name, p.high) for p in spec.space] == [("hidden", 32.0)]
    assert spec.objectives[0].statistic == Statistic("recon", "mean")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["search.objectives.recon.metric=val/recno"], "search.objectives.recon.metric: unknown metric 'val/recno'"),
        (["search.objectives.recon.metric=val/recon"], "unknown metric 'val/recon'"),  # smoke validates nothing
        (["search.objectives.recon.metric=selectivity.ablation.delta_ratio"], "unknown metric"),
        (["search.objectives.recon.direction=up"], "search.objectives.recon.direction: expected maximize or minimize"),
        (["search.objectives.recon.aggregate=mode"], "search.objectives.recon.aggregate: expected one of"),
        (["search.objectives.recon.aggregate=quantile"], r"search.objectives.recon.q: the quantile"),
        (["~search.objectives.recon"], "search.objectives: none given"),
        (["~search.space.lr", "~search.space.hidden"], "search.space: empty"),
        (["search.space.hidden.low=20"], r"search.space.hidden: low \(20\) must be below high \(16\)"),
        (["search.space.lr.low=0"], "search.space.lr.low: a log scale needs low > 0"),
        (["search.space.hidden.type=integer"], "search.space.hidden.type: expected one of float, int, categorical"),
        (["search.space.hidden.key=model.hiden"], "search.space.hidden.key: 'model.hiden' is not a key"),
        (["search.space.hidden.low=8.5"], "search.space.hidden.low: expected an integer"),
        (["+search.space.x={key: seed, low: 0, high: 3}"], "search.space.x.key: 'seed' cannot be searched"),
        (["+search.space.x={key: model.hidden, type: categorical, choices: []}"], "search.space.x.choices"),
        (["+search.constraints.c={metric: recon}"], "search.constraints.c: give min, max or both"),
    ],
)
def test_bad_search_blocks_are_one_line_naming_the_key(overrides, message):
    with pytest.raises(UserError, match=message):
        spec_of(*overrides)


def test_a_statistic_aggregates_a_column_or_a_dotted_path_over_the_seeds():
    """The selectivity columns (issue 24, part 1) nest under seeds.<seed>.selectivity.<kind>; today's are flat."""
    summary = {
        "seeds": {
            f"seed-{k}": {
                "score": s,
                "val/recon": r,
                "selectivity": {"ablation": {"delta_ratio": d, "worst_far": {"name": "white", "delta": r / 10}}},
            }
            for k, (s, r, d) in enumerate([(0.9, 0.01, 100.0), (0.5, 0.03, None), (0.7, 0.02, 400.0), (0.1, 0.5, 10.0)])
        }
    }
    assert Statistic("score", "median").of(summary) == pytest.approx(0.6)
    assert Statistic("val/recon", "max").of(summary) == 0.5
    assert Statistic("selectivity.ablation.delta_ratio", "median").of(summary) == 100.0  # the null seed left out
    assert Statistic("score", "quantile", 0.25).of(summary) == pytest.approx(np.quantile([0.9, 0.5, 0.7, 0.1], 0.25))
    assert Statistic("val/anchor", "mean").of(summary) is None
    assert Statistic("selectivity.ablation.worst_far.delta", "max").of(summary) == pytest.approx(0.05)
    bound = Constraint("score", Statistic("score", "mean"), 0.75, None)
    assert bound.violation(0.8) < 0 < bound.violation(0.7) and bound.violation(None) == float("inf")


def test_a_dopesheet_column_and_the_steps_scale_by_their_factors(tmp_path):
    source = resolve_dopesheet("dopesheets/ex-2.10.1.csv")
    original = load_dopesheet(source)
    scaled = load_dopesheet(scaled_dopesheet(source, {"anchor": 2.0, "STEP": 0.5}, tmp_path / "d.csv"))
    assert scaled.length == pytest.approx(original.length / 2, abs=1)
    assert [v * 2 for _, v in original.properties["anchor"].keyframes] == pytest.approx(
        [v for _, v in scaled.properties["anchor"].keyframes]
    )
    assert [v for _, v in original.properties["lr"].keyframes] == [v for _, v in scaled.properties["lr"].keyframes]


@pytest.mark.parametrize(
    "args, message",
    [
        (["search.objectives.recon.metric=val/recno"], "unknown metric 'val/recno'"),
        (["~search.space.lr", "~search.space.hidden"], "search.space: empty"),
        (["search.space.lr.column=learning_rate"], "has no column 'learning_rate'"),
        (["--storage", "mysql://x/y"], "--storage mysql://x/y: expected a PostgreSQL URL"),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(tmp_path, args, message):
    result = excolor("search", "--trials", "2", "--seeds", "0-1", "experiment=smoke", *args, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_resume_of_a_directory_that_is_not_a_search_is_refused(smoke_run, tmp_path):
    before = sorted(p.name for p in smoke_run.rglob("*"))
    result = excolor("search", "--resume", str(smoke_run), cwd=tmp_path, check=False)
    assert result.returncode == 2 and "not a search directory (no search.yaml)" in result.stderr
    assert sorted(p.name for p in smoke_run.rglob("*")) == before and list(tmp_path.iterdir()) == []
    result = excolor("search", "--resume", "nowhere", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "--resume nowhere: no such directory" in result.stderr


def test_the_recipe_as_configured_is_tried_first_where_the_space_holds_it():
    cfg = compose("run", ["experiment=smoke"])
    params, message = spec_of().recipe(cfg)
    assert params == {"lr": 1.0, "hidden": 16} and "trial 0 is the recipe as configured" in message
    params, message = spec_of("search.space.hidden.low=4", "search.space.hidden.high=8").recipe(cfg)
    assert params is None and message.endswith("not tried first: hidden=16 is outside [4, 8]")
    params, message = spec_of("search.space.lr.low=2.0", "search.space.lr.high=4.0").recipe(cfg)
    assert params is None and "lr=1 is outside [2, 4]" in message
    categorical = spec_of(
        "~search.space.hidden", "+search.space.width={key: model.hidden, type: categorical, choices: [8, 12]}"
    )
    assert categorical.recipe(cfg)[0] is None and "width=16 is not among its choices" in categorical.recipe(cfg)[1]
    params, message = spec_of("+search.recipe_first=false").recipe(cfg)
    assert params is None and "search.recipe_first is false" in message
    with pytest.raises(UserError, match="search.recipe_first: expected true or false"):
        spec_of("+search.recipe_first=maybe")


def trial_statistic(trial_dir: Path, column: str, aggregate) -> float:
    seeds = json.loads((trial_dir / "summary.json").read_text())["seeds"]
    return float(aggregate([row[column] for row in seeds.values()]))


@pytest.mark.slow
def test_a_search_runs_its_trials_as_reduxes_and_reports_the_best(tmp_path):
    """Two objectives (a Pareto front) and a constraint; each trial's values are the statistics of its own
    summary.json, the best trial is on the feasible front, and its command line reproduces it."""
    result = excolor(
        "search", "--trials", "3", "--seeds", "0-1", "--dir", "s", *FAST,
        "+search.objectives.worst={metric: recon, aggregate: max, direction: minimize}",
        "+search.constraints.bounded={metric: recon, aggregate: max, max: 1.0}",
        cwd=tmp_path,
    )  # fmt: skip
    directory = tmp_path / "s"
    data = json.loads((directory / "search.json").read_text())
    assert [t["state"] for t in data["trials"]] == ["COMPLETE"] * 3
    recipe = data["trials"][0]  # the experiment as configured comes first: the best is never below it
    assert recipe["recipe"] is True and recipe["params"] == {"lr": 1.0, "hidden": 16}
    assert "trial 0 is the recipe as configured" in result.stderr
    assert not any(t.get("recipe") for t in data["trials"][1:])
    excolor("run", "--seeds", "0-1", *FAST, "hydra.run.dir=plain", cwd=tmp_path)
    for column in ("recon", "labels/n_total"):
        assert trial_statistic(directory / "trial-0", column, np.median) == trial_statistic(
            tmp_path / "plain", column, np.median
        )
    for trial in data["trials"]:
        trial_dir = directory / trial["directory"]
        assert sorted(p.name for p in trial_dir.glob("seed-*")) == ["seed-0", "seed-1"]
        assert trial["values"]["recon"] == pytest.approx(trial_statistic(trial_dir, "recon", np.median))
        assert trial["values"]["worst"] == pytest.approx(trial_statistic(trial_dir, "recon", np.max))
        assert trial["feasible"] is True
        sheet = load_dopesheet(trial_dir / "dopesheet.csv")  # the lr column scaled by the trial's factor
        base = load_dopesheet(resolve_dopesheet("dopesheets/smoke.csv"))
        assert [v * trial["params"]["lr"] for _, v in base.properties["lr"].keyframes] == pytest.approx(
            [v for _, v in sheet.properties["lr"].keyframes], rel=1e-5
        )
        config = (trial_dir / "seed-0" / ".hydra" / "config.yaml").read_text()
        assert f"hidden: {trial['params']['hidden']}" in config
    front = data["pareto_front"]
    values = {t["number"]: (t["values"]["recon"], t["values"]["worst"]) for t in data["trials"]}
    for number in front:  # no trial dominates a front member; every other trial is dominated
        assert not any(all(o <= v for o, v in zip(other, values[number])) and other != values[number]
                       for other in values.values())  # fmt: skip
    assert data["best"]["number"] == min(front, key=lambda n: values[n][0])
    names = sorted(p.name for p in (directory / "figures").glob("*.png"))
    assert names == [
        "optimisation-history-recon.png", "optimisation-history-worst.png", "parameter-importances-recon.png",
        "parameter-importances-worst.png", "pareto-front.png",
    ]  # fmt: skip
    markdown = (directory / "search.md").read_text()
    assert data["best"]["command"] in markdown and "figures/pareto-front.png" in markdown
    assert data["best"]["command"] in result.stdout and result.stdout.strip().endswith("search directory: s")

    # The printed command is an ordinary redux of the same recipe: the same numbers.
    command = shlex.split(data["best"]["command"])
    assert command[:2] == ["excolor", "run"]
    rerun = excolor(*command[1:], "hydra.run.dir=again", cwd=tmp_path)
    assert rerun.stdout.strip().endswith("/again")
    best_dir = directory / data["best"]["directory"]
    assert trial_statistic(tmp_path / "again", "recon", np.median) == trial_statistic(best_dir, "recon", np.median)

    # A second search into the same directory is refused; --resume to more trials continues it.
    again = excolor("search", "--trials", "3", "--seeds", "0-1", "--dir", "s", *FAST, cwd=tmp_path, check=False)
    assert again.returncode == 2 and "already a search; continue it with: excolor search --resume s" in again.stderr


@pytest.mark.slow
def test_ctrl_c_keeps_finished_trials_and_resume_completes_the_study(tmp_path):
    """A real SIGINT in the second trial: the first is kept, the second marked failed and queued again;
    --resume runs it afresh and stops at N trials, none left RUNNING."""
    checkpoint = tmp_path / "s" / "trial-1" / "seed-0" / "checkpoints" / "last.ckpt"
    args = ["search", "--trials", "3", "--seeds", "0-1", "--dir", "s", *FAST]
    stderr = interrupted_at_checkpoint(args, tmp_path, checkpoint, run_dir=None, wait=600)
    assert "continue with: excolor search --resume s" in stderr.strip().splitlines()[-1]
    assert "the study's 1 finished trial is kept (1 run here)" in stderr
    data = json.loads((tmp_path / "s" / "search.json").read_text())
    states = [(t["number"], t["state"], t.get("interrupted", False)) for t in data["trials"]]
    assert states[:2] == [(0, "COMPLETE", False), (1, "FAIL", True)]
    interrupted = data["trials"][1]["params"]

    resumed = excolor("search", "--resume", "s", cwd=tmp_path)
    assert "3 trials run here" not in resumed.stdout
    data = json.loads((tmp_path / "s" / "search.json").read_text())
    states = [t["state"] for t in data["trials"]]
    assert states.count("COMPLETE") == 3 and "RUNNING" not in states and "WAITING" not in states
    retry = next(t for t in data["trials"] if t.get("retry_of") == 1)
    assert retry["state"] == "COMPLETE" and retry["params"] == interrupted
    fresh = [t["params"] for t in data["trials"] if t["number"] > retry["number"]]
    assert fresh and interrupted not in fresh  # the resumed sampler does not replay the first session's points
    assert (tmp_path / "s" / "trial-1").is_dir()  # the interrupted trial's directory is kept
    assert excolor("search", "--resume", "s", cwd=tmp_path).stdout.startswith("0 trials run here")


def test_the_cli_is_importable_without_optuna_loaded():
    """`excolor --help` answers instantly: the search command imports Optuna only when it runs."""
    code = "import sys, ex_color.cli; assert 'optuna' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
