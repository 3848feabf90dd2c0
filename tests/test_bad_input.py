"""Every user mistake, through the real CLI: one line naming the problem and where it is, exit code 2,
no traceback, nothing half-written, and outputs/latest still pointing at the last good run."""

import os
import shutil

import pytest

from conftest import excolor, one_line_error

pytestmark = pytest.mark.slow

HEADER = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n"


@pytest.fixture()
def workdir(tmp_path, smoke_run):
    """A working directory whose outputs/latest points at a good run."""
    os.makedirs(tmp_path / "outputs")
    (tmp_path / "outputs" / "latest").symlink_to(smoke_run)
    return tmp_path


def after_failure_nothing_new(workdir, smoke_run):
    assert (workdir / "outputs" / "latest").resolve() == smoke_run.resolve()
    assert sorted(p.name for p in (workdir / "outputs").iterdir()) == ["latest"]


DOPESHEETS = {
    "bad-step": (HEADER + "0,Train,,0.01,,,,,\nabc,,,0.02,,,,,\n", ["row 3", "STEP", "abc"]),
    "fraction-too-big": (HEADER + "0,Train,,0.01,,,,,\n+1.5,,,0.02,,,,,\n10,,,0.01,,,,,\n", ["row 3", "STEP"]),
    "no-previous-anchor": ("STEP,PHASE,ACTION,lr\n+10,Train,,0.01\n20,,,0.02\n", ["row 2", "anchor"]),
    "no-next-anchor": ("STEP,PHASE,ACTION,lr\n0,Train,,0.01\n-5,,,0.02\n", ["row 3", "anchor"]),
    "unknown-space": ("STEP,PHASE,ACTION,lr:cubic\n0,Train,,0.01\n10,,,0.02\n", ["lr:cubic", "space"]),
    "unknown-easing": ("STEP,PHASE,ACTION,lr:log:bouncy\n0,Train,,0.01\n10,,,0.02\n", ["lr:log:bouncy", "easing"]),
    "non-numeric": ("STEP,PHASE,ACTION,lr\n0,Train,,0.01\n10,,,fast\n", ["row 3", "'lr'", "fast"]),
    "log-of-zero": ("STEP,PHASE,ACTION,lr:log\n0,Train,,0.01\n10,,,0\n", ["row 3", "lr:log"]),
    "missing-step-column": ("PHASE,ACTION,lr\nTrain,,0.01\n", ["STEP"]),
    "empty-file": ("", ["empty"]),
    "column-naming-nothing": (
        "STEP,PHASE,ACTION,lr,reg-polar\n0,Train,,0.01,1\n10,,,0.01,\n",
        ["reg-polar", "reg-anchor"],
    ),
}


@pytest.mark.parametrize("case", list(DOPESHEETS))
def test_malformed_dopesheets(workdir, smoke_run, case):
    text, fragments = DOPESHEETS[case]
    sheet = workdir / f"{case}.csv"
    sheet.write_text(text)
    result = excolor("train", "experiment=smoke", f"dopesheet={sheet}", cwd=workdir, check=False)
    one_line_error(result, f"{case}.csv", *fragments)
    after_failure_nothing_new(workdir, smoke_run)


def test_missing_dopesheet_file(workdir, smoke_run):
    result = excolor("train", "experiment=smoke", "dopesheet=nowhere/sheet.csv", cwd=workdir, check=False)
    one_line_error(result, "nowhere/sheet.csv", "not found")
    after_failure_nothing_new(workdir, smoke_run)


