"""`excolor run`'s evaluation predicts each (model, intervention) pair once, and `intervene`/`infer` with
`--run R --kind K` apply the run's own settings for K unless the command line overrides them."""

import json
import shutil

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from ex_color import runs
from ex_color.config import compose
from ex_color.model import ColorMLP
from ex_color.domains.color import ColorDomain
from ex_color.tasks.run import intervention_configs, score_and_evaluate, score_plan

from conftest import excolor

pytestmark = pytest.mark.slow


@pytest.fixture()
def run_copy(smoke_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(smoke_run, copy, ignore=shutil.ignore_patterns("interventions", "figures", "report.md"))
    return copy


def test_each_model_and_intervention_is_predicted_once(run_copy):
    cfg = compose("run", ["experiment=smoke", "interventions=[none,suppression,repulsion,ablation]"])
    configs = intervention_configs(cfg)
    passes = []

    def count(module, inputs, output):
        # Width probes of the builders run one colour; predictions run the whole probe.
        if isinstance(module, ColorMLP) and inputs[0].shape[0] > 1:
            hooks_at_latent = len(module.latent._forward_hooks)  # the prediction's capture, + an intervention's
            passes.append((inputs[0].shape[0], hooks_at_latent, module.encoder[2].weight.abs().sum().item()))

    handle = torch.nn.modules.module.register_module_forward_hook(count)
    try:
        ColorDomain().evaluate_run(run_copy, configs)
    finally:
        handle.remove()
    # baseline, suppression (hooks at latent), repulsion (hooks at latent), ablation (a copy): one pass each
    assert len(passes) == 4, passes
    sizes = {size for size, _, _ in passes}
    assert len(sizes) == 1  # every pass covers the whole probe: HD cube, display cube, RGB grid, named colours
    assert sorted(hooks for _, hooks, _ in passes) == [1, 1, 2, 2]
    assert len({weights for _, _, weights in passes}) == 2  # the trained weights, and the ablated copy's
    for kind in ("suppression", "repulsion", "ablation"):
        assert len(list((run_copy / "interventions" / kind / "figures").glob("*.png"))) >= 3
    assert (run_copy / "figures" / "latents.png").is_file() and (run_copy / "report.md").is_file()


def test_a_scored_run_loads_its_checkpoint_and_its_results_once(run_copy, monkeypatch):
    """`excolor run`'s work after training: the score, every intervention, the figures, report.md and the
    tracker read the checkpoint once, and the run's results (load_run) once."""
    from ex_color.reports import results

    cfg = compose(
        "run",
        ["experiment=smoke", "interventions=[none,suppression]", "score={plan: [suppression], grid: 8, power: 2}"],
    )
    loads, reads = [], []
    real_load, real_read = runs.load_checkpoint, results.load_run
    monkeypatch.setattr(runs, "load_checkpoint", lambda d: loads.append(d) or real_load(d))
    monkeypatch.setattr(results, "load_run", lambda d: reads.append(d) or real_read(d))
    report = score_and_evaluate(run_copy, intervention_configs(cfg), score_plan(cfg))
    assert report == run_copy / "report.md" and (run_copy / "score.json").is_file()
    assert loads == [run_copy] and reads == [run_copy]


def test_intervene_and_infer_apply_the_runs_settings(run_copy, tmp_path):
    config = OmegaConf.load(run_copy / runs.CONFIG)
    config.intervention_settings = {"repulsion": {"mapper": {"b": 0.7}}}
    (run_copy / runs.CONFIG).write_text(OmegaConf.to_yaml(config))

    excolor("intervene", "--kind", "repulsion", "--run", str(run_copy), cwd=tmp_path)
    record = json.loads((run_copy / "interventions" / "repulsion" / "metrics.json").read_text())["intervention"]
    assert record["mapper"]["b"] == 0.7 and record["mapper"]["a"] == 0.0

    excolor(
        "intervene",
        "--kind",
        "repulsion",
        "--run",
        str(run_copy),
        "intervention.mapper.b=0.8",
        "--overwrite",
        cwd=tmp_path,
    )
    record = json.loads((run_copy / "interventions" / "repulsion" / "metrics.json").read_text())["intervention"]
    assert record["mapper"]["b"] == 0.8

    out = tmp_path / "x.npz"
    excolor("infer", "--run", str(run_copy), "--kind", "repulsion", "--output", str(out), cwd=tmp_path)
    red = np.load(out)["latents"] @ np.array([1, 0, 0, 0], dtype=np.float32)
    assert red.max() <= 0.7 + 1e-3
    excolor(
        "infer",
        "--run",
        str(run_copy),
        "--kind",
        "repulsion",
        "--set",
        "intervention.mapper.b=0.3",
        "--output",
        str(out),
        cwd=tmp_path,
    )
    assert (np.load(out)["latents"] @ np.array([1, 0, 0, 0], dtype=np.float32)).max() <= 0.3 + 1e-3
