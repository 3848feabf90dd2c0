"""Interventions, inference and evaluation on a real smoke run, through the real CLI and the task functions."""

import json

import numpy as np
import pytest
import torch

from ex_color import runs
from ex_color.data.colors import named_colors
from ex_color.evaluation.metrics import hue_distance, per_color_error, selectivity
from ex_color.evaluation.predict import predict
from ex_color.evaluation.schema import InterventionMetrics
from ex_color.model import ColorMLP
from ex_color.tasks.intervene import intervene

from conftest import excolor

pytestmark = pytest.mark.slow


def test_named_colors_are_the_17_of_the_issue():
    colours = named_colors()
    assert len(colours) == 17
    np.testing.assert_allclose(colours["red"], [1, 0, 0])
    np.testing.assert_allclose(colours["azure"], [0, 0.5, 1])
    np.testing.assert_allclose(colours["pink"], [1, 0, 0.5])
    np.testing.assert_allclose(colours["dark gray"], [0.25] * 3)


def test_predict_is_chunked_and_matches_one_pass():
    torch.manual_seed(0)
    model = ColorMLP(4).eval()
    rgb = np.random.default_rng(0).random((1000, 3)).astype(np.float32)
    whole = predict(model, rgb, chunk_size=10_000)
    chunked = predict(model, rgb, chunk_size=7)
    np.testing.assert_allclose(whole.outputs, chunked.outputs, atol=1e-6)
    np.testing.assert_allclose(whole.latents, chunked.latents, atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(whole.outputs, model(torch.tensor(rgb)).numpy(), atol=1e-6)
        np.testing.assert_allclose(whole.latents, model.encoder(torch.tensor(rgb)).numpy(), atol=1e-6)


def test_per_color_error_and_hue_distance_by_hand():
    assert per_color_error(np.array([[1.0, 0, 0]]), np.array([[0.0, 0, 0]]))[0] == pytest.approx(1 / 3)
    assert hue_distance(np.array([350.0, 10.0, 180.0]), 0.0).tolist() == [10.0, 10.0, 180.0]


def test_selectivity_by_hand():
    hsv = np.array([[0.0, 1, 1], [0.5, 1, 1], [0.02, 0.2, 1.0]])  # red (on), cyan (off), pale red (neither)
    base = np.array([0.01, 0.01, 0.01])
    after = np.array([0.41, 0.02, 0.3])
    named_base = {n: 0.01 for n in named_colors()}
    named_after = dict(named_base, red=0.31, blue=0.02, white=0.06)
    result = selectivity(base, after, hsv, named_base, named_after, 0.0, "red")
    assert result["error_ratio"] == pytest.approx(0.41 / 0.02)
    assert result["baseline_error_ratio"] == pytest.approx(1.0)
    assert result["largest_far_delta_color"] == "white"
    assert result["delta_ratio"] == pytest.approx(0.30 / 0.05)


def test_hue_grey_ratio_by_hand():
    """Deleting a subspace (hue): the smallest Δ among the 12 named hues over the largest Δ among the 5 greys,
    the denominator floored like the delta ratio's."""
    from ex_color.data.colors import GRAY_NAMES, HUE_NAMES
    from ex_color.evaluation.metrics import DELTA_FLOOR, hue_grey_selectivity

    hsv = np.array([[0.0, 1, 1], [0.5, 1, 1]])
    base = np.array([0.01, 0.01])
    named_base = {n: 0.01 for n in named_colors()}
    hue_delta = dict(zip(HUE_NAMES, np.linspace(0.16, 0.33, 12)))
    hue_delta["teal"] = 0.12  # the least damaged hue
    named_after = {n: 0.01 + hue_delta.get(n, 0.0) for n in named_base}
    named_after.update({"black": 0.0105, "gray": 0.0108, "white": 0.0095})  # greys barely move
    result = selectivity(base, base, hsv, named_base, named_after, 0.0, "red")
    assert result["smallest_hue_delta_color"] == "teal"
    assert result["smallest_hue_delta"] == pytest.approx(0.12)
    assert result["largest_grey_delta_color"] == "gray"
    assert result["largest_grey_delta"] == pytest.approx(0.0008)
    assert result["hue_grey_ratio"] == pytest.approx(0.12 / 0.0008)
    # Greys that do not move at all: the denominator is floored, the ratio stays finite.
    delta = {**{n: 0.2 for n in HUE_NAMES}, **{n: 0.0 for n in GRAY_NAMES}}
    assert hue_grey_selectivity(delta)["hue_grey_ratio"] == pytest.approx(0.2 / DELTA_FLOOR)
    # A hue that got better, greys that got worse: a negative ratio says the deletion missed.
    delta.update(cyan=-0.01, white=0.05)
    assert hue_grey_selectivity(delta)["hue_grey_ratio"] == pytest.approx(-0.01 / 0.05)
    assert np.isnan(hue_grey_selectivity({"red": 0.1})["hue_grey_ratio"])  # no greys to compare with


@pytest.mark.parametrize("kind", ["none", "suppression", "repulsion", "ablation", "prune", "axis-suppression"])
def test_intervene_writes_metrics_predictions_and_figures(smoke_run, kind):
    result = excolor("intervene", "--kind", kind, "--run", str(smoke_run), cwd=smoke_run)
    out = smoke_run / "interventions" / kind
    assert f"results: {out}" in result.stdout and "per-colour MSE" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert InterventionMetrics.from_dict(metrics).kind == kind
    for part in ("baseline", "intervened"):
        assert set(metrics[part]) == {"max", "mean", "median"}
    assert len(metrics["named_colors"]) == 17
    assert set(metrics["named_colors"]["red"]) == {"rgb", "baseline", "intervened", "delta"}
    for key in ("error_ratio", "baseline_error_ratio", "delta_ratio", "target_color"):
        assert key in metrics["selectivity"]
    arrays = np.load(out / "predictions.npz")
    n = int(np.prod(arrays["cube_shape"]))
    assert arrays["inputs"].shape == (n, 3) and arrays["outputs"].shape == (n, 3)
    width = 3 if kind == "prune" else 4
    assert arrays["latents"].shape == (n, width)
    # Anyone can recompute the metrics from the arrays.
    recomputed = per_color_error(arrays["outputs"], arrays["inputs"])
    assert recomputed.max() == pytest.approx(metrics["intervened"]["max"], rel=1e-5)
    if kind == "none":
        assert metrics["intervened"] == metrics["baseline"]
    else:
        assert metrics["intervened"]["max"] != metrics["baseline"]["max"]
    figures = sorted(p.name for p in (out / "figures").glob("*.png") if "-dark" not in p.name) if kind != "none" else []
    if kind in ("suppression", "repulsion"):
        assert figures == [
            "colors.png",
            "error.png",
            "intervention.png",
            "latents.png",
            "similarity.png",
            "stacked.png",
        ]
    elif kind in ("ablation", "prune"):
        assert figures == ["colors.png", "error.png", "latents.png", "similarity.png", "stacked.png"]
    elif kind == "axis-suppression":  # its default deletes dims 0 and 1: the RGB cube explains where hues go
        assert figures == ["colors.png", "error.png", "latents.png", "rgb-cube.png", "similarity.png", "stacked.png"]
    correlation = metrics["correlation"]
    assert correlation["against"] == "similarity" and correlation["power"] == 2.0
    assert correlation["anchor"] == [0.0, 1.0, 1.0]  # red: the concept, or dimension 0 for surgery
    assert correlation["r2"] == pytest.approx(correlation["r"] ** 2)
    assert float(arrays["stacked_error_max"]) > 0


def test_intervention_overrides_reach_the_result(smoke_run, tmp_path):
    _, result = intervene("repulsion", smoke_run, ["intervention.mapper.b=0.7"], overwrite=True)
    assert result.metrics.intervention["mapper"]["b"] == 0.7
    arrays = np.load(smoke_run / "interventions" / "repulsion" / "predictions.npz")
    alignment = arrays["latents"] @ np.array([1, 0, 0, 0], dtype=np.float32)
    assert alignment.max() <= 0.7 + 1e-3  # a = 0: nothing ends closer to red than b


def test_suppression_removes_the_concept_component_of_aligned_latents(smoke_run):
    intervene("suppression", smoke_run)
    arrays = np.load(smoke_run / "interventions" / "suppression" / "predictions.npz")
    before, after = arrays["baseline_latents"], arrays["latents"]
    d = np.clip(before[:, 0], 0, 1)
    expected = before[:, 0] - d**2 * before[:, 0]
    np.testing.assert_allclose(after[:, 0], expected, atol=1e-5)
    np.testing.assert_allclose(after[:, 1:], before[:, 1:], atol=1e-6)


def test_trained_run_is_never_modified(smoke_run):
    before = (smoke_run / "checkpoints" / "last.ckpt").read_bytes()
    excolor("intervene", "--kind", "prune", "--run", str(smoke_run), cwd=smoke_run)
    assert (smoke_run / "checkpoints" / "last.ckpt").read_bytes() == before


def test_infer_prints_a_table_and_saves_arrays(smoke_run, tmp_path):
    out = tmp_path / "x.npz"
    result = excolor("infer", "--run", str(smoke_run), "#ff0000", "0,0.5,1", "--output", str(out), cwd=tmp_path)
    assert "#ff0000" in result.stdout and "#0080ff" in result.stdout and f"saved: {out}" in result.stdout
    arrays = np.load(out)
    assert arrays["inputs"].dtype == np.float32 and arrays["latents"].shape == (2, 4)
    model = runs.load_model(smoke_run)
    with torch.no_grad():
        expected = model(torch.tensor(arrays["inputs"])).numpy()
    np.testing.assert_allclose(arrays["outputs"], expected, atol=1e-6)


def test_infer_reads_files_and_applies_an_intervention(smoke_run, tmp_path):
    colours = np.array([[1, 0, 0], [0, 1, 0], [0.2, 0.2, 0.9]], dtype=np.float32)
    np.save(tmp_path / "c.npy", colours)
    (tmp_path / "c.csv").write_text("r,g,b\n1,0,0\n0,1,0\n0.2,0.2,0.9\n")
    plain = tmp_path / "plain.npz"
    excolor("infer", "--run", str(smoke_run), "--input", str(tmp_path / "c.npy"), "--output", str(plain), cwd=tmp_path)
    from_csv = tmp_path / "csv.npz"
    excolor(
        "infer", "--run", str(smoke_run), "--input", str(tmp_path / "c.csv"), "--output", str(from_csv), cwd=tmp_path
    )
    np.testing.assert_array_equal(np.load(plain)["outputs"], np.load(from_csv)["outputs"])
    suppressed = tmp_path / "s.npz"
    excolor(
        "infer",
        "--run",
        str(smoke_run),
        "--kind",
        "suppression",
        "--input",
        str(tmp_path / "c.npy"),
        "--output",
        str(suppressed),
        cwd=tmp_path,
    )
    latents = np.load(suppressed)["latents"]
    base = np.load(plain)["latents"]
    assert not np.allclose(latents[base[:, 0] > 0.1], base[base[:, 0] > 0.1])


@pytest.mark.parametrize(
    "args,message",
    [
        (["infer", "#ff00zz"], "colour '#ff00zz'"),
        (["infer", "1.5,0,0"], "outside [0, 1]"),
        (["infer", "--input", "missing.npy"], "no such file"),
        (
            ["intervene", "--kind", "nope"],
            "--kind nope: unknown intervention; kinds: ablation, axis-suppression, none, prune",
        ),
        (
            ["intervene", "--kind", "repulsion", "intervention.mapper.a=0.7", "intervention.mapper.b=0.5"],
            "a must be less than b",
        ),
        (["intervene", "--kind", "suppression", "intervention.falloff.power=-1"], "power must be >= 0"),
        (["intervene", "--kind", "suppression", "concepts.red=[1,0,0,0,0,0]"], "concept 'red' has 6 values"),
        (["intervene", "--kind", "suppression", "concepts.red=[0,0,0,0]"], "zero vector"),
    ],
)
def test_user_mistakes_are_one_line_exit_2(smoke_run, args, message):
    result = excolor(*args[:1], "--run", str(smoke_run), *args[1:], cwd=smoke_run, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_run_is_a_clear_error(tmp_path):
    result = excolor("intervene", "--kind", "none", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "outputs/latest does not exist" in result.stderr
    result = excolor("infer", "--run", str(tmp_path), cwd=tmp_path, check=False)
    assert result.returncode == 2 and "not a training run" in result.stderr
