"""Gradient routing (`routing:`, ex_color/training/routing.py) on the colour model: real models, real
backward passes, real training through the loop, seeds trained together and resumed."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from ex_color.builders import build_parts
from ex_color.config import compose
from ex_color.errors import UserError
from ex_color.model import ColorMLP, member_state, stack_models
from ex_color.tasks.train import train
from ex_color.training.routing import Router, RoutingSettings
from ex_color.training.setup import build_loop, trainer_settings

from conftest import assert_same_run, excolor
from test_ensemble import MEMBER_TOLERANCE, weights

LABELS = ("red", "vibrant")
RED = "routing={concept:red,dims:[0]}"


def routing(**settings) -> RoutingSettings:
    return RoutingSettings(**{"concept": "red", "dims": (0,), **settings})


def producer_row_grads(model: ColorMLP, rgb: torch.Tensor, labels: torch.Tensor, settings: RoutingSettings):
    """|d recon / d W| of the producer's rows (one per latent dim), with the forward pass routed by `labels`."""
    router = Router(settings, model, LABELS)
    try:
        with router.routed(labels):
            output = model(rgb)
        model.zero_grad()
        (output - rgb).square().sum().backward()
    finally:
        router.close()
    return model.get_submodule(model.latent_producer).weight.grad.abs().sum(-1)


@pytest.mark.parametrize("normalize", [False, True])
def test_a_labelled_sample_s_gradient_reaches_the_encoder_only_through_its_dims(normalize):
    torch.manual_seed(0)
    model = ColorMLP(bottleneck=4, hidden=16, normalize=normalize).train()
    rgb = torch.tensor([[0.9, 0.1, 0.1]])
    red = producer_row_grads(model, rgb, torch.tensor([[1.0, 1.0]]), routing())
    assert red[0] > 0 and torch.all(red[1:] == 0)  # red (and vibrant): the concept wins
    other = producer_row_grads(model, rgb, torch.tensor([[0.0, 1.0]]), routing())
    assert other[0] == 0 and torch.all(other[1:] > 0)  # another class: every dim but the concept's
    unrouted = producer_row_grads(model, rgb, torch.tensor([[0.0, 0.0]]), routing(unlabelled="all"))
    assert torch.all(unrouted > 0)
    assert torch.all(producer_row_grads(model, rgb, torch.tensor([[0.0, 0.0]]), routing(unlabelled="none")) == 0)
    as_other = producer_row_grads(model, rgb, torch.tensor([[0.0, 0.0]]), routing(unlabelled="others"))
    torch.testing.assert_close(as_other, other)
    # The first layer's gradient of a red sample is the one through z0 alone: routing stops the rest exactly.
    model.zero_grad()
    router = Router(routing(), model, LABELS)
    with router.routed(torch.tensor([[1.0, 0.0]])):
        routed_output = model(rgb)
    router.close()
    with torch.no_grad():
        plain_output = model(rgb)
    assert torch.equal(routed_output.detach(), plain_output)  # the forward value is untouched
    (routed_output - rgb).square().sum().backward()
    routed_first = model.encoder[0].weight.grad.clone()
    model.zero_grad()
    z = model.encoder(rgb)
    z = torch.cat([z[:, :1], z[:, 1:].detach()], dim=-1)
    out = model.decoder(model.bottleneck(z) if normalize else z)
    (out - rgb).square().sum().backward()
    torch.testing.assert_close(routed_first, model.encoder[0].weight.grad, rtol=0, atol=0)


def test_stacked_members_are_routed_by_their_own_labels():
    models = []
    for seed in range(2):
        torch.manual_seed(seed)
        models.append(ColorMLP(bottleneck=4, hidden=8))
    stacked = stack_models(models).train()
    rgb = torch.rand(2, 3, 3)
    labels = torch.tensor([[[1.0, 0], [1, 0], [1, 0]], [[0, 1.0], [0, 1], [0, 1]]])  # member 0: red; 1: other
    router = Router(routing(), stacked, LABELS)
    with router.routed(labels):
        output = stacked(rgb)
    router.close()
    (output - rgb).square().sum().backward()
    rows = stacked.get_submodule(stacked.latent_producer).weight.grad.abs().sum(-1)  # [S, 4]
    assert rows[0, 0] > 0 and torch.all(rows[0, 1:] == 0)
    assert rows[1, 0] == 0 and torch.all(rows[1, 1:] > 0)


