"""Per-seed selectivity in every redux (selectivity.json, summary.json's `seeds.<seed>.selectivity`), the rule
that picks the best seed (`redux.best`), and both in summary.md and the best seed's report.md."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import excolor
from ex_color.errors import UserError
from ex_color.reports.redux import ReduxSettings
from ex_color.reports.render import number
from ex_color.reports.redux_choice import choose, mean_ranks

SCORE = "score={plan: [suppression], grid: 8, power: 2}"
ROWS = {
    "seed-0": {"score": 0.9, "val/recon": 0.020, "selectivity.ablation.delta_ratio": 100.0},
    "seed-1": {"score": 0.5, "val/recon": 0.010, "selectivity.ablation.delta_ratio": 900.0},
    "seed-2": {"score": 0.7, "val/recon": 0.012, "selectivity.ablation.delta_ratio": 500.0},
    "seed-3": {"score": 0.4, "val/recon": 0.030, "selectivity.ablation.delta_ratio": 50.0},  # dominated
}


def test_the_score_rule_takes_the_highest_score_on_the_front():
    choice = choose("score", ROWS, ["seed-0", "seed-2", "seed-1"], ["val/recon"], ["score"], "R²")
    assert (choice.seed, choice.text) == ("seed-0", "the highest score (R²) on the Pareto front")
    assert choose("score", ROWS, [], [], []).seed == "seed-0"  # no front: the highest overall


def test_a_column_rule_takes_its_best_value_in_the_column_s_direction():
    assert choose("selectivity.ablation.delta_ratio", ROWS, [], [], []).seed == "seed-1"
    assert choose("val/recon", ROWS, [], [], []).seed == "seed-1"  # lower is better
    assert choose("selectivity.ablation.delta_ratio", ROWS, [], ["selectivity.ablation.delta_ratio"], []).seed == (
        "seed-3"
    )  # minimised when the front minimises it
    with pytest.raises(UserError, match="redux.best: no seed has a column 'val/recn'"):
        choose("val/recn", ROWS, [], [], [])


def test_the_pareto_rule_takes_the_front_member_with_the_best_median_rank():
    maximise, minimise = ["score", "selectivity.ablation.delta_ratio"], ["val/recon"]
    # ranks (1 = best): score 0:1 2:2 1:3 3:4; delta ratio 1:1 2:2 0:3 3:4; recon 1:1 2:2 0:3 3:4; medians: 1 for
    # seed-1, 2 for seed-2, 3 for seed-0 (the highest score)
    choice = choose("pareto", ROWS, ["seed-0", "seed-2", "seed-1"], minimise, maximise)
    assert choice.seed == "seed-1" and choice.text.startswith("the best median rank (here 1 of 4)")
    assert choose("pareto", ROWS, ["seed-0", "seed-2"], minimise, maximise).seed == "seed-2"  # of the front only
    assert mean_ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]


def test_redux_settings_refuse_unknown_selectivity_columns_by_key():
    kinds = ["suppression", "ablation"]
    ReduxSettings.from_config({"maximise": ["score", "selectivity.ablation.delta_ratio"]}).check(kinds)
    with pytest.raises(UserError, match=r"redux.maximise: 'selectivity.ablaton.delta_ratio' names no intervention"):
        ReduxSettings.from_config({"maximise": ["selectivity.ablaton.delta_ratio"]}).check(kinds)
    with pytest.raises(UserError, match=r"redux.best: 'selectivity.ablation.ratio': unknown selectivity field"):
        ReduxSettings.from_config({"best": "selectivity.ablation.ratio"}).check(kinds)
    with pytest.raises(UserError, match="redux.best: pareto needs a Pareto front"):
        ReduxSettings.from_config({"best": "pareto", "maximise": [], "minimise": []}).check(kinds)
    with pytest.raises(UserError, match="redux.best: expected score, pareto or a summary column"):
        ReduxSettings.from_config({"best": 3})


def test_a_misspelt_selectivity_column_is_one_line_before_training(tmp_path):
    result = excolor(
        "run", "--seeds", "0-1", "experiment=smoke", "redux.best=selectivity.supression.delta_ratio", cwd=tmp_path,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "excolor: error: redux.best: 'selectivity.supression.delta_ratio' names no intervention of the experiment's "
        "`interventions`; kinds: suppression, repulsion"
    ]
    assert not (tmp_path / "outputs").exists()
    result = excolor("run", "--seeds", "0-1", "experiment=smoke", "redux.best=val/recn", cwd=tmp_path, check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "redux.best: the seeds will have no column 'val/recn'; columns: recon, selectivity.suppression" in (
        result.stderr
    )
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_every_seed_s_selectivity_agrees_with_the_best_seed_s_full_evaluation(tmp_path):
    """Three smoke seeds, the best by its suppression delta ratio: summary.json has every seed's selectivity,
    and the evaluated seed's metrics.json (the full probe) and report.md say the same, exactly."""
    excolor(
        "run", "--seeds", "0-2", "experiment=smoke", "interventions=[none,suppression,ablation]", SCORE,
        "redux.best=selectivity.suppression.delta_ratio", "redux.maximise=[score,selectivity.ablation.delta_ratio]",
        "hydra.run.dir=redux", cwd=tmp_path,
    )  # fmt: skip
    root = tmp_path / "redux"
    summary = json.loads((root / "summary.json").read_text())
    seeds = summary["seeds"]
    assert set(seeds) == {"seed-0", "seed-1", "seed-2"}
    for name, row in seeds.items():
        assert set(row["selectivity"]) == {"suppression", "ablation"}
        for record in row["selectivity"].values():
            assert set(record) == {"delta_ratio", "target_delta", "target_color", "worst_far", "error_ratio"}
            assert set(record["worst_far"]) == {"name", "delta"}
    ratios = {name: row["selectivity"]["suppression"]["delta_ratio"] for name, row in seeds.items()}
    best = max(ratios, key=ratios.get)
    assert summary["best"] == best and summary["evaluated"] == [best]
    assert summary["best_rule"]["rule"] == "selectivity.suppression.delta_ratio"
    assert summary["pareto"]["maximise"] == ["score", "selectivity.ablation.delta_ratio"]

    for kind in ("suppression", "ablation"):
        full = json.loads((root / best / "interventions" / kind / "metrics.json").read_text())["selectivity"]
        mine = seeds[best]["selectivity"][kind]
        assert mine["delta_ratio"] == full["delta_ratio"]
        assert mine["target_delta"] == full["target_delta"]
        assert mine["worst_far"] == {"name": full["largest_far_delta_color"], "delta": full["largest_far_delta"]}
        assert mine["error_ratio"] == pytest.approx(full["error_ratio"], rel=1e-9)  # smoke: HD cube = error cube

    spread = summary["selectivity"]["suppression"]["delta_ratio"]
    values = list(ratios.values())
    assert spread["median"] == pytest.approx(np.median(values)) and spread["max"] == pytest.approx(max(values))
    assert spread["q1"] == pytest.approx(np.percentile(values, 25)) and spread["n"] == 3

    markdown = (root / "summary.md").read_text()
    assert "Chosen by `redux.best: selectivity.suppression.delta_ratio`: the highest" in markdown
    assert "## Selectivity across the 3 seeds" in markdown
    report = (root / best / "report.md").read_text()
    for kind in ("suppression", "ablation"):  # the numbers a reader sees, in both files
        shown = number(seeds[best]["selectivity"][kind]["delta_ratio"])
        assert f"| {shown} |" in report and f"| {shown} |" in markdown
    assert "**The best of 3 seeds** by `redux.best: selectivity.suppression.delta_ratio`" in report
    assert "selectivity.suppression.delta_ratio" in (root / "figures" / "box-plots.txt").read_text()
    assert json.loads((root / best / "best.json").read_text())["rule"] == "selectivity.suppression.delta_ratio"
    assert [p.parent.name for p in root.glob("seed-*/best.json")] == [best]

    printed = excolor("report", "redux", "--best", "selectivity.ablation.delta_ratio", cwd=tmp_path).stdout
    ablation = {name: row["selectivity"]["ablation"]["delta_ratio"] for name, row in seeds.items()}
    assert f"Best run by selectivity.ablation.delta_ratio (higher is better): {max(ablation, key=ablation.get)}" in (
        " ".join(printed.split())
    )

    # the same seeds summarised under the Pareto rule: the front member with the best median rank
    from ex_color.reports.redux import summarise

    again = summarise(root, ReduxSettings(maximise=("score", "selectivity.ablation.delta_ratio"), best="pareto"))
    columns = ("score", "selectivity.ablation.delta_ratio")
    ranks = {n: [sorted((-again.rows[m][c] for m in again.rows)).index(-again.rows[n][c]) + 1 for c in columns]
             for n in again.rows}  # fmt: skip
    medians = {n: float(np.median(ranks[n])) for n in again.front}
    assert again.best in again.front and medians[again.best] == min(medians.values())
    assert all(math.isfinite(again.rows[n]["score"]) for n in again.front)
    from ex_color.reports.redux_choice import mark_best  # the mark moves with the choice

    stale = mark_best(root, again.choice, len(again.rows))
    assert [p.parent.name for p in root.glob("seed-*/best.json")] == [again.best]
    assert stale == ([] if again.best == best else [root / best])


