"""The deletion experiments' terms (later-experiments §0.3): AntiAnchor, AxisAlignedSubspace and Planarity as
its {0, 1} case, by hand, against the spec written out plainly, on stacks, through a Hydra config; and the
desaturated label."""

import math

import pytest
import torch

from ex_color.losses import (
    AntiAnchor,
    AxisAlignedSubspace,
    Planarity,
    Regularizer,
    RegularizerSet,
    takes_stacks,
)

R = math.sqrt(0.5)


def test_anti_anchor_by_hand():
    # hemi: max(ẑ·p̂, 0): on p's ray (any length) 1, at 45° √½, at right angles and beyond 0
    z = torch.tensor([[-3.0, 0, 0, 0], [-1.0, 1.0, 0, 0], [0, 2.0, 0, 0], [1.0, 0, 0, 0]])
    torch.testing.assert_close(AntiAnchor((-2, 0, 0, 0))(z), torch.tensor([1.0, R, 0.0, 0.0]))
    # not hemi: (ẑ·p̂ + 1)/2: 1 on the ray, ½ at right angles, 0 opposite
    torch.testing.assert_close(AntiAnchor((-2, 0, 0, 0), hemi=False)(z), torch.tensor([1.0, (R + 1) / 2, 0.5, 0.0]))
    # ẑ = z / (‖z‖ + 1e-8): a zero row is at right angles to everything
    assert AntiAnchor((1, 0))(torch.zeros(1, 2)).tolist() == [0.0]
    assert AntiAnchor((1, 0), hemi=False)(torch.zeros(1, 2)).tolist() == [0.5]


def test_anti_anchor_at_minus_red_charges_only_the_far_side_of_the_red_axis():
    torch.manual_seed(0)
    z = torch.randn(64, 5, dtype=torch.float64)
    # spec §0.3, "anti-anchor": max(−z_0/(‖z‖ + 1e-8), 0), p̂ = −e_0/(1 + 1e-8)
    plain = torch.clamp(-z[:, 0] / (z.norm(dim=1) + 1e-8) / (1 + 1e-8), min=0)
    ours = AntiAnchor((-1, 0, 0, 0, 0))(z)
    torch.testing.assert_close(ours, plain, rtol=1e-12, atol=1e-12)
    assert (ours[z[:, 0] >= 0] == 0).all() and (ours[z[:, 0] < 0] > 0).all()


def test_anti_anchor_fits_a_layer_like_anchor():
    assert AntiAnchor((-1, 0, 0, 0)).for_width(5) == AntiAnchor((-1, 0, 0, 0, 0))
    assert AntiAnchor((-1, 0, 0, 0), hemi=False).for_width(5).hemi is False
    with pytest.raises(ValueError, match="more than the layer's width 3"):
        AntiAnchor((-1, 0, 0, 0)).for_width(3)


def test_axis_aligned_subspace_by_hand():
    z = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    assert AxisAlignedSubspace((0, 1))(z).tolist() == [9 + 16 + 25]  # keep dims 0, 1: charge the rest
    assert AxisAlignedSubspace((2, 3, 4))(z).tolist() == [1 + 4]  # 2.9's planar-d: z_0² + z_1²
    assert AxisAlignedSubspace((0,), invert=True)(z).tolist() == [1]  # the anti-subspace: z_0²
    assert AxisAlignedSubspace((1, 3), invert=True)(z).tolist() == [4 + 16]
    # indices past the width are ignored; nothing charged gives 0
    assert AxisAlignedSubspace((0, 1, 7))(z).tolist() == [9 + 16 + 25]
    assert AxisAlignedSubspace((0, 1, 2, 3, 4, 9))(z).tolist() == [0.0]
    assert AxisAlignedSubspace((7,), invert=True)(z).tolist() == [0.0]


def test_the_anti_subspace_on_a_unit_latent_is_the_squared_cosine_to_red():
    z = torch.nn.functional.normalize(torch.randn(32, 5, dtype=torch.float64), dim=1)
    red = torch.tensor([1.0, 0, 0, 0, 0], dtype=torch.float64)
    torch.testing.assert_close(AxisAlignedSubspace((0,), invert=True)(z), (z @ red) ** 2)