def smoke(*extra: str):
    return compose("train", ["experiment=smoke", RED, *extra])


def test_the_loop_routes_every_step_s_batch_by_its_labels_and_the_raw_code_keeps_its_own_gradient():
    """One real training step: its gradients equal a reference that routes each sample by hand, and a
    regularizer on the routed layer itself (L1 on the raw code) still reaches dim 0 of every sample."""
    cfg = compose(
        "train",
        [
            "experiment=smoke",
            "regularizers=none",
            "dopesheet_unknown_columns=warn",
            "routing={concept:red,dims:[0],others:[vibrant],unlabelled:none}",
            "data.labels.red={power:1,scale:1.0}",  # dense labels: every kind of sample in the first batch
            "data.labels.vibrant={power:1,scale:1.0}",
            "+regularizers.reg-l1={loss:{_target_:ex_color.losses.L1Norm},layers:[encoder.2]}",
        ],
    )
    loop, _ = build_loop(cfg, [0], trainer_settings(cfg), warn=False)
    reference = copy.deepcopy(loop.model)
    block_key, offset = loop._locate(0)
    rgb, labels, _ = loop._block(block_key, loop.pattern_at[0])
    rgb, labels = rgb[offset], labels[offset]
    red, vibrant = labels[:, 0] > 0, labels[:, 1] > 0
    assert red.any() and (~red & vibrant).any() and (~red & ~vibrant).any()
    loop.train_step()
    got = {name: p.grad.clone() for name, p in loop.model.named_parameters()}
    loop.close()

    keep = torch.zeros(len(rgb), 4, dtype=torch.bool)  # the mask, sample by sample
    for i, (red, vibrant) in enumerate(labels.tolist()):
        if red > 0:
            keep[i, 0] = True
        elif vibrant > 0:
            keep[i, 1:] = True
    z = reference.encoder(rgb)
    output = reference.decoder(torch.where(keep, z, z.detach()))
    weight = float(loop.weights[0, 0])  # reg-l1 has no dopesheet column: weight 1
    loss = (output - rgb).square().mean() + weight * z.abs().sum(-1).mean()
    loss.backward()
    for name, parameter in reference.named_parameters():
        torch.testing.assert_close(got[name], parameter.grad, msg=name)
    # Without the L1 on the raw code, a vibrant, non-red sample would not touch row 0 of the producer.
    assert got["encoder.2.weight"][0].abs().sum() > 0


def test_routing_trains_a_smoke_run_that_differs_from_the_unrouted_one(tmp_path):
    routed = train(smoke(), tmp_path / "routed")
    plain = train(compose("train", ["experiment=smoke"]), tmp_path / "plain")
    a, b = weights(routed), weights(plain)
    assert all(torch.isfinite(v).all() for v in a.values())
    assert any(not torch.equal(a[k], b[k]) for k in a)
    assert len((routed / "metrics.csv").read_text().splitlines()) == 302


def test_one_routed_seed_together_is_its_single_run_bit_for_bit(tmp_path):
    single = train(smoke("seed=3"), tmp_path / "single")
    together = train(smoke(), tmp_path / "together", seeds=[3])
    assert_same_run(single, together / "seed-3")


@pytest.mark.slow
def test_each_routed_seed_agrees_with_its_single_run(tmp_path):
    together = train(smoke("model=color-mlp-norm"), tmp_path / "together", seeds=[0, 5])
    single = train(smoke("model=color-mlp-norm", "seed=5"), tmp_path / "single")
    a, b = weights(single), weights(together / "seed-5")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < MEMBER_TOLERANCE


def test_a_routed_ensemble_resumed_from_its_checkpoints_is_the_uninterrupted_one():
    cfg = smoke("model=color-mlp-norm")
    settings = trainer_settings(cfg)
    straight, _ = build_loop(cfg, [0, 1], settings, warn=False)
    while straight.step < 180:
        straight.train_step()
    first, _ = build_loop(cfg, [0, 1], settings, warn=False)
    while first.step < 90:
        first.train_step()
    checkpoints = [first.member_checkpoint(index) for index in range(2)]
    resumed, _ = build_loop(cfg, [0, 1], settings, warn=False)
    resumed.load_members(checkpoints)
    while resumed.step < 180:
        resumed.train_step()
    for loop in (straight, first, resumed):
        loop.close()
    for index in range(2):
        a, b = straight.member_checkpoint(index), resumed.member_checkpoint(index)
        assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


