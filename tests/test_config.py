"""Every shipped config composes, and builds the objects it describes."""

import pytest

from ex_color.builders import build_model, build_regularizers, plain
from ex_color.config import compose
from ex_color.errors import UserError
from ex_color.paths import config_dir

GROUPS = ["model", "data", "regularizers", "trainer", "logger", "eval", "experiment", "concepts"]
DIGITS_OPTIONS = {
    ("data", "digits"): "ex-3.2",
    ("regularizers", "ex-3.1"): "ex-3.1",
    ("regularizers", "ex-3.2"): "ex-3.2",
    ("concepts", "digits"): "ex-3.2",
}


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_shipped_option_composes(group, option):
    overrides = [f"{group}={option}"]
    if option == "ex-2.4" and group == "regularizers":
        overrides.append("model=color-mlp-norm")
    if option == "ex-2.9" and group == "regularizers":  # planar-d reads the desaturated label
        overrides.append("+data.labels.desaturated={power:10,scale:0.5}")
    if (group, option) in DIGITS_OPTIONS:  # the digits' data, terms and concept go together
        overrides.insert(0, f"experiment={DIGITS_OPTIONS[group, option]}")
    cfg = compose("train", overrides)
    model = build_model(cfg.model)
    build_regularizers(cfg.regularizers, model, tuple(cfg.data.labels))


def test_default_is_experiment_2_2():
    cfg = compose("train")
    assert cfg.name == "ex-2.2" and cfg.seed == 0
    assert cfg.dopesheet == "dopesheets/ex-2.2.csv"
    assert cfg.model.bottleneck == 4 and cfg.model.normalize is False
    assert list(cfg.regularizers) == ["reg-anchor", "reg-separate", "reg-planar", "reg-unit-v", "reg-unit"]
    assert all(list(r.layers) == ["encoder"] for r in cfg.regularizers.values())
    assert cfg.data.batch_size == 64 and cfg.data.hard_labels is True
    assert plain(cfg.data.labels) == {"red": {"power": 10, "scale": 0.5}, "vibrant": {"power": 100, "scale": 0.5}}
    assert cfg.trainer.deterministic is True


def test_overrides_reach_the_built_objects():
    cfg = compose("train", ["model.bottleneck=5", "regularizers.reg-separate.loss.power=4"])
    model = build_model(cfg.model)
    regs = build_regularizers(cfg.regularizers, model, tuple(cfg.data.labels))
    assert model.encoder[2].out_features == 5
    by_name = {r.name: r for r in regs}
    assert by_name["reg-separate"].term.power == 4
    assert by_name["reg-anchor"].term.point == (1.0, 0.0, 0.0, 0.0, 0.0)  # red extends with zeros


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["nosuchkey=1"], "nosuchkey"),
        (["model=nosuchmodel"], "model/nosuchmodel"),
        (["model.bottleneck=0"], "model.bottleneck must be a positive integer"),
        (["regularizers.reg-anchor.layers=[decoder.9]"], "no layer named 'decoder.9'"),
        (["+regularizers.reg-anchor.labels.blue=1.0"], "unknown label 'blue'"),
        (
            ["regularizers.reg-anchor.loss.point=[1,0,0,0,0,0]"],
            "point has 6 values, more than the layer's width 4 (layer 'encoder')",
        ),
    ],
)
def test_config_mistakes_are_one_line_user_errors(overrides, message):
    with pytest.raises(UserError) as caught:
        cfg = compose("train", overrides)
        build_regularizers(cfg.regularizers, build_model(cfg.model), tuple(cfg.data.labels))
    assert message in str(caught.value) and "\n" not in str(caught.value)