@pytest.mark.parametrize(
    "kind, overrides",
    [
        ("suppression", []),
        ("repulsion", ["+concepts.axis1=[0,1,0,0]", "intervention.concept=axis1"]),  # hue from the latents
        ("ablation", []),
    ],
)
def test_the_small_probe_gives_the_full_evaluation_s_numbers(smoke_run, kind, overrides):
    """The redux's per-seed pass and `RunEvaluation` (the full probe, as `excolor intervene`) agree exactly on
    the delta ratio, its parts and the target hue, also when the hue is found from the baseline's latents."""
    from ex_color import runs
    from ex_color.builders import build_intervention
    from ex_color.config import compose_intervention
    from ex_color.evaluation.measure import RunEvaluation
    from ex_color.evaluation.seed_selectivity import SelectivityProbe, build_interventions, measure_model

    evaluation = RunEvaluation(smoke_run)
    icfg = compose_intervention(kind, overrides, evaluation.config)
    full = evaluation.measure(build_intervention(icfg.intervention, icfg.concepts, evaluation.model)).metrics
    model = runs.load_model(smoke_run)
    (record,) = measure_model(model, build_interventions({kind: icfg}, model), SelectivityProbe((48, 12, 12))).values()
    assert record["target_color"] == full.selectivity.target_color
    assert record["delta_ratio"] == full.selectivity.delta_ratio
    assert record["worst_far"] == {"name": full.selectivity.largest_far_delta_color,
                                   "delta": full.selectivity.largest_far_delta}  # fmt: skip
    # smoke's HD cube is the redux's 48×12×12 error cube: the same colours, though a float32 pass over another
    # batch may round a colour's last bit differently
    assert record["error_ratio"] == pytest.approx(full.selectivity.error_ratio, rel=1e-9)
    if kind == "repulsion":
        assert full.selectivity.target_color != "red"  # the latents' hue, not the named colour's