@pytest.mark.parametrize(
    "override, words",
    [
        ("routing={concept:blue,dims:[0]}", "routing.concept: 'blue' is not a label of the data; labels: red, vibrant"),
        ("routing={concept:red,dims:[]}", "routing.dims: a non-empty list"),
        ("routing={concept:red,dims:[0,0]}", "routing.dims: a dimension appears twice"),
        ("routing={concept:red,dims:[4]}", "routing.dims: dimension 4 is past the width 4 of layer 'encoder.2'"),
        ("routing={concept:red,dims:[0,1,2,3]}", "routing.dims: owns all 4 dims"),
        ("routing={concept:red,dims:[0],layer:encoder.9}", "routing.layer: no layer named 'encoder.9'"),
        ("routing={concept:red,dims:[0],others:[red]}", "routing.others: 'red' is the concept itself"),
        ("routing={concept:red,dims:[0],others:[grey]}", "routing.others: 'grey' is not a label"),
        ("routing={concept:red,dims:[0],unlabelled:some}", "routing.unlabelled: one of all, others, none"),
        ("routing={concept:red,dims:[0],colour:red}", "routing.colour: unknown key"),
        ("routing=red", "routing: expected a mapping"),
        (f"{RED} data.hard_labels=false", "routing: needs data.hard_labels: true"),
    ],
)
def test_bad_routing_is_named_by_key(override, words):
    with pytest.raises(UserError) as caught:
        build_parts(compose("train", ["experiment=smoke", *override.split(" ")]), warn=False)
    assert words in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.slow
def test_the_cli_trains_with_routing_and_refuses_a_bad_block_in_one_line(tmp_path):
    result = excolor("train", "experiment=smoke", RED, "hydra.run.dir=routed", cwd=tmp_path)
    assert (tmp_path / "routed" / "checkpoints" / "last.ckpt").exists(), result.stderr
    bad = excolor(
        "train", "experiment=smoke", "routing={concept:red,dims:[7]}", "hydra.run.dir=bad", cwd=tmp_path, check=False
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()] and "routing.dims" in bad.stderr
    assert not (tmp_path / "bad" / "checkpoints").exists()


ROUTING_SMOKE = "dopesheet=dopesheets/digits-routing-smoke.csv"  # 200 steps of ex-3.2-routing's terms


@pytest.mark.slow
def test_ex_3_2_routing_runs_end_to_end_and_as_a_redux_in_miniature(tmp_path):
    """The digits deletion trained by routing: every sample labelled, the L1 bound on the raw code, scored
    like ex-3.2; with seeds, the redux summary."""
    cfg = compose("train", ["experiment=ex-3.2-routing", ROUTING_SMOKE])
    parts = build_parts(cfg, warn=False)
    assert parts.routing == RoutingSettings("three", (0,), None, None, "all")
    assert [r.name for r in parts.regularizers] == ["reg-l1"] and parts.regularizers[0].layers == ("encoder.2",)
    assert cfg.data.labelled == 1.0

    excolor(
        "run",
        "experiment=ex-3.2-routing",
        ROUTING_SMOKE,
        "data.validation.every=100",
        "--seeds",
        "0-1",
        "hydra.run.dir=redux",
        cwd=tmp_path,
    )
    redux = tmp_path / "redux"
    summary = json.loads((redux / "summary.json").read_text())
    assert summary["best"] in ("seed-0", "seed-1") and "score/ratio_median" in (redux / "summary.md").read_text()
    ablation = json.loads((redux / summary["best"] / "interventions" / "ablation" / "class-metrics.json").read_text())
    assert ablation["delta"][3] > 0.005 and ablation["selectivity"]["ratio_median"] > 3  # 200 steps: 0.024, 70


def test_a_routed_digits_member_is_the_run_of_its_seed_alone_to_rounding():
    """Over the first steps: later the L1 bound's sign amplifies the batched kernels' rounding, with or without
    routing (a max weight difference of about 1e-2 after 200 steps)."""
    cfg = compose("train", ["experiment=ex-3.2-routing", ROUTING_SMOKE])
    settings = trainer_settings(cfg)
    together, _ = build_loop(cfg, [0, 1], settings, warn=False)
    alone, _ = build_loop(cfg, [1], settings, warn=False)
    for _ in range(20):
        together.train_step()
        alone.train_step()
    together.close()
    alone.close()
    a, b = member_state(together.model, 1, 2), member_state(alone.model, 0, 1)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6
