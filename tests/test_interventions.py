"""Interventions (spec section 6): hand-worked cases on real torch tensors and a real ColorMLP."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from ex_color.errors import UserError
from ex_color.interventions import (
    BezierMapper,
    BoundedFalloff,
    FastBezierMapper,
    LinearMapper,
    Placement,
    Repulsion,
    Suppression,
    ablate,
    capture,
    concept_vector,
    intervene,
    prune,
)
from ex_color.model import ColorMLP

RED = torch.tensor([1.0, 0.0, 0.0, 0.0])
S = math.sqrt(0.5)


def rand_rows(n: int = 10_000, width: int = 4, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    sphere = torch.randn(n, width, generator=gen)
    sphere = sphere / sphere.norm(dim=1, keepdim=True)
    scaled = sphere * torch.rand(n, 1, generator=gen) * 3.0  # off the sphere: lengths in [0, 3)
    return torch.cat([sphere, scaled])


def model(normalize: bool = False, seed: int = 0) -> ColorMLP:
    torch.manual_seed(seed)
    return ColorMLP(4, normalize=normalize).eval()


def colours(n: int = 256, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, generator=torch.Generator().manual_seed(seed))


# --- falloff -----------------------------------------------------------------------------------------


def test_falloff_hand_values():
    f = BoundedFalloff()  # a=0, b=1, power=2
    d = torch.tensor([-0.5, 0.0, 0.5, S, 1.0])
    assert torch.allclose(f(d), torch.tensor([0.0, 0.0, 0.25, 0.5, 1.0]))


def test_falloff_with_threshold_and_scale():
    f = BoundedFalloff(a=0.5, b=0.8, power=1.0)
    d = torch.tensor([0.2, 0.5, 0.75, 1.0])
    assert torch.allclose(f(d), torch.tensor([0.0, 0.0, 0.4, 0.8]))
    g = BoundedFalloff(a=0.2, b=1.0, power=3.0)
    assert torch.allclose(g(torch.tensor([0.6])), torch.tensor([0.125]))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"a": 1.0}, "a"),
        ({"a": -0.1}, "a"),
        ({"b": 0.0}, "b"),
        ({"b": 1.5}, "b"),
        ({"power": -1.0}, "power"),
        ({"a": "x"}, "a"),
        ({"b": float("nan")}, "b"),
    ],
)
def test_falloff_validation_names_parameter(kwargs, name):
    with pytest.raises(UserError, match=rf"falloff: {name}\b.*{name}="):
        BoundedFalloff(**kwargs)


def test_falloff_power_0_is_a_constant_gate_past_a():
    d = torch.tensor([-0.5, 0.0, 1e-6, 0.3, 1.0])
    assert torch.equal(BoundedFalloff(a=0.0, b=1.0, power=0)(d), torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0]))
    assert torch.equal(BoundedFalloff(a=0.3, b=0.5, power=0.0)(d), torch.tensor([0.0, 0.0, 0.0, 0.0, 0.5]))


# --- suppression -------------------------------------------------------------------------------------


def test_suppression_removes_on_concept_rows_completely():
    sup = Suppression(RED, BoundedFalloff())
    z = torch.stack([RED, 2 * RED, 0.5 * RED])
    out = sup(z)
    # RED and 2*RED: d clamps to 1, gate 1 -> zero. 0.5*RED: d=0.5, gate 0.25, z' = 0.5 - 0.25*0.5.
    assert torch.allclose(out[:2], torch.zeros(2, 4))
    assert torch.allclose(out[2], torch.tensor([0.375, 0.0, 0.0, 0.0]))


def test_suppression_leaves_orthogonal_and_anti_aligned_rows():
    sup = Suppression(RED, BoundedFalloff())
    z = torch.tensor([[0.0, 1.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0], [-0.5, 0.3, -0.2, 0.9]])
    assert torch.equal(sup(z), z)


def test_suppression_45_degrees_power_2():
    sup = Suppression(RED, BoundedFalloff(power=2.0))
    z = torch.tensor([[S, S, 0.0, 0.0]])
    # d = cos45 ~ 0.7071, g = d^2 = 0.5, z' = z - 0.5 * 0.7071 * c
    assert torch.allclose(sup(z), torch.tensor([[S - 0.5 * S, S, 0.0, 0.0]]), atol=1e-6)


def test_suppression_normalises_concept_and_checks_width():
    sup = Suppression(torch.tensor([2.0, 0.0, 0.0, 0.0]), BoundedFalloff())
    assert torch.allclose(sup(RED[None]), torch.zeros(1, 4))
    with pytest.raises(UserError, match="suppression"):
        sup(torch.zeros(3, 5))
    with pytest.raises(UserError, match="suppression: concept"):
        Suppression(torch.zeros(4), BoundedFalloff())


def test_suppression_with_power_0_removes_the_whole_concept_component_on_the_concept_side():
    """The redux suppression (a = 0, b = 1, power 0): a half-space projection."""
    z = torch.cat([rand_rows(2_000)[:2_000], torch.tensor([[0.0, 1.0, 0.0, 0.0], [-S, S, 0.0, 0.0]])])
    out = Suppression(RED, BoundedFalloff(a=0.0, b=1.0, power=0.0))(z)
    d = z @ RED
    red_side = d > 0
    assert red_side.sum() > 900 and (~red_side).sum() > 900
    assert torch.allclose(out[red_side] @ RED, torch.zeros(int(red_side.sum())), atol=1e-7)
    assert torch.allclose(out[red_side].norm(dim=-1), (1 - d[red_side] ** 2).sqrt(), atol=1e-6)
    assert torch.equal(out[~red_side], z[~red_side])


# --- mappers -----------------------------------------------------------------------------------------


def test_linear_mapper_hand_values():
    m = LinearMapper(0.0, 0.5)
    d = torch.tensor([-0.3, 0.0, 0.5, 1.0])
    assert torch.allclose(m(d), torch.tensor([-0.3, 0.0, 0.25, 0.5]))
    m2 = LinearMapper(0.2, 0.6)
    assert torch.allclose(m2(torch.tensor([0.1, 0.6, 1.0])), torch.tensor([0.1, 0.4, 0.6]))


def test_the_redux_linear_mapper_sends_the_concept_side_to_within_1_degree_of_its_plane():
    """LinearMapper(0, cos 89°): d* = 0.0174524·d, linear from (a, a) to (1, b)."""
    b = math.cos(math.radians(89))
    m = LinearMapper(0.0, 0.0174524)
    d = torch.tensor([-0.4, 0.0, 0.2, 0.7, 1.0])
    assert torch.allclose(m(d), torch.tensor([-0.4, 0.0, 0.2 * 0.0174524, 0.7 * 0.0174524, 0.0174524]))
    z = rand_rows(2_000)[:2_000]
    out = Repulsion(RED, m)(z)
    red_side = z @ RED > 0
    assert torch.allclose(out[red_side].norm(dim=-1), torch.ones(int(red_side.sum())), atol=1e-6)
    assert (out[red_side] @ RED).max() <= b + 1e-6
    assert torch.equal(out[~red_side], z[~red_side])


def test_bezier_control_points_for_a0_b05():
    p0, p1, p2, p3 = BezierMapper(0.0, 0.5).control_points
    assert p0 == (0.0, 0.0) and p3 == (1.0, 0.5)
    assert p1 == pytest.approx((0.3536, 0.3536), abs=1e-4)
    assert p2 == pytest.approx((0.6464, 0.5), abs=1e-4)


@pytest.mark.parametrize("a, b", [(0.0, 0.5), (0.3, 0.6), (-0.5, 0.2)])
def test_bezier_endpoints_slopes_monotonic_identity(a, b):
    m = BezierMapper(a, b)
    d = torch.tensor([a, 1.0], dtype=torch.float64)
    assert torch.allclose(m(d), torch.tensor([a, b], dtype=torch.float64), atol=1e-9)
    h = 1e-5
    start_slope = (m(torch.tensor([a + h], dtype=torch.float64)) - a) / h
    end_slope = (b - m(torch.tensor([1.0 - h], dtype=torch.float64))) / h
    assert float(start_slope) == pytest.approx(1.0, abs=1e-3)
    assert abs(float(end_slope)) < 1e-2
    grid = torch.linspace(a, 1.0, 5001, dtype=torch.float64)
    assert bool((m(grid).diff() >= -1e-12).all())
    below = torch.linspace(-1.0, a, 50, dtype=torch.float64)
    assert torch.equal(m(below), below)


def test_bezier_is_exact_to_the_curve():
    m = BezierMapper(0.0, 0.5)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = m.control_points
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    s = 1 - t
    x = s**3 * x0 + 3 * s**2 * t * x1 + 3 * s * t**2 * x2 + t**3 * x3
    y = s**3 * y0 + 3 * s**2 * t * y1 + 3 * s * t**2 * y2 + t**3 * y3
    assert torch.allclose(m(x), y, atol=1e-7)


@pytest.mark.parametrize("a, b", [(0.0, 0.5), (0.3, 0.6), (-0.5, 0.2), (0.9, 0.95)])
def test_fast_bezier_agrees_with_exact(a, b):
    d = torch.linspace(-1.0, 1.0, 20_001)
    assert torch.allclose(FastBezierMapper(a, b)(d), BezierMapper(a, b)(d), atol=1e-3)


@pytest.mark.parametrize("cls", [LinearMapper, BezierMapper, FastBezierMapper])
def test_mapper_validation(cls):
    with pytest.raises(UserError, match=r"^mapper: a must be less than b \(got a=0.7, b=0.5\)$"):
        cls(0.7, 0.5)
    with pytest.raises(UserError, match="mapper: a "):
        cls(-1.0, 0.5)
    with pytest.raises(UserError, match="mapper: b "):
        cls(0.0, 1.0)


def test_fast_bezier_validates_n():
    with pytest.raises(UserError, match="n="):
        FastBezierMapper(0.0, 0.5, n=1)


# --- repulsion ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mapper", [BezierMapper(0.0, 0.5), FastBezierMapper(0.0, 0.5), LinearMapper(0.0, 0.5)])
def test_repulsion_bounds_alignment_and_unit_norm(mapper):
    z = rand_rows()
    out = Repulsion(RED, mapper)(z)
    dot = z @ RED
    moved = dot > 0
    assert float((out @ RED).max()) <= 0.5 + 1e-4
    assert torch.allclose(out[moved].norm(dim=1), torch.ones(int(moved.sum())), atol=1e-5)
    assert torch.equal(out[~moved], z[~moved])


def test_repulsion_sends_on_concept_rows_to_b():
    rep = Repulsion(RED, BezierMapper(0.0, 0.5))
    out = rep(torch.stack([RED, 3 * RED]))
    assert torch.allclose(out @ RED, torch.tensor([0.5, 0.5]), atol=1e-6)
    assert torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-6)
    # deterministic fallback direction, orthogonal to the concept
    assert torch.equal(out[0], out[1])


def test_repulsion_preserves_perpendicular_direction():
    z = rand_rows(2000)
    out = Repulsion(RED, BezierMapper(0.0, 0.5))(z)
    moved = (z @ RED) > 0
    perp_in = z[moved, 1:] / z[moved, 1:].norm(dim=1, keepdim=True)
    perp_out = out[moved, 1:] / out[moved, 1:].norm(dim=1, keepdim=True)
    assert torch.allclose(perp_in, perp_out, atol=1e-5)


def test_repulsion_hand_case():
    # 45 deg row, linear mapper a=0, b=0.5 -> d* = 0.5*cos45; perpendicular direction is e2
    out = Repulsion(RED, LinearMapper(0.0, 0.5))(torch.tensor([[S, S, 0.0, 0.0]]))
    ds = 0.5 * S
    assert torch.allclose(out, torch.tensor([[ds, math.sqrt(1 - ds * ds), 0.0, 0.0]]), atol=1e-6)


def test_repulsion_fallback_for_general_concept():
    c = torch.tensor([0.5, 0.5, 0.5, 0.5])
    out = Repulsion(c, BezierMapper(0.0, 0.5))(c[None])
    assert float(out[0] @ c) == pytest.approx(0.5, abs=1e-6)
    assert float(out[0].norm()) == pytest.approx(1.0, abs=1e-6)


def test_repulsion_needs_two_dims():
    with pytest.raises(UserError, match="repulsion"):
        Repulsion(torch.tensor([1.0]), BezierMapper(0.0, 0.5))


# --- concept vectors ---------------------------------------------------------------------------------


def test_concept_vector_validation_and_normalisation(caplog):
    assert torch.equal(concept_vector([1, 0, 0, 0], 4, "red"), RED)
    assert torch.equal(concept_vector([1, 0, 0], 4, "red"), RED)  # a shorter concept extends with zeros
    assert concept_vector([1, 0, 0, 0], 5, "red").tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    with pytest.raises(UserError, match="concept 'red'.*5 values.*4 wide"):
        concept_vector([1, 0, 0, 0, 0], 4, "red")
    with pytest.raises(UserError, match="concept 'red'.*zero"):
        concept_vector([0, 0, 0, 0], 4, "red")
    with pytest.raises(UserError, match="concept 'red'"):
        concept_vector(["x", 0, 0, 0], 4, "red")
    with caplog.at_level(logging.WARNING, logger="ex_color.interventions.concept"):
        c = concept_vector([3, 4, 0, 0], 4, "odd")
    assert torch.allclose(c, torch.tensor([0.6, 0.8, 0.0, 0.0]))
    assert "'odd'" in caplog.text and "normalised" in caplog.text


# --- hooks -------------------------------------------------------------------------------------------


def test_intervene_changes_output_and_restores_it():
    m = model()
    x = colours()
    before = m(x)
    with capture(m, "encoder") as plain:
        m(x)
    sup = Suppression(plain["encoder"][0].mean(0), BoundedFalloff())  # a concept the latents align with
    with intervene(m, [(sup, ["encoder"])]), capture(m, "encoder") as rec:
        during = m(x)
    after = m(x)
    assert torch.allclose(rec["encoder"][0], sup(plain["encoder"][0]))
    assert not torch.equal(rec["encoder"][0], plain["encoder"][0])
    assert not torch.equal(before, during)
    assert torch.equal(before, after)
    assert all(not mod._forward_hooks for mod in m.modules())


def test_hooks_removed_after_exception():
    m = model()
    with pytest.raises(RuntimeError, match="boom"):
        with intervene(m, [Placement(Suppression(RED, BoundedFalloff()), "encoder")]):
            with capture(m, ["decoder.0"]):
                raise RuntimeError("boom")
    assert not m.encoder._forward_hooks and not m.decoder[0]._forward_hooks
    assert all(not mod._forward_hooks for mod in m.modules())


def test_stacked_interventions_compose_in_order():
    m = model()
    x = colours()
    double = lambda z: z * 2.0  # noqa: E731
    plus_one = lambda z: z + 1.0  # noqa: E731
    with capture(m, "encoder") as plain:
        m(x)
    with intervene(m, [(double, "encoder"), (plus_one, ["encoder"])]):
        with capture(m, "encoder") as rec:
            m(x)
    assert torch.allclose(rec["encoder"][0], plain["encoder"][0] * 2.0 + 1.0)
    with intervene(m, [(plus_one, "encoder"), (double, "encoder")]):
        with capture(m, "encoder") as rec2:
            m(x)
    assert torch.allclose(rec2["encoder"][0], (plain["encoder"][0] + 1.0) * 2.0)


def test_capture_sees_intervened_latents_and_appends_per_call():
    m = model(normalize=True)
    x = colours()
    rep = Repulsion(RED, BezierMapper(0.0, 0.5))
    with intervene(m, [(rep, ["latent"])]), capture(m, ["latent", "decoder.0"]) as rec:
        m(x[:100])
        m(x[100:])
    assert [t.shape[0] for t in rec["latent"]] == [100, 156]
    z = torch.cat(rec["latent"])
    assert float((z @ RED).max()) <= 0.5 + 1e-4
    assert len(rec["decoder.0"]) == 2


def test_unknown_layer_raises_listing_valid_names():
    m = model()
    with pytest.raises(UserError, match=r"unknown layer 'encodr'.*encoder, encoder\.0.*decoder\.0"):
        with intervene(m, [(lambda z: z, ["encoder", "encodr"])]):
            pass
    assert all(not mod._forward_hooks for mod in m.modules())
    with pytest.raises(UserError, match="unknown layer 'nope'"):
        with capture(m, "nope"):
            pass


# --- surgery -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [False, True])
def test_ablate_zeroes_dim_and_keeps_shapes(normalize):
    m = model(normalize)
    state = {k: v.clone() for k, v in m.state_dict().items()}
    cut = ablate(m, [1, 3])
    for k, v in m.state_dict().items():
        assert torch.equal(v, state[k])
    assert {k: v.shape for k, v in cut.state_dict().items()} == {k: v.shape for k, v in state.items()}
    with capture(cut, "latent") as rec:
        cut(colours())
    z = rec["latent"][0]
    assert torch.equal(z[:, [1, 3]], torch.zeros(256, 2))
    assert bool((z[:, [0, 2]] != 0).any())
    assert torch.equal(cut.decoder[0].weight[:, [1, 3]], torch.zeros(16, 2))


@pytest.mark.parametrize("normalize", [False, True])
def test_prune_matches_ablation(normalize):
    m = model(normalize, seed=7)
    x = colours()
    pruned = prune(m, [2])
    assert pruned.bottleneck_dim == 3 and m.bottleneck_dim == 4
    assert pruned.encoder[2].weight.shape == (3, 16) and pruned.decoder[0].weight.shape == (16, 3)
    assert m.encoder[2].weight.shape == (4, 16)
    with torch.no_grad():
        assert torch.allclose(pruned(x), ablate(m, [2])(x), atol=1e-6)
        with capture(pruned, "latent") as rec:
            pruned(x)
    assert rec["latent"][0].shape == (256, 3)


@pytest.mark.parametrize("dims", [[4], [-1], [0, 1, 2, 3], [1, 1], [], [1.5], "a"])
def test_surgery_rejects_invalid_dims(dims):
    m = model()
    for fn in (ablate, prune):
        with pytest.raises(UserError, match="surgery: (dim|dims)"):
            fn(m, dims)


def test_surgery_rejects_bad_layers():
    m = model()
    with pytest.raises(UserError, match="producer 'encoder.1'"):
        ablate(m, [0], producer="encoder.1")
    with pytest.raises(UserError, match="unknown layer"):
        prune(m, [0], consumer="decoder.9")
    with pytest.raises(UserError, match="outputs 4 dims but consumer"):
        prune(m, [0], consumer="decoder.2")


@pytest.mark.parametrize("layers, producer", [(1, "encoder.2"), (2, "encoder.4"), (3, "encoder.6")])
def test_surgery_finds_the_latent_s_linears_from_the_model(layers, producer):
    torch.manual_seed(3)
    m = ColorMLP(5, 16, normalize=True, sigmoid=False, nonlinear_layers=layers).eval()
    x = colours()
    cut, pruned = ablate(m, [0]), prune(m, [0])
    assert torch.equal(cut.get_submodule(producer).weight[0], torch.zeros(16))
    assert torch.equal(cut.decoder[0].weight[:, 0], torch.zeros(16))
    assert pruned.get_submodule(producer).out_features == 4 and pruned.decoder[0].in_features == 4
    assert pruned.bottleneck_dim == 4 and pruned.latent_producer == producer
    # the hidden Linear(16, 16) layers are untouched
    for name, module in m.named_modules():
        if isinstance(module, torch.nn.Linear) and name not in (producer, "decoder.0"):
            assert torch.equal(cut.get_submodule(name).weight, module.weight), name
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), cut(x), atol=1e-6, rtol=0)  # pruning = ablation (spec §0.7)
        assert not torch.allclose(cut(x), m(x))


def _built(kind: str, overrides: list[str], m: torch.nn.Module):
    from ex_color.builders import build_intervention
    from ex_color.config import compose_intervention

    icfg = compose_intervention(kind, overrides)
    return build_intervention(icfg.intervention, icfg.concepts, m)


@pytest.mark.parametrize("kind", ["ablation", "prune"])
def test_surgery_configs_default_to_the_model_s_own_producer_and_consumer(kind):
    m = ColorMLP(5, 16, normalize=True, sigmoid=False, nonlinear_layers=2)
    built = _built(kind, ["intervention.dims=[0,2]"], m)
    assert built.record() == {"kind": kind, "dims": [0, 2], "producer": "encoder.4", "consumer": "decoder.0"}
    named = _built(kind, ["intervention.producer=encoder.4", "intervention.consumer=decoder.0"], m)
    assert named.record()["producer"] == "encoder.4"
    # N = 2 with the N = 1 producer pinned: a Linear, but not the latent's
    with pytest.raises(
        UserError, match=r"^intervention\.consumer: 'decoder\.0' takes 5 dims but the producer 'encoder\.2' outputs 16$"
    ):
        _built(kind, ["intervention.producer=encoder.2"], m)
    with pytest.raises(UserError, match=r"^intervention\.producer: 'encoder\.3' names no Linear layer; Linear layers"):
        _built(kind, ["intervention.producer=encoder.3"], m)
    with pytest.raises(UserError, match=r"^intervention\.consumer: 'decoder\.2' takes 16 dims but the producer"):
        _built(kind, ["intervention.consumer=decoder.2"], m)
    with pytest.raises(UserError, match=r"^intervention\.dims: dim 5 is outside the 5-dim latent \(dims 0\.\.4\)$"):
        _built(kind, ["intervention.dims=[5]"], m)
    with pytest.raises(UserError, match=r"^intervention\.dims: \[0, 1, 2, 3, 4\] names all 5 latent dimensions"):
        _built(kind, ["intervention.dims=[0,1,2,3,4]"], m)


def test_axis_suppression_zeroes_dims_after_the_normalisation_without_renormalising():
    torch.manual_seed(5)
    m = ColorMLP(4, 16, normalize=True, sigmoid=False).eval()
    built = _built("axis-suppression", ["intervention.dims=[0,1]"], m)
    assert built.record() == {"kind": "axis-suppression", "dims": [0, 1], "layers": ["latent"]}
    assert built.changes_model and built.concept is None and built.transform() is None
    x = colours()
    with torch.no_grad(), capture(m, ["latent"]) as before:
        m(x)
    model_out, placements = built.applied_to(m)
    assert model_out is m
    with torch.no_grad(), intervene(m, placements), capture(m, ["latent"]) as after:
        out = m(x)
    z, z_after = before["latent"][0], after["latent"][0]
    assert torch.equal(z_after[:, :2], torch.zeros(256, 2)) and torch.equal(z_after[:, 2:], z[:, 2:])
    assert (z_after.norm(dim=1) < 1 - 1e-3).any()  # not renormalised
    with torch.no_grad():
        assert torch.equal(out, m.decoder(z_after).clamp(0, 1))
        assert not torch.allclose(out, ablate(m, [0, 1])(x))  # ablation renormalises the rest
    # on a 5-dim latent, dims are checked against its width
    wide = ColorMLP(5, 16, normalize=True, sigmoid=False, nonlinear_layers=2)
    assert _built("axis-suppression", ["intervention.dims=[4]"], wide).dims == [4]
    with pytest.raises(UserError, match=r"^intervention\.dims: dim 4 is outside the 4-dim latent"):
        _built("axis-suppression", ["intervention.dims=[4]"], m)
    with pytest.raises(UserError, match=r"^intervention\.dims: dims must not repeat"):
        _built("axis-suppression", ["intervention.dims=[1,1]"], m)


def test_axis_suppression_by_hand():
    from ex_color.interventions.axis_suppression import AxisSuppression

    z = torch.tensor([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8]])
    assert torch.equal(AxisSuppression([1])(z), torch.tensor([[0.6, 0.0, 0.0], [0.0, 0.0, 0.8]]))
    stacked = torch.stack([z, 2 * z])  # seeds stacked [S, B, n]
    assert torch.equal(AxisSuppression([0, 2])(stacked)[1], torch.tensor([[0.0, 1.6, 0.0], [0.0, 1.2, 0.0]]))


# --- mappers and falloffs chosen in config ----------------------------------------------------------


def test_the_repulsion_config_chooses_its_mapper_by_target_and_its_figures_draw(tmp_path):
    from ex_color.builders import build_intervention
    from ex_color.config import compose_intervention
    from ex_color.interventions.kinds import response_curve
    from ex_color.plots import Cone, plot_intervention_curve, plot_latent_views, save_figure

    built = model(normalize=True)
    default = compose_intervention("repulsion")
    assert isinstance(build_intervention(default.intervention, default.concepts, built).shaper, FastBezierMapper)
    icfg = compose_intervention(
        "repulsion",
        ["intervention.mapper._target_=ex_color.interventions.LinearMapper", "intervention.mapper.b=0.0174524"],
    )
    linear = build_intervention(icfg.intervention, icfg.concepts, built)
    assert linear.shaper == LinearMapper(0.0, 0.0174524)
    assert linear.record()["mapper"] == {"type": "LinearMapper", "a": 0.0, "b": 0.0174524}
    starts, ends = linear.cones()
    assert starts.half_angle == pytest.approx(math.pi / 2, abs=1e-3)
    assert ends.half_angle == pytest.approx(math.radians(89), abs=1e-6)
    align_in, align_out, lobe = response_curve(linear.transform(), linear.concept[1])
    assert align_out.max() == pytest.approx(0.0174524, abs=1e-6)
    figure, alt = plot_intervention_curve(align_in, align_out, "repulsion", linear.params, lobe_xy=lobe)
    assert save_figure(figure, tmp_path / "linear.png", alt).stat().st_size > 0
    rgb = colours(64)
    with torch.no_grad(), intervene(built, [(linear.transform(), linear.layers)]), capture(built, ["latent"]) as seen:
        out = built(rgb)
    figure, alt = plot_latent_views(
        seen["latent"][0].numpy(), out.numpy(), rgb.numpy(), cones=[Cone(*m) for m in linear.cones()]
    )
    assert save_figure(figure, tmp_path / "latents.png", alt).stat().st_size > 0


def test_the_power_0_suppression_builds_from_config():
    from ex_color.builders import build_intervention
    from ex_color.config import compose_intervention

    icfg = compose_intervention("suppression", ["intervention.falloff.power=0"])
    built = build_intervention(icfg.intervention, icfg.concepts, model(normalize=True))
    assert built.shaper == BoundedFalloff(0.0, 1.0, 0.0) and built.cones()[0].half_angle == pytest.approx(math.pi / 2)


@pytest.mark.parametrize(
    "kind, target, listed",
    [
        ("repulsion", "ex_color.interventions.NoSuchMapper", "ex_color.interventions.LinearMapper"),
        ("repulsion", "nowhere.at.all", "ex_color.interventions.FastBezierMapper"),
        ("suppression", "math.pi", "ex_color.interventions.BoundedFalloff"),
    ],
)
def test_a_shaper_target_that_names_nothing_is_refused_listing_the_shipped_ones(kind, target, listed):
    from ex_color.builders import build_intervention
    from ex_color.config import compose_intervention

    key = "mapper" if kind == "repulsion" else "falloff"
    icfg = compose_intervention(kind, [f"intervention.{key}._target_={target}"])
    with pytest.raises(UserError) as error:
        build_intervention(icfg.intervention, icfg.concepts, model(normalize=True))
    message = str(error.value)
    assert message.startswith(f"intervention.{key}._target_: '{target}' names no {key}; {key}s: ")
    assert listed in message and "\n" not in message
