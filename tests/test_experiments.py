"""Experiments bundle their parts; concepts are defined once; `--cfg job` checks the config like a run;
every `excolor train|run` line of the guide (README.md, docs/*.md) composes."""

import csv
import json
import re
import shlex

import numpy as np
import pytest
import torch

from ex_color import runs

from ex_color.builders import plain, build_model, build_regularizers
from ex_color.config import compose, compose_intervention
from ex_color.data.colors import HUE_NAMES
from ex_color.losses import (
    Anchor,
    AngularAnchor,
    AntiAnchor,
    AxisAlignedSubspace,
    Planarity,
    Separate,
    Unitarity,
)
from ex_color.schedule import Timeline, load_dopesheet

from conftest import REPO, excolor


def test_experiment_2_4_is_the_original():
    cfg = compose("train", ["experiment=ex-2.4"])
    assert cfg.name == "ex-2.4" and cfg.seed == 0 and cfg.model.normalize is True
    assert cfg.dopesheet == "dopesheets/ex-2.4.csv" and plain(cfg.data.labels) == {
        "red": {"power": 10, "scale": 0.5},
        "vibrant": {"power": 100, "scale": 0.5},
    }
    model = build_model(cfg.model)
    regs = {r.name: r for r in build_regularizers(cfg.regularizers, model, tuple(cfg.data.labels))}
    assert regs["reg-unit"].layers == ("encoder",) and isinstance(regs["reg-unit"].term, Unitarity)
    assert regs["reg-separate"].term == Separate(power=100.0, shift=True)
    assert isinstance(regs["reg-anchor"].term, Anchor) and regs["reg-anchor"].term.point == (1.0, 0.0, 0.0, 0.0)
    assert isinstance(regs["reg-planar"].term, Planarity)
    assert all(regs[name].layers == ("latent",) for name in ("reg-anchor", "reg-separate", "reg-planar"))
    timeline = Timeline.from_dopesheet(load_dopesheet(REPO / cfg.dopesheet))
    assert timeline.length == 3001 and set(timeline.names) == {"lr", *regs}
    lr = timeline.values["lr"]
    assert lr[0] == 1e-8 and lr[10] == 0.01 and lr[1000] == 0.1 and lr[3000] == 0.05
    assert timeline.values["reg-anchor"][1000] == 0.04 and timeline.values["reg-anchor"][2800] == 0.0
    icfg = compose_intervention("repulsion", (), cfg)
    assert list(icfg.intervention.layers) == ["latent"] and icfg.intervention.mapper.b == 0.5