@pytest.mark.parametrize(
    "override,fragments",
    [
        ("modle.bottleneck=5", ["modle"]),
        ("model.bottlenek=5", ["model.bottlenek: unknown key; known keys: _target_, bottleneck, hidden", "+model"]),
        ("trainer.presision=5", ["trainer.presision: unknown key; known keys: accelerator, precision"]),
        ("model.bottleneck=0", ["model.bottleneck", "positive"]),
        ("model.hidden=-3", ["model.hidden", "positive"]),
        ("model.nonlinear_layers=0", ["model.nonlinear_layers", "positive integer", "got 0"]),
        ("dopesheet_unknown_columns=maybe", ["dopesheet_unknown_columns", "error, warn", "'maybe'"]),
        ("data.batch_size=0", ["data.batch_size", "positive"]),
        ("data.cube.hues=0", ["data.cube.hues", "positive"]),
        ("experiment=nosuch", ["experiment/nosuch"]),
        ("regularizers.reg-anchor.layers=[nolayer]", ["regularizers.reg-anchor.layers", "nolayer"]),
        ("regularizers.reg-anchor.loss._target_=ex_color.losses.Nope", ["regularizers.reg-anchor.loss", "Nope"]),
    ],
)
def test_config_mistakes_in_train(workdir, smoke_run, override, fragments):
    result = excolor("train", "experiment=smoke", override, cwd=workdir, check=False)
    assert "HYDRA_FULL_ERROR" not in one_line_error(result, *fragments)
    after_failure_nothing_new(workdir, smoke_run)


@pytest.mark.parametrize(
    "overrides,fragments",
    [
        (["+data.labels.xyz={power:1,scale:0.1}"], ["data.labels.xyz:", "names no label function"]),
        (["+data.labels.red.function=redd"], ["data.labels.red.function:", "'redd'"]),
        (["data=rgb", "+data.labels.blue={hue:240,power:-2,scale:0.1}"], ["data.labels.blue.power:", "≥ 0"]),
        (["data.labels.red.scale=1.5"], ["data.labels.red.scale:", "[0, 1]"]),
        (["data=rgb", "data.grid=1"], ["data.grid", "≥ 2"]),
        (["data=rgb", "data.validation.colours=edges"], ["data.validation.colours:", "'edges'"]),
        (["data=rgb", "data.validation.labels=[blue]"], ["data.validation.labels:", "'blue'", "labels: red, vibrant"]),
        (["data=rgb", "data.validation.labels=red"], ["data.validation.labels must be a list", "label names"]),
        (["+regularizers.reg-anchor.validate=maybe"], ["regularizers.reg-anchor.validate", "true or false"]),
    ],
)
def test_data_and_label_mistakes_in_train(workdir, smoke_run, overrides, fragments):
    result = excolor("train", "experiment=smoke", *overrides, cwd=workdir, check=False)
    one_line_error(result, *fragments)
    after_failure_nothing_new(workdir, smoke_run)


def test_a_bad_value_in_a_sweep_fails_before_any_job(workdir, smoke_run):
    result = excolor("train", "-m", "experiment=smoke", "model.bottleneck=4,0", cwd=workdir, check=False)
    one_line_error(result, "model.bottleneck")
    assert not (workdir / "multirun").exists()


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["--kind", "nosuch"], ["--kind nosuch", "kinds:"]),
        (["--kind", "repulsion", "intervention.mapper.a=0.6", "intervention.mapper.b=0.5"], ["a must be less than b"]),
        (["--kind", "repulsion", "intervention.mapper.a=0.5", "intervention.mapper.b=0.5"], ["a must be less than b"]),
        (["--kind", "suppression", "intervention.falloff.power=-1"], ["falloff: power must be >= 0"]),
        (["--kind", "suppression", "concepts.red=[1,0,0,0,0]"], ["concept 'red'", "5 values", "4 wide"]),
        (["--kind", "suppression", "concepts.red=[0,0,0,0]"], ["concept 'red'", "zero"]),
        (["--kind", "suppression", "intervention.concept=blue"], ["unknown concept 'blue'"]),
        (["--kind", "suppression", "intervention.layers=[nolayer]"], ["nolayer"]),
        (["--kind", "ablation", "intervention.dims=[7]"], ["intervention.dims:", "dim 7", "4-dim latent"]),
        (["--kind", "prune", "intervention.dims=[0,1,2,3]"], ["intervention.dims:", "all 4 latent dimensions"]),
        (["--kind", "prune", "intervention.dims=[-1]"], ["intervention.dims:", "dim -1"]),
        (["--kind", "ablation", "intervention.dims=[]"], ["intervention.dims:", "non-empty list"]),
        (
            ["--kind", "ablation", "intervention.producer=encoder.1"],
            ["intervention.producer:", "'encoder.1'", "no Linear"],
        ),
        (["--kind", "prune", "intervention.consumer=nosuch"], ["intervention.consumer:", "'nosuch'", "no Linear"]),
        (["--kind", "axis-suppression", "intervention.dims=[0,4]"], ["intervention.dims:", "dim 4", "4-dim latent"]),
        (["--kind", "axis-suppression", "intervention.layers=[nolayer]"], ["intervention.layers:", "nolayer"]),
        (["--kind", "suppression", "intervention.falloff.speed=3"], ["speed"]),
    ],
)
def test_intervention_mistakes(workdir, smoke_run, args, fragments):
    result = excolor("intervene", *args, cwd=workdir, check=False)
    one_line_error(result, *fragments)


