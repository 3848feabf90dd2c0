"""The experiment's score and the multi-seed (redux) procedure: every seed scored, the best evaluated in
full, summary.md / summary.json / figures across the seeds (later-experiments §0.8, §0.9)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import excolor
from ex_color.data.cubes import ColorCube, rgb_to_hsv
from ex_color.errors import UserError
from ex_color.evaluation.score import ScoreSettings
from ex_color.evaluation.similarity import hsv_similarity
from ex_color.reports.redux import ReduxSettings, dominates, pareto_front

SCORE = "score={plan: [suppression], grid: 8, power: 2}"


def test_a_score_is_r2_of_the_planned_error_against_similarity(smoke_run, tmp_path):
    """score.json's number equals R² computed independently, from `excolor infer --kind suppression` on the
    same 8³ grid."""
    from ex_color.config import compose
    from ex_color.domains.color import ColorDomain
    from ex_color.tasks.run import score_plan

    cfg = compose("run", ["experiment=smoke", SCORE])
    ColorDomain().score_runs([smoke_run], score_plan(cfg))
    record = json.loads((smoke_run / "score.json").read_text())

    grid = ColorCube.rgb_grid(8).flat_rgb()
    np.save(tmp_path / "grid.npy", grid)
    excolor(
        "infer", "--run", str(smoke_run), "--kind", "suppression", "--input", "grid.npy", "--output", "out.npz",
        cwd=tmp_path,
    )  # fmt: skip
    outputs = np.load(tmp_path / "out.npz")["outputs"]
    error = ((outputs - grid) ** 2).mean(axis=1)
    similarity = hsv_similarity(rgb_to_hsv(grid), np.array([0.0, 1.0, 1.0])) ** 2
    r = np.corrcoef(similarity, error)[0, 1]
    assert record["score"] == pytest.approx(r * r, rel=1e-5)
    assert record["r"] == pytest.approx(r, rel=1e-5)
    assert record["settings"]["plan"] == ["suppression"] and record["label"] == "R² of error vs similarity^2"


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"plans": ["suppression"]}, "score.plans: unknown key"),
        ({"against": "hue"}, r"score.against: expected one of similarity, vibrancy \(got 'hue'\)"),
        ({"power": -1}, "score.power must be a positive number"),
        ({"grid": 1}, "score.grid must be an integer ≥ 2"),
        ({"colour": "mauve"}, "score.colour: unknown colour 'mauve'"),
        ({"mode": "hemi"}, r"score.mode: expected one of .* \(got 'hemi'\)"),
        ({"plan": "suppression", "colour": [0, 2, 1]}, r"score.colour: expected a named colour or \[h, s, v\]"),
    ],
)
def test_score_settings_refuse_bad_values_by_key(spec, message):
    with pytest.raises(UserError, match=message):
        ScoreSettings.from_config(spec)


def test_a_plan_naming_no_intervention_is_one_line_before_training(tmp_path):
    result = excolor("run", "experiment=smoke", "score={plan: [supression]}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if "score.plan" in line and "supression" in line
    ]
    assert not (tmp_path / "outputs").exists()
    result = excolor("run", "--seeds", "0-1", "experiment=smoke", "redux.evaluate=some", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "redux.evaluate: expected one of best, all" in result.stderr
    result = excolor("run", "experiment=smoke", "--evaluate", "all", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "--evaluate" in result.stderr and "--seeds" in result.stderr


def test_pareto_front_keeps_the_undominated_seeds_highest_score_first():
    rows = {
        "seed-0": {"score": 0.9, "val/recon": 0.02},
        "seed-1": {"score": 0.5, "val/recon": 0.01},
        "seed-2": {"score": 0.4, "val/recon": 0.03},  # dominated by both
        "seed-3": {"score": 0.9, "val/recon": 0.02},  # ties with seed-0: neither dominates
        "seed-4": {"score": float("nan"), "val/recon": 0.001},  # no score: left out
    }
    assert not dominates(rows["seed-0"], rows["seed-3"], ["val/recon"], ["score"])
    assert dominates(rows["seed-1"], rows["seed-2"], ["val/recon"], ["score"])
    assert pareto_front(rows, ["val/recon"], ["score"]) == ["seed-0", "seed-3", "seed-1"]


def test_redux_settings_name_their_keys():
    assert ReduxSettings.from_config({"evaluate": "all", "minimise": "val/recon"}).minimise == ("val/recon",)
    with pytest.raises(UserError, match="redux.maximize: unknown key"):
        ReduxSettings.from_config({"maximize": ["score"]})


@pytest.mark.slow
def test_the_redux_scores_every_seed_and_evaluates_the_best(tmp_path):
    result = excolor(
        "run", "--seeds", "0-2", "experiment=smoke", "interventions=[none,suppression]", SCORE,
        "hydra.run.dir=redux", cwd=tmp_path,
    )  # fmt: skip
    root = tmp_path / "redux"
    summary = json.loads((root / "summary.json").read_text())
    scores = {name: row["score"] for name, row in summary["seeds"].items()}
    assert set(scores) == {"seed-0", "seed-1", "seed-2"}
    for name, score in scores.items():
        assert json.loads((root / name / "score.json").read_text())["score"] == pytest.approx(score)
    best = max(scores, key=scores.get)
    assert summary["best"] == best and summary["evaluated"] == [best]
    assert f"best seed by score: {best}" in result.stderr
    assert summary["columns"]["score"]["max"] == pytest.approx(scores[best])
    assert summary["columns"]["score"]["std"] == pytest.approx(np.std(list(scores.values()), ddof=1))
    for name in scores:  # only the best is evaluated in full
        assert (root / name / "report.md").is_file() == (name == best)
        assert (root / name / "interventions" / "suppression" / "metrics.json").is_file() == (name == best)
    assert (root / "figures" / "box-plots.png").is_file() and (root / "figures" / "box-plots.txt").is_file()
    markdown = (root / "summary.md").read_text()
    assert markdown.startswith("# smoke: 3 seeds")
    assert f"**Best seed: [{best} ★]({best}/report.md)**" in markdown
    assert "](figures/box-plots.png)" in markdown and "Δ suppression" in markdown and "delta ratio" in markdown

    report = excolor("report", "redux", cwd=tmp_path).stdout
    assert f"Best run by score (higher is better): {best}" in report

    # every seed, with --evaluate all; the same training gives the same scores
    excolor(
        "run", "--seeds", "0-2", "--evaluate", "all", "experiment=smoke", "interventions=[none,suppression]", SCORE,
        "hydra.run.dir=all", cwd=tmp_path,
    )  # fmt: skip
    again = json.loads((tmp_path / "all" / "summary.json").read_text())
    assert again["seeds"] == summary["seeds"] and sorted(again["evaluated"]) == sorted(scores)
    for name in scores:
        assert (tmp_path / "all" / name / "report.md").is_file()