HSV_LABELS = {"red": {"power": 10, "scale": 0.5}, "vibrant": {"power": 100, "scale": 0.5}}
# The later experiments (spec §3–§7): regularizer -> (term, layers, labels, validate), the dopesheet's
# length, one column's resolved keyframes {step: value}, and the interventions `excolor run` evaluates.
LATER = {
    "ex-2.3": (
        {
            "reg-unit": (Unitarity(), ("encoder",), None, False),
            "reg-anchor": (Anchor((1.0, 0.0, 0.0, 0.0)), ("encoder",), {"red": 1.0}, False),
            "reg-separate": (Separate(power=100.0, shift=True), ("encoder",), None, False),
            "reg-planar": (Planarity(), ("encoder",), {"vibrant": 1.0}, False),
        },
        3001,
        ("reg-anchor", {0: 0.01, 1000: 0.04, 2800: 0.0, 3000: 0.0}),
        ["none", "suppression", "repulsion"],
    ),
    "ex-2.5": (
        {
            "reg-unit": (Unitarity(), ("encoder",), None, False),
            "reg-anchor": (Anchor((1.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, False),
            "reg-separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
        },
        3001,
        ("reg-unit", {0: 0.01, 1000: 0.1, 2800: 0.0, 3000: 0.0}),
        ["none", "suppression", "repulsion"],
    ),
    "ex-2.4.1": (
        {
            "separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
            "anchor": (AngularAnchor((1.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, True),
            "subspace": (Planarity(), ("latent",), {"vibrant": 1.0}, True),
        },
        1501,
        ("subspace", {0: 0.01, 375: 0.1, 1125: 0.1, 1425: 0.0}),
        ["none", "suppression", "repulsion", "ablation"],
    ),
    "ex-2.5.1": (
        {
            "separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
            "anchor": (AngularAnchor((1.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, True),
        },
        1501,
        ("separate", {750: 0.015, 1425: 0.0}),  # 0.015 held from step 0
        ["none", "suppression", "ablation"],
    ),
    "ex-2.7.1": (
        {
            "separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
            "subspace": (Planarity(), ("latent",), {"vibrant": 1.0}, True),
        },
        1501,
        ("subspace", {0: 0.01, 375: 0.1, 1125: 0.1, 1425: 0.0}),
        ["none", "ablation", "prune", "axis-suppression"],
    ),
    "ex-2.8": (
        {
            "reg-unit": (Unitarity(), ("encoder",), None, False),
            "reg-anchor": (AngularAnchor((1.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, False),
            "reg-separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
            "reg-anti-anchor": (AntiAnchor((-1.0, 0.0, 0.0, 0.0), hemi=True), ("latent",), None, False),
        },
        3001,
        ("reg-anti-anchor", {0: 0.01, 1000: 0.1, 2800: 0.0, 3000: 0.0}),
        ["none", "ablation"],
    ),
    "ex-2.9": (
        {
            "reg-unit": (Unitarity(), ("encoder",), None, False),
            "reg-anchor": (AngularAnchor((1.0, 0.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, False),
            "reg-separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
            "reg-planar-d": (AxisAlignedSubspace((2, 3, 4)), ("latent",), {"desaturated": 1.0}, False),
            "reg-anti-anchor": (AntiAnchor((-1.0, 0.0, 0.0, 0.0, 0.0)), ("latent",), None, False),
        },
        3001,
        ("reg-planar-d", {0: 0.001, 1000: 0.01, 2800: 0.0, 3000: 0.0}),
        ["none", "ablation"],
    ),
    "ex-2.9.1": (
        {
            "separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
            "anchor": (AngularAnchor((1.0, 0.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, True),
            "anti-anchor": (AntiAnchor((-1.0, 0.0, 0.0, 0.0, 0.0)), ("latent",), None, True),
            "anti-subspace": (AxisAlignedSubspace((0,), invert=True), ("latent",), None, False),
        },
        1501,
        ("anti-anchor", {0: 0.0, 248: 0.05, 1425: 0.0}),  # one long transition
        ["none", "ablation", "prune", "suppression"],
    ),
    "ex-2.10": (
        {
            "reg-separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
            "reg-anchor": (AngularAnchor((1.0, 0.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, True),
            "reg-anti-subspace": (AxisAlignedSubspace((0,), invert=True), ("latent",), None, False),
        },
        1501,
        ("reg-anti-subspace", {0: 0.25, 375: 0.1, 750: 0.03, 1425: 0.0}),
        ["none", "ablation"],
    ),
    "ex-2.10.1": (
        {
            "separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
            "anchor": (AngularAnchor((1.0, 0.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, True),
            "anti-subspace": (AxisAlignedSubspace((0,), invert=True), ("latent",), None, False),
        },
        1501,
        ("anchor", {0: 0.0, 248: 0.1, 750: 0.12, 1425: 0.0}),
        ["none", "ablation", "prune", "suppression"],
    ),
}
LATER["ex-2.3-sigmoid"] = LATER["ex-2.3"]
# 2.6 and 2.7 are 2.4 (one trained model) with their own surgeries (spec §8, §9).
EX_2_4 = (
    {
        "reg-unit": (Unitarity(), ("encoder",), None, False),
        "reg-anchor": (Anchor((1.0, 0.0, 0.0, 0.0)), ("latent",), {"red": 1.0}, False),
        "reg-separate": (Separate(power=100.0, shift=True), ("latent",), None, False),
        "reg-planar": (Planarity(), ("latent",), {"vibrant": 1.0}, False),
    },
    3001,
    ("reg-anchor", {0: 0.01, 1000: 0.04, 2800: 0.0, 3000: 0.0}),
)
LATER["ex-2.6"] = (*EX_2_4, ["none", "ablation", "prune"])
LATER["ex-2.7"] = (*EX_2_4, ["none", "ablation"])
SHEETS = {"ex-2.3-sigmoid": "ex-2.3", "ex-2.6": "ex-2.4", "ex-2.7": "ex-2.4"}
# (latent width, nonlinear layers) of the 5-dim experiments with one extra pair on each side (spec §0.1)
WIDE = {name: (5, 2) for name in ("ex-2.9", "ex-2.9.1", "ex-2.10", "ex-2.10.1")}
# Columns of a sheet that name no regularizer, accepted with dopesheet_unknown_columns: warn (spec §12.5)
DEAD_COLUMNS = {"ex-2.9": {"reg-planar-v"}}

# Each experiment's interventions as metrics.json records them (besides kind, concept and layers).
OLD_STYLE = {
    "suppression": {"falloff": {"type": "BoundedFalloff", "a": 0.0, "b": 1.0, "power": 2.0}},
    "repulsion": {"mapper": {"type": "FastBezierMapper", "a": 0.0, "b": 0.5}},
}
REDUX = {
    "suppression": {"falloff": {"type": "BoundedFalloff", "a": 0.0, "b": 1.0, "power": 0.0}},
    "repulsion": {"mapper": {"type": "LinearMapper", "a": 0.0, "b": 0.0174524}},
    "ablation": {"dims": [0], "producer": "encoder.2", "consumer": "decoder.0"},
}
SURGERY = {  # the surgeries' dims (spec §8 - §15); producer and consumer the model's own
    "ex-2.7": [0, 1],
    "ex-2.7.1": [0, 1],
}


def expected_records(name: str, producer: str) -> dict[str, dict]:
    """What metrics.json records of each of the experiment's interventions (besides kind and concept)."""
    expected = dict(REDUX if name.endswith(".1") else OLD_STYLE)
    dims = SURGERY.get(name, [0])
    for kind in ("ablation", "prune"):
        expected[kind] = {"dims": dims, "producer": producer, "consumer": "decoder.0"}
    expected["axis-suppression"] = {"dims": dims, "layers": ["latent"]}
    return expected


def expected_data(name: str) -> dict:
    """kind, grid, labels and validation of each experiment's data (spec §0.2)."""
    red_b = {"red": {"power": 8, "scale": 0.08}}
    centres = {"every": 150, "batch_size": 64, "colours": "centres", "grid_steps": 4, "labels": ("red",)}
    if name == "ex-2.4.1":
        return dict(kind="rgb", grid=8, labels={**red_b, "vibrant": {"power": 10, "scale": 0.01}}, validation=centres)
    if name == "ex-2.7.1":
        vibrant = {"vibrant": {"power": 8, "scale": 0.008}}
        return dict(kind="rgb", grid=8, labels=vibrant, validation={**centres, "labels": ("vibrant",)})
    if name == "ex-2.10":
        grid = {"every": 160, "batch_size": 1, "colours": "grid", "grid_steps": 4, "labels": ("red",)}
        return dict(kind="rgb", grid=10, labels=red_b, validation=grid)
    if name.endswith(".1"):
        return dict(kind="rgb", grid=8, labels=red_b, validation=centres)
    labels = dict(HSV_LABELS)
    if name in ("ex-2.8", "ex-2.9"):
        labels["desaturated"] = {"power": 10, "scale": 0.5}
    return dict(kind="hsv", grid=None, labels=labels, validation=None)


@pytest.mark.parametrize("name", sorted(LATER))
def test_the_later_experiments_are_the_spec_s(name):
    from ex_color.builders import build_intervention
    from ex_color.data.color import data_settings
    from ex_color.tasks.run import check_interventions, intervention_configs

    terms, length, (column, keys), interventions = LATER[name]
    cfg = compose("run", [f"experiment={name}"])
    assert cfg.name == name and cfg.seed == 0 and cfg.dopesheet == f"dopesheets/{SHEETS.get(name, name)}.csv"
    model = build_model(cfg.model)
    width, layers = WIDE.get(name, (4, 1))
    assert model.normalize and model.sigmoid == name.endswith("-sigmoid") and model.bottleneck_dim == width
    assert model.nonlinear_layers == layers and model.latent_producer == f"encoder.{2 * layers}"
    data = data_settings(cfg.data)
    labels = {spec.name: {"power": spec.power, "scale": spec.scale} for spec in data.labels}
    assert data.batch_size == 64 and data.hard_labels
    expected = expected_data(name)
    assert data.kind == expected["kind"] and data.grid == expected["grid"] and labels == expected["labels"]
    if expected["validation"] is None:
        assert not data.validation["every"]
    else:
        assert data.validation == expected["validation"]
    regs = build_regularizers(cfg.regularizers, model, data.label_names)
    assert {r.name: (r.term, r.layers, r.labels, r.validate) for r in regs} == terms
    assert cfg.dopesheet_unknown_columns == ("warn" if name in DEAD_COLUMNS else "error")
    timeline = Timeline.from_dopesheet(load_dopesheet(REPO / cfg.dopesheet))
    assert timeline.length == length and set(timeline.names) == {"lr", *terms, *DEAD_COLUMNS.get(name, ())}
    assert {step: value for step, value in timeline.keyframes[column]} == keys
    assert timeline.values[column][0] == keys[min(keys)] and timeline.values[column][-1] == keys[max(keys)]
    lr = timeline.values["lr"]
    assert lr[0] == 1e-8 and lr[10] == 0.01 and lr[-1] == 0.05

    configs = intervention_configs(cfg)
    assert list(configs) == interventions
    check_interventions(configs, cfg)
    records = expected_records(name, model.latent_producer)
    for kind, icfg in configs.items():
        record = build_intervention(icfg.intervention, icfg.concepts, model).record()
        want = records.get(kind, {})
        assert {key: record[key] for key in want} == want, kind
        if "layers" in record:
            assert record["layers"] == ["latent"]
        if "concept_vector" in record:
            assert record["concept_vector"] == [1.0] + [0.0] * (width - 1)


# The reduxes' score (plan, predictor, power), Pareto columns and correlation (spec §0.8, §0.9, §10 - §15).
REDUX_SELECTION = {
    "ex-2.4.1": (("suppression",), "similarity", 2.0, ["val/recon", "val/anchor"]),
    "ex-2.5.1": (("suppression",), "similarity", 2.0, ["val/recon", "val/anchor"]),
    "ex-2.7.1": (("ablation",), "vibrancy", 2.3, ["val/recon", "val/subspace"]),
    "ex-2.9.1": (("ablation",), "similarity", 3.0, ["val/recon", "val/anchor", "val/anti-anchor"]),
    "ex-2.10.1": (("ablation",), "similarity", 3.0, ["val/recon", "val/anchor"]),
}


@pytest.mark.parametrize("name", sorted(REDUX_SELECTION))
def test_the_reduxes_score_and_select_as_the_spec_says(name):
    from ex_color.evaluation.score import ScoreSettings
    from ex_color.evaluation.settings import EvalSettings
    from ex_color.reports.redux import ReduxSettings
    from ex_color.tasks.run import score_plan

    plan, against, power, minimise = REDUX_SELECTION[name]
    cfg = compose("run", [f"experiment={name}"])
    score = ScoreSettings.from_config(cfg.score)
    assert (score.plan, score.grid, score.against, score.power) == (plan, 8, against, power)
    settings, configs = score_plan(cfg)  # the plan's kinds build for the experiment's model
    assert list(configs) == list(plan)
    redux = ReduxSettings.from_config(cfg.redux)
    assert redux.minimise == tuple(minimise) and redux.maximise == ("score",) and redux.evaluate == "best"
    correlation = EvalSettings.from_config(cfg.eval).correlation
    assert (correlation.against, correlation.power) == (against, power)
    regs = build_regularizers(cfg.regularizers, build_model(cfg.model), tuple(cfg.data.labels))
    validated = {f"val/{r.name}" for r in regs if r.validate}
    assert set(minimise) - {"val/recon"} <= validated


def test_2_3_2_4_and_2_5_share_one_sheet_but_for_planarity():
    sheet_2_3 = (REPO / "dopesheets" / "ex-2.3.csv").read_text()
    assert sheet_2_3 == (REPO / "dopesheets" / "ex-2.4.csv").read_text()
    without_planar = "\n".join(line.rsplit(",", 1)[0] for line in sheet_2_3.splitlines()) + "\n"
    assert (REPO / "dopesheets" / "ex-2.5.csv").read_text() == without_planar


@pytest.mark.parametrize("model", ["color-mlp", "color-mlp-norm"])
def test_regularizers_and_interventions_can_name_the_latent(model):
    cfg = compose("train", [f"model={model}", "regularizers.reg-anchor.layers=[latent]"])
    built = build_model(cfg.model)
    regs = build_regularizers(cfg.regularizers, built, tuple(cfg.data.labels))
    assert next(r for r in regs if r.name == "reg-anchor").layers == ("latent",)
    from ex_color.builders import build_intervention

    icfg = compose_intervention("suppression", ["intervention.layers=[latent]"], cfg)
    _, placements = build_intervention(icfg.intervention, icfg.concepts, built).applied_to(built)
    assert placements[0].layers == ("latent",)


def test_command_line_choices_beat_the_experiments():
    cfg = compose("train", ["experiment=ex-2.4", "model=color-mlp"])
    assert cfg.model.normalize is False and cfg.name == "ex-2.4"


def test_the_concept_is_defined_once_and_reaches_anchor_and_interventions():
    cfg = compose("train", ["concepts.red=[0,1,0,0]"])
    regs = build_regularizers(cfg.regularizers, build_model(cfg.model), tuple(cfg.data.labels))
    assert next(r for r in regs if r.name == "reg-anchor").term.point == (0.0, 1.0, 0.0, 0.0)
    assert list(compose_intervention("suppression", (), cfg).concepts.red) == [0, 1, 0, 0]
    assert list(compose_intervention("suppression", ["concepts.red=[0,0,1,0]"], cfg).concepts.red) == [0, 0, 1, 0]


def test_one_table_of_colour_names():
    from ex_color.plots._common import hue_name

    assert HUE_NAMES[3] == "lime" and HUE_NAMES[5] == "teal" and HUE_NAMES[9] == "purple"
    assert [hue_name(d) for d in (90, 150, 270)] == ["lime", "teal", "purple"]


def guide_text() -> str:
    """The user guide: README.md and the pages under docs/."""
    return "\n".join(path.read_text() for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])


def readme_lines() -> list[str]:
    """Every `excolor train|run` line of the guide that composes a config (not --resume), comments dropped."""
    lines = []
    text = guide_text().replace("\\\n", " ")  # a command continued on the next line
    for line in text.splitlines():
        if re.match(r"^excolor (train|run)\b", line) and "--resume" not in line:
            command = re.split(r" #| \|", line)[0].strip()  # comments and pipes dropped
            if command not in lines:
                lines.append(command)
    return lines


def one_job(args: list[str]) -> list[str]:
    """Hydra prints one run's config: a sweep line becomes its first job (-m dropped, first values)."""
    if "-m" not in args:
        return args
    out = []
    for arg in args:
        if arg == "-m":
            continue
        key, eq, value = arg.partition("=")
        if eq and "," in value and not value.startswith(("[", "'", '"')):
            value = value.split(",")[0]
        out.append(f"{key}{eq}{value}" if eq else arg)
    return out


def test_the_readme_has_the_lines_this_test_checks():
    lines = readme_lines()
    assert "excolor train experiment=ex-2.4" in lines and len(lines) > 15
    assert not any("regularizers=ex-2.4" in line for line in lines)


def readme_python_files() -> dict[str, str]:
    """The guide's Python examples that name their file on their first line (`# my_terms.py, ...`)."""
    blocks = re.findall(r"```python\n(.*?)```", guide_text(), re.S)
    return {match.group(1): block for block in blocks if (match := re.match(r"# (\w+\.py)\b", block))}


@pytest.mark.slow
@pytest.mark.parametrize("line", readme_lines())
def test_every_readme_line_composes(line, tmp_path):
    for name, source in readme_python_files().items():  # the user's own modules the README's lines use
        (tmp_path / name).write_text(source)
    args = one_job(shlex.split(line)[1:])
    result = excolor(*args, "--cfg", "job", cwd=tmp_path, check=False)
    assert result.returncode == 0, f"{line}: {result.stderr}"
    assert re.search(r"^name: ", result.stdout, re.M)
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ex-2.4", *sorted(LATER)])
def test_cfg_job_prints_the_experiment(name, tmp_path):
    result = excolor("train", f"experiment={name}", "--cfg", "job", cwd=tmp_path)
    assert f"name: {name}" in result.stdout.splitlines()
    assert not (tmp_path / "outputs").exists()


# Small evaluation cubes, as experiment=smoke has them.
SMALL_EVAL = [
    "eval.display={hues:12,saturations:4,values:4}",
    "eval.hd={hues:48,saturations:12,values:12}",
    "eval.rgb.steps=8",
]


@pytest.mark.slow
def test_the_2_4_1_redux_runs_end_to_end_in_miniature(tmp_path):
    """61 steps of the 2.4.1 redux through `excolor run --seeds`: validation of the anchor only (no vibrant
    label in the validation set), label counts, every seed scored, the best evaluated with the four redux
    interventions, and `excolor infer` on the best seed applying the experiment's pinned settings."""
    (tmp_path / "short.csv").write_text(
        "STEP,PHASE,ACTION,lr,separate,anchor,subspace\n0,Train,,0.01,0.01,0.1,0.1\n60,,,0.01,,,\n"
    )
    excolor(
        "run",
        "experiment=ex-2.4.1",
        "--seeds",
        "0-2",
        "dopesheet=short.csv",
        "data.validation.every=30",
        *SMALL_EVAL,
        "hydra.run.dir=redux",
        cwd=tmp_path,
    )
    summary = json.loads((tmp_path / "redux" / "summary.json").read_text())
    assert set(summary["seeds"]) == {"seed-0", "seed-1", "seed-2"}
    assert summary["pareto"]["minimise"] == ["val/recon", "val/anchor"] and summary["pareto"]["maximise"] == ["score"]
    assert all({"score", "val/recon", "val/anchor", "labels/n/red"} <= set(row) for row in summary["seeds"].values())
    best = summary["best"]
    run_dir = tmp_path / "redux" / best
    with open(run_dir / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 61 and "val/subspace" not in rows[0]
    assert [row["step"] for row in rows if row["val/anchor"]] == ["29", "59"]
    assert int(rows[-1]["labels/n_total"]) == 61 * 64
    assert int(rows[-1]["labels/n/_any"]) <= int(rows[-1]["labels/n/red"]) + int(rows[-1]["labels/n/vibrant"])
    assert summary["seeds"][best]["labels/n/red"] == int(rows[-1]["labels/n/red"])
    for kind in ("none", "suppression", "repulsion", "ablation"):
        assert (run_dir / "interventions" / kind / "metrics.json").is_file(), kind
    record = json.loads((run_dir / "interventions" / "repulsion" / "metrics.json").read_text())["intervention"]
    assert record["mapper"] == {"type": "LinearMapper", "a": 0.0, "b": 0.0174524}
    assert (run_dir / "interventions" / "repulsion" / "figures" / "intervention.png").is_file()
    assert (run_dir / "report.md").is_file()

    # infer on the best seed: the experiment's repulsion, with no further overrides, sends red to within 1°
    # of the plane orthogonal to it (the latent's dim 0 at most sin 1° of the unit vector)
    result = excolor(
        "infer", "red", "--run", f"redux/{best}", "--kind", "repulsion", "--output", "red.npz", cwd=tmp_path
    )
    latent = np.load(tmp_path / "red.npz")["latents"][0]
    assert abs(latent[0]) / np.linalg.norm(latent) <= np.sin(np.radians(1.0)) + 1e-6, result.stdout
    excolor("infer", "red", "--run", f"redux/{best}", "--kind", "suppression", "--output", "gone.npz", cwd=tmp_path)
    assert np.load(tmp_path / "gone.npz")["latents"][0][0] <= 1e-6  # the red side's component removed


@pytest.mark.slow
def test_the_2_10_1_redux_runs_end_to_end_in_miniature(tmp_path):
    """61 steps of the 2.10.1 redux (5-dim latent, two nonlinear layers a side) through `excolor run --seeds`:
    every seed scored by ablating dim 0, the best evaluated with ablation, pruning and suppression, and
    `excolor infer` on a seed: pruning dim 0 gives ablation's outputs (spec §0.7) with the model's own
    producer (encoder.4)."""
    (tmp_path / "short.csv").write_text(
        "STEP,PHASE,ACTION,lr,separate,anchor,anti-subspace\n0,Train,,0.01,0.01,0.1,0.25\n60,,,0.01,,,\n"
    )
    excolor(
        "run",
        "experiment=ex-2.10.1",
        "--seeds",
        "0-1",
        "dopesheet=short.csv",
        "data.validation.every=30",
        *SMALL_EVAL,
        "hydra.run.dir=redux",
        cwd=tmp_path,
    )
    summary = json.loads((tmp_path / "redux" / "summary.json").read_text())
    assert set(summary["seeds"]) == {"seed-0", "seed-1"}
    assert summary["pareto"]["minimise"] == ["val/recon", "val/anchor"] and summary["pareto"]["maximise"] == ["score"]
    for seed in ("seed-0", "seed-1"):
        score = json.loads((tmp_path / "redux" / seed / "score.json").read_text())
        assert score["settings"]["plan"] == ["ablation"] and score["settings"]["power"] == 3.0
        assert 0 <= score["score"] <= 1
    best = tmp_path / "redux" / summary["best"]
    model = runs.load_model(best)
    assert model.bottleneck_dim == 5 and model.nonlinear_layers == 2
    for kind in ("none", "ablation", "prune", "suppression"):
        assert (best / "interventions" / kind / "metrics.json").is_file(), kind
    record = json.loads((best / "interventions" / "prune" / "metrics.json").read_text())["intervention"]
    assert record == {"kind": "prune", "dims": [0], "producer": "encoder.4", "consumer": "decoder.0"}
    assert (best / "interventions" / "prune" / "figures" / "stacked.png").is_file()

    for seed in ("seed-0", "seed-1"):
        arrays = {}
        for kind in ("ablation", "prune"):
            excolor("infer", "--run", f"redux/{seed}", "--kind", kind, "--output", f"{kind}.npz", cwd=tmp_path)
            arrays[kind] = np.load(tmp_path / f"{kind}.npz")
        ablated, pruned = arrays["ablation"], arrays["prune"]
        assert ablated["outputs"].shape == pruned["outputs"].shape == (17, 3)
        np.testing.assert_allclose(pruned["outputs"], ablated["outputs"], rtol=0, atol=1e-6)
        assert ablated["latents"].shape == (17, 5) and pruned["latents"].shape == (17, 4)
        assert np.all(ablated["latents"][:, 0] == 0)
        np.testing.assert_allclose(pruned["latents"], ablated["latents"][:, 1:], rtol=0, atol=1e-6)


@pytest.mark.slow
def test_the_2_3_sigmoid_variant_trains_in_miniature(tmp_path):
    (tmp_path / "short.csv").write_text(
        "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-planar\n0,Train,,0.01,0.01,0.01,0.01,0.01\n40,,,0.01,,,,\n"
    )
    excolor("train", "experiment=ex-2.3-sigmoid", "dopesheet=short.csv", "hydra.run.dir=run", cwd=tmp_path)
    model = runs.load_model(tmp_path / "run")
    assert model.normalize and model.sigmoid and isinstance(model.decoder[-1], torch.nn.Sigmoid)
    assert "bottleneck" in dict(model.named_modules())
    with torch.no_grad():
        out = model(torch.rand(100, 3))
    assert ((out > 0) & (out < 1)).all()


@pytest.mark.slow
@pytest.mark.parametrize("override", ["model.bottlenek=5", "model.bottleneck=0", "regularizers.reg-anchor.layers=[x]"])
def test_cfg_job_fails_like_a_run_on_a_mistake(override, tmp_path):
    with_flag = excolor("train", "experiment=smoke", override, "--cfg", "job", cwd=tmp_path, check=False)
    without = excolor("train", "experiment=smoke", override, cwd=tmp_path, check=False)
    assert with_flag.returncode == without.returncode == 2
    assert with_flag.stderr == without.stderr and len(with_flag.stderr.strip().splitlines()) == 1
    assert with_flag.stderr.startswith("excolor: error: ") and with_flag.stdout == ""
    assert not (tmp_path / "outputs").exists()
