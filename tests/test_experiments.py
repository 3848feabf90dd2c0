"""Experiments bundle their parts; concepts are defined once; `--cfg job` checks the config like a run;
every `excolor train|run` line of README.md composes."""

import re
import shlex

import pytest

from ex_color.builders import plain, build_model, build_regularizers
from ex_color.config import compose, compose_intervention
from ex_color.data.colors import HUE_NAMES
from ex_color.losses import Anchor, Planarity, Separate, Unitarity
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


def readme_lines() -> list[str]:
    """Every `excolor train|run` line of README.md that composes a config (not --resume), comments dropped."""
    lines = []
    text = (REPO / "README.md").read_text().replace("\\\n", " ")  # a command continued on the next line
    for line in text.splitlines():
        if re.match(r"^excolor (train|run)\b", line) and "--resume" not in line:
            command = line.split(" #")[0].strip()
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
    """The README's Python examples that name their file on their first line (`# my_terms.py, ...`)."""
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
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
def test_cfg_job_prints_the_experiment(tmp_path):
    result = excolor("train", "experiment=ex-2.4", "--cfg", "job", cwd=tmp_path)
    assert "name: ex-2.4" in result.stdout.splitlines()


@pytest.mark.slow
@pytest.mark.parametrize("override", ["model.bottlenek=5", "model.bottleneck=0", "regularizers.reg-anchor.layers=[x]"])
def test_cfg_job_fails_like_a_run_on_a_mistake(override, tmp_path):
    with_flag = excolor("train", "experiment=smoke", override, "--cfg", "job", cwd=tmp_path, check=False)
    without = excolor("train", "experiment=smoke", override, cwd=tmp_path, check=False)
    assert with_flag.returncode == without.returncode == 2
    assert with_flag.stderr == without.stderr and len(with_flag.stderr.strip().splitlines()) == 1
    assert with_flag.stderr.startswith("excolor: error: ") and with_flag.stdout == ""
    assert not (tmp_path / "outputs").exists()