def test_run_pointing_at_nothing_or_not_a_run(workdir, tmp_path):
    one_line_error(
        excolor("intervene", "--kind", "none", "--run", "no/such/dir", cwd=workdir, check=False), "no/such/dir"
    )
    (tmp_path / "empty").mkdir()
    one_line_error(excolor("infer", "--run", str(tmp_path / "empty"), cwd=workdir, check=False), "not a training run")
    seeds = tmp_path / "seeds"  # a --seeds directory: the line points at one of its seeds
    for seed in (0, 1):
        (seeds / f"seed-{seed}" / "checkpoints").mkdir(parents=True)
        (seeds / f"seed-{seed}" / "checkpoints" / "last.ckpt").write_bytes(b"")
    result = excolor("infer", "--run", str(seeds), cwd=workdir, check=False)
    one_line_error(result, "not a training run", f"a --seeds directory: name one of its seeds, e.g. {seeds / 'seed-0'}")


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_truncated_or_corrupt_checkpoint(workdir, smoke_run, tmp_path, damage):
    copy = tmp_path / "copy"
    shutil.copytree(smoke_run, copy, symlinks=True)
    checkpoint = copy / "checkpoints" / "last.ckpt"
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a checkpoint" * 100)
    # the shared smoke run may already hold interventions another test evaluated: nothing may be added
    before = sorted(p.relative_to(copy) for p in copy.rglob("*"))
    for command in (["infer"], ["intervene", "--kind", "none"], ["plot", "colors"]):
        result = excolor(*command, "--run", str(copy), cwd=workdir, check=False)
        one_line_error(result, "last.ckpt", "corrupt")
    assert sorted(p.relative_to(copy) for p in copy.rglob("*")) == before


@pytest.mark.parametrize(
    "colour,fragments",
    [
        ("#12345g", ["'#12345g'"]),
        ("1,2", ["'1,2'"]),
        ("0.5,0.5,1.5", ["1.5", "outside [0, 1]"]),
        ("-0.1,0,0", ["-0.1"]),
    ],
)
def test_bad_colours(workdir, colour, fragments):
    one_line_error(excolor("infer", "--", colour, cwd=workdir, check=False), *fragments)


def test_bad_colour_files(workdir):
    (workdir / "wide.npy").write_bytes(b"")
    import numpy as np

    np.save(workdir / "wide.npy", np.zeros((4, 4)))
    one_line_error(excolor("infer", "--input", "wide.npy", cwd=workdir, check=False), "wide.npy", "N×3")
    (workdir / "bad.csv").write_text("1,0,0\n0.5,x,0\n")
    one_line_error(excolor("infer", "--input", "bad.csv", cwd=workdir, check=False), "bad.csv", "row 2")
    (workdir / "range.csv").write_text("1,0,0\n0.5,2,0\n")
    one_line_error(excolor("infer", "--input", "range.csv", cwd=workdir, check=False), "range.csv", "outside [0, 1]")
    one_line_error(excolor("infer", "--input", "colours.txt", cwd=workdir, check=False), "colours.txt")
