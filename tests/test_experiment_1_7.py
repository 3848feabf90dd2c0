"""Experiment 1.7 (later-experiments spec §1): ColorMLP(4) with a sigmoid, pipeline A, the five terms of 2.2 on
`encoder` under 1.7's names, its own 10,001-step dopesheet, no interventions, the latent history on."""

import pytest

from ex_color.builders import build_model, build_regularizers
from ex_color.data.color import data_settings
from ex_color.config import compose
from ex_color.losses import Anchor, Planarity, Separate, Unitarity
from ex_color.schedule import Timeline, load_dopesheet

from conftest import REPO, excolor

SPEC_SHEET = """STEP,PHASE,ACTION,lr,reg-separate,reg-planar,reg-norm,reg-norm-v,reg-polar
0,Train,,1e-8,0.001,0.02,0.01,0.02,
+10,,,0.01,,,,,
+0.1,,,,0.02,,,,
+0.5,,,,0.01,0.08,,,
+0.7,,,,,,,,
5000,,,0.01,0.001,0.02,0.2,,6e-3
+0.5,,,,,,,,2e-4
10000,,,0.005,,,,,
"""


def test_experiment_1_7_is_the_spec_s():
    cfg = compose("run", ["experiment=ex-1.7"])
    assert cfg.name == "ex-1.7" and cfg.seed == 0 and cfg.dopesheet == "dopesheets/ex-1.7.csv"
    model = build_model(cfg.model)
    assert not model.normalize and model.sigmoid and model.bottleneck_dim == 4 and model.nonlinear_layers == 1
    data = data_settings(cfg.data)
    labels = {spec.name: (spec.power, spec.scale) for spec in data.labels}
    assert data.kind == "hsv" and data.hard_labels and data.batch_size == 64
    assert labels == {"red": (10, 0.5), "vibrant": (100, 0.5)} and not data.validation["every"]
    regs = {
        r.name: (r.term, r.layers, r.labels) for r in build_regularizers(cfg.regularizers, model, ("red", "vibrant"))
    }
    assert regs == {
        "reg-polar": (Anchor((1.0, 0.0, 0.0, 0.0)), ("encoder",), {"red": 1.0}),
        "reg-separate": (Separate(power=10.0, shift=False), ("encoder",), None),
        "reg-planar": (Planarity(), ("encoder",), {"vibrant": 1.0}),
        "reg-norm-v": (Unitarity(), ("encoder",), {"vibrant": 1.0}),
        "reg-norm": (Unitarity(), ("encoder",), None),
    }
    assert list(cfg.interventions) == ["none"] and cfg.history.snapshots == 120


def test_the_1_7_sheet_is_the_spec_s_verbatim_and_resolves_as_it_says():
    assert (REPO / "dopesheets" / "ex-1.7.csv").read_text() == SPEC_SHEET
    timeline = Timeline.from_dopesheet(load_dopesheet(REPO / "dopesheets" / "ex-1.7.csv"))
    assert timeline.length == 10_001
    keys = {name: dict(timeline.keyframes[name]) for name in timeline.names}
    assert keys["reg-polar"] == {5000: 6e-3, 7500: 2e-4}
    polar = timeline.values["reg-polar"]
    assert polar[0] == 6e-3 and polar[5000] == 6e-3 and polar[7500] == 2e-4 and polar[-1] == 2e-4
    assert keys["lr"] == {0: 1e-8, 10: 0.01, 5000: 0.01, 10000: 0.005}
    assert keys["reg-separate"] == {0: 0.001, 500: 0.02, 2500: 0.01, 5000: 0.001}
    assert keys["reg-planar"] == {0: 0.02, 2500: 0.08, 5000: 0.02}
    assert keys["reg-norm"] == {0: 0.01, 5000: 0.2} and keys["reg-norm-v"] == {0: 0.02}


@pytest.mark.slow
def test_cfg_job_prints_experiment_1_7(tmp_path):
    result = excolor("train", "experiment=ex-1.7", "--cfg", "job", cwd=tmp_path)
    assert "name: ex-1.7" in result.stdout.splitlines()
    assert not (tmp_path / "outputs").exists()