def test_planarity_is_the_subspace_of_dims_0_and_1():
    torch.manual_seed(0)
    for width in (2, 3, 4, 5):
        z = torch.randn(16, width, dtype=torch.float64)
        ours = Planarity()(z)
        torch.testing.assert_close(ours, AxisAlignedSubspace((0, 1))(z), rtol=0, atol=0)
        torch.testing.assert_close(ours, z[:, 2:].square().sum(1), rtol=0, atol=0)
    assert isinstance(Planarity(), AxisAlignedSubspace) and Planarity().dims == (0, 1) and not Planarity().invert
    assert Planarity() == Planarity() and hash(Planarity()) == hash(Planarity())


def test_subspace_dims_are_a_set_of_indices():
    assert AxisAlignedSubspace([3, 2, 2]) == AxisAlignedSubspace((2, 3))
    for bad in ([-1], [0.5], [True]):
        with pytest.raises(ValueError, match="dims must be latent dimension indices"):
            AxisAlignedSubspace(bad)


@pytest.mark.parametrize(
    "term",
    [
        AntiAnchor((-1, 0, 0, 0)),
        AntiAnchor((0, 1, 0, 0), hemi=False),
        AxisAlignedSubspace((0,), invert=True),
        Planarity(),
    ],
    ids=["anti-anchor", "anti-anchor-full", "anti-subspace", "planarity"],
)
def test_the_new_terms_take_stacks_and_give_each_batch_its_own_values_and_gradients(term):
    assert takes_stacks(term)
    regs = RegularizerSet([Regularizer("reg-x", term, ("latent",), {"red": 1.0})], ("red",))
    z = torch.randn(3, 16, 4, dtype=torch.float64, requires_grad=True)
    labels = (torch.rand(3, 16, 1) < 0.5).double()
    values = regs.evaluate({"latent": z}, labels, (0,), stacked=True)
    values.sum().backward()
    for member in range(3):
        alone = z[member].detach().clone().requires_grad_()
        value = regs.evaluate({"latent": alone}, labels[member], (0,))
        value.sum().backward()
        torch.testing.assert_close(value, values[member].detach())
        torch.testing.assert_close(alone.grad, z.grad[member])


def test_gradients_of_the_new_terms_pass_gradcheck():
    torch.manual_seed(2)
    z = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    labels = torch.rand(8, 1, dtype=torch.float64)
    regs = RegularizerSet(
        [
            Regularizer("anti-anchor", AntiAnchor((-1, 0, 0, 0, 0), hemi=False), ("latent",)),
            Regularizer("planar-d", AxisAlignedSubspace((2, 3, 4)), ("latent",), {"desaturated": 1.0}),
            Regularizer("anti-subspace", AxisAlignedSubspace((0,), invert=True), ("latent",)),
        ],
        ("desaturated",),
    )
    assert torch.autograd.gradcheck(
        lambda z: regs({"latent": z}, labels)["planar-d"] + regs({"latent": z}, labels)["anti-anchor"], (z,)
    )


def test_the_desaturated_label_is_one_minus_vibrancy_to_a_power_scaled():
    import numpy as np

    from ex_color.data.cubes import rgb_to_hsv
    from ex_color.data.labels import label_probabilities, parse_labels

    specs = parse_labels({"desaturated": {"power": 10, "scale": 0.5}}, "data.labels")
    rgb = np.random.default_rng(0).random((200, 3))
    hsv = rgb_to_hsv(rgb)
    vibrancy = torch.tensor(hsv[:, 1] * hsv[:, 2])  # S·V of the colour's own HSV (spec §0.2)
    ours = label_probabilities(torch.tensor(rgb), vibrancy, specs)[:, 0]
    torch.testing.assert_close(ours, (1 - vibrancy) ** 10 * 0.5)
    assert parse_labels({"desaturated": 0.5})[0].power == 10  # a bare number: experiment 2.2's power
