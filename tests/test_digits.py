"""The digits domain (`data=digits`): data, split, batches, the hinge, selectivity, and real end-to-end runs
(train, intervene, report, infer, the redux in miniature) through the CLI on short schedules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import excolor, one_line_error
from ex_color.builders import build_batches, build_model, build_validation
from ex_color.config import compose
from ex_color.data.digits import PIXELS, digits_settings, load, split
from ex_color.errors import UserError
from ex_color.evaluation.digits import FLOOR, ClassSelectivity
from ex_color.losses import AxisHinge

SMOKE = "dopesheet=dopesheets/digits-smoke.csv"  # 200 steps, columns for both experiments' terms
LENIENT = "dopesheet_unknown_columns=warn"


def test_the_data_is_scaled_and_the_split_fixed_and_stratified():
    pixels, digits = load()
    assert pixels.shape == (1797, PIXELS) and pixels.min() == 0 and pixels.max() == 1
    train, held = split(0.2, 0)
    assert len(np.intersect1d(train, held)) == 0 and len(train) + len(held) == 1797
    assert np.array_equal(held, split(0.2, 0)[1])  # fixed by split_seed
    assert not np.array_equal(held, split(0.2, 1)[1])
    for digit in range(10):
        members = np.sum(digits == digit)
        assert abs(np.sum(digits[held] == digit) - 0.2 * members) <= 0.5


def test_batches_are_a_function_of_seed_and_block_with_sparse_exact_labels():
    cfg = compose("train", ["experiment=ex-3.2"])
    first, again, other = build_batches(cfg, 0), build_batches(cfg, 0), build_batches(cfg, 1)
    pixels, labels = first.block(3)
    assert pixels.shape == (256, 128, 64) and labels.shape == (256, 128, 2)
    assert torch.equal(pixels, again.block(3)[0]) and torch.equal(labels, again.block(3)[1])
    assert not torch.equal(pixels, other.block(3)[0])
    step_pixels, step_labels = first.batch(3 * 256 + 17)  # a resumed run regenerates any step's batch
    assert torch.equal(step_pixels, pixels[17]) and torch.equal(step_labels, labels[17])
    # Labels are exact where given: a `three` label only on images of a 3.
    all_pixels, all_digits = load()
    lookup = {tuple(p): d for p, d in zip(all_pixels.round(4).tolist(), all_digits.tolist())}
    flat, flat_labels = pixels.reshape(-1, 64)[:2000], labels.reshape(-1, 2)[:2000]
    drawn = np.array([lookup[tuple(p)] for p in flat.numpy().round(4).tolist()])
    assert np.all(flat_labels[:, 0].numpy()[drawn != 3] == 0) and np.all(flat_labels[:, 1].numpy()[drawn == 3] == 0)
    carried = labels.sum(-1).clamp(max=1).mean().item()
    assert 0.08 < carried < 0.12  # data.labelled: 0.1
    full = build_batches(compose("train", ["experiment=ex-3.2", "data.labelled=1.0"]), 0).block(0)[1]
    assert torch.all(full.sum(-1) == 1)


def test_validation_holds_the_held_out_images_with_exact_labels():
    validation = build_validation(compose("train", ["experiment=ex-3.2"]))
    assert validation.rgb.shape == (359, 64) and validation.every == 250
    assert torch.all(validation.labels.sum(-1) == 1)


@pytest.mark.parametrize(
    "data,message",
    [
        ({"kind": "digits", "batch_size": 8, "labelled": 1.5}, "data.labelled must be a number in [0, 1]"),
        ({"kind": "digits", "batch_size": 8, "labels": {"three": [13]}}, "data.labels.three: expected a list"),
        ({"kind": "digits", "batch_size": 8, "grid": 4}, "data.grid: unknown key for data digits"),
        ({"kind": "digits", "batch_size": 8, "validation_fraction": 1}, "data.validation_fraction must be"),
        ({"kind": "digits", "batch_size": 8, "concept": 10}, "data.concept: a digit 0-9"),
    ],
)
def test_digits_settings_name_the_key_of_a_mistake(data, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        digits_settings(data)


def test_the_model_is_64_wide_with_the_latent_hook():
    model = build_model(compose("train", ["experiment=ex-3.2"]).model)
    seen = []
    model.latent.register_forward_hook(lambda m, i, o: seen.append(o))
    out = model.eval()(torch.rand(5, 64))
    assert out.shape == (5, 64) and seen[0].shape == (5, 8)
    assert torch.allclose(seen[0].norm(dim=-1), torch.ones(5))  # explicit normalisation


def test_the_hinge_charges_only_below_its_margin():
    z = torch.tensor([[1.0, 0.0], [0.7, 0.3], [0.2, 0.9], [-0.5, 0.0]])
    assert torch.allclose(AxisHinge(0, 0.7)(z), torch.tensor([0.0, 0.0, 0.25, 1.44]))
    assert AxisHinge(0, 0.7).for_width(2) == AxisHinge(0, 0.7)
    with pytest.raises(ValueError, match="past the layer's width"):
        AxisHinge(3).for_width(2)


def test_selectivity_floors_tiny_denominators():
    deltas = np.full(10, 1e-6)
    deltas[3], deltas[8] = 0.03, 0.002
    s = ClassSelectivity.of(deltas, 3)
    assert s.ratio_median == pytest.approx(0.03 / FLOOR) and s.ratio_max == pytest.approx(0.03 / 0.002)
    assert s.max_other_digit == 8 and s.median_other == pytest.approx(1e-6)


@pytest.mark.slow
def test_a_digits_run_end_to_end_then_infer(tmp_path):
    run = tmp_path / "run"
    excolor("run", "experiment=ex-3.2", SMOKE, LENIENT, f"hydra.run.dir={run}", cwd=tmp_path)
    for kind in ("none", "ablation", "prune"):
        metrics = json.loads((run / "interventions" / kind / "class-metrics.json").read_text())
        assert len(metrics["baseline"]) == 10 and metrics["images"] == 359
    ablation = json.loads((run / "interventions" / "ablation" / "class-metrics.json").read_text())
    assert ablation["selectivity"]["delta"] == pytest.approx(ablation["delta"][3])
    score = json.loads((run / "score.json").read_text())
    assert score["score"] == pytest.approx(ablation["selectivity"]["ratio_median"])
    assert score["columns"]["delta_3"] == pytest.approx(ablation["delta"][3])
    for figure in ("figures/stacked.png", "figures/latents.png", "figures/training.png"):
        assert (run / figure).is_file()
    for figure in ("stacked", "reconstructions", "deltas", "latents"):
        assert (run / "interventions" / "ablation" / "figures" / f"{figure}.png").is_file()
    report = (run / "report.md").read_text()
    assert "Per-class MSE" in report and "ratio median" in report and "deltas.png" in report

    before = (run / "interventions" / "ablation" / "class-metrics.json").read_bytes()
    args = ["intervene", "--run", str(run), "--kind", "ablation", "intervention.dims=[0,1]"]
    refused = excolor(*args, cwd=tmp_path, check=False)  # the run's own ablation is not replaced unasked
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "other settings (intervention.dims)" in refused.stderr and "--overwrite" in refused.stderr
    assert (run / "interventions" / "ablation" / "class-metrics.json").read_bytes() == before
    again = excolor(*args, "--overwrite", cwd=tmp_path)
    assert "Per-class MSE" in again.stdout
    wider = json.loads((run / "interventions" / "ablation" / "class-metrics.json").read_text())
    assert wider["intervention"]["dims"] == [0, 1] and wider["delta"][3] >= ablation["delta"][3] - 1e-6

    compared = excolor("report", str(run), "--run-reports", "--output", "summary.md", cwd=tmp_path)
    assert "Per-class MSE" in (run / "report.md").read_text() and "dims: 0, 1" in (run / "report.md").read_text()
    summary = (tmp_path / "summary.md").read_text()  # the per-class selectivity compared across runs
    assert "`ablation/ratio_median`" in summary and "`prune/target_delta`" in summary and "`none/mean`" in summary
    assert "ablation/ratio_median" in compared.stdout  # the terminal's key columns

    refused = excolor("plot", "colors", "--run", str(run), cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "excolor plot draws colour figures" in refused.stderr

    pixels = load()[0][:5]
    np.save(tmp_path / "x.npy", pixels)
    excolor("infer", "--run", str(run), "--input", "x.npy", "--output", "out.npz", cwd=tmp_path)
    excolor("infer", "--run", str(run), "--kind", "ablation", "--input", "x.npy", "--output", "cut.npz", cwd=tmp_path)
    out, cut = np.load(tmp_path / "out.npz"), np.load(tmp_path / "cut.npz")
    assert out["outputs"].shape == (5, 64) and out["latents"].shape == (5, 8) and out["errors"].shape == (5,)
    assert np.all(cut["latents"][:, 0] == 0) and not np.allclose(out["latents"][:, 0], 0)

    np.save(tmp_path / "rgb.npy", np.zeros((4, 3)))
    bad = excolor("infer", "--run", str(run), "--input", "rgb.npy", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "expected [N, 64] pixels" in bad.stderr and "[4, 3]" in bad.stderr
    assert not (tmp_path / "rgb.npz").exists()


@pytest.mark.slow
def test_ex_3_1_suppresses_and_repels_three(tmp_path):
    run = tmp_path / "run"
    excolor("run", "experiment=ex-3.1", SMOKE, LENIENT, f"hydra.run.dir={run}", cwd=tmp_path)
    for kind in ("suppression", "repulsion"):
        metrics = json.loads((run / "interventions" / kind / "class-metrics.json").read_text())
        assert metrics["intervention"]["concept"] == "three"
        assert (run / "interventions" / kind / "figures" / "deltas.png").is_file()


@pytest.mark.slow
def test_the_digits_redux_in_miniature(tmp_path):
    excolor(
        "run",
        "experiment=ex-3.2",
        SMOKE,
        LENIENT,
        "data.validation.every=100",
        "--seeds",
        "0-2",
        "hydra.run.dir=redux",
        cwd=tmp_path,
    )
    summary = json.loads((tmp_path / "redux" / "summary.json").read_text())
    best = summary["best"]
    assert best in ("seed-0", "seed-1", "seed-2")
    assert (tmp_path / "redux" / best / "report.md").is_file()
    scores = [json.loads((tmp_path / "redux" / f"seed-{k}" / "score.json").read_text())["score"] for k in range(3)]
    assert best == f"seed-{int(np.argmax(scores))}" and summary["evaluated"] == [best]
    assert "score/delta_3" in (tmp_path / "redux" / "summary.md").read_text()


def test_a_digits_config_with_a_colour_model_is_refused_in_one_line(tmp_path):
    result = excolor("train", "experiment=ex-3.2", "model=color-mlp-norm", cwd=tmp_path, check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "model.inputs" in result.stderr


@pytest.mark.parametrize("snapshots", ["[0,100]", "abc", "5"])
def test_a_digits_latent_history_is_refused_in_one_line_whatever_its_value(tmp_path, snapshots):
    result = excolor("train", "experiment=ex-3.2", f"history.snapshots={snapshots}", cwd=tmp_path, check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "history.snapshots" in result.stderr and not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("command", ["run", "search"])
def test_a_redux_minimising_validation_that_the_schedule_never_reaches_is_refused_first(tmp_path, command):
    extra = ["--trials", "2"] if command == "search" else []
    result = excolor(command, "experiment=ex-3.2", SMOKE, LENIENT, "--seeds", "0-1", *extra, cwd=tmp_path, check=False)
    one_line_error(
        result,
        "redux.minimise: the seeds will have no column 'val/recon'",
        "data.validation.every=250 is beyond the 201-step schedule",
    )
    assert list(tmp_path.iterdir()) == []


def test_ex_3_2_ships_a_search_of_its_score_columns_and_colour_columns_are_refused():
    from ex_color.search.spec import SearchSpec

    spec = SearchSpec.from_config(compose("run", ["experiment=ex-3.2"]))
    assert [o.statistic.metric for o in spec.objectives] == ["score/ratio_median"]
    assert [c.statistic.metric for c in spec.constraints] == ["score/delta_3"]
    with pytest.raises(UserError, match="unknown metric 'selectivity.ablation.delta_ratio'.*score/ratio_max"):
        SearchSpec.from_config(
            compose(
                "run", ["experiment=ex-3.2", "search.objectives.selectivity.metric=selectivity.ablation.delta_ratio"]
            )
        )


@pytest.mark.slow
def test_a_digits_search_runs_its_trials_as_digits_reduxes(tmp_path):
    excolor(
        "search", "experiment=ex-3.2", SMOKE, LENIENT, "data.validation.every=100", "--trials", "2", "--seeds", "0-1",
        "--dir", "s", "~search.constraints", cwd=tmp_path,
    )  # fmt: skip
    data = json.loads((tmp_path / "s" / "search.json").read_text())
    assert [t["state"] for t in data["trials"]] == ["COMPLETE"] * 2
    for trial in data["trials"]:
        summary = json.loads((tmp_path / "s" / trial["directory"] / "summary.json").read_text())
        ratios = [seed["score/ratio_median"] for seed in summary["seeds"].values()]
        assert trial["values"]["selectivity"] == pytest.approx(float(np.median(ratios)))
