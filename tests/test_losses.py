import math

import pytest
import torch

from dataclasses import dataclass

from ex_color.losses import AngularAnchor, Anchor, Planarity, Regularizer, RegularizerSet, Separate, Unitarity, power


def test_anchor_by_hand():
    z = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [2.0, 0, 0, 1.0]])
    torch.testing.assert_close(Anchor((1, 0, 0, 0))(z), torch.tensor([0.0, 2.0, 2.0]))


def test_anchor_pads_a_short_point_with_zeros():
    assert Anchor((1, 0, 0, 0)).for_width(5).point == (1.0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="point has 4 values, more than the layer's width 3"):
        Anchor((1, 0, 0, 0)).for_width(3)


def test_angular_anchor_by_hand():
    # 1 − cos(z, p): on the ray through p (any length) 0, at right angles 1, opposite 2, at 60° 1/2.
    z = torch.tensor([[3.0, 0, 0, 0], [0, 0.5, 0, 0], [-1.0, 0, 0, 0], [0.5, math.sqrt(3) / 2, 0, 0]])
    torch.testing.assert_close(AngularAnchor((2, 0, 0, 0))(z), torch.tensor([0.0, 1.0, 2.0, 0.5]))
    # ẑ = z / (‖z‖ + 1e-8): a zero row is at right angles to everything.
    assert AngularAnchor((0, 1))(torch.zeros(1, 2)).tolist() == [1.0]


def test_angular_anchor_fits_a_layer_like_anchor():
    fitted = AngularAnchor((0, 1, 0, 0)).for_width(5)
    assert type(fitted) is AngularAnchor and fitted.point == (0.0, 1.0, 0.0, 0.0, 0.0)
    assert fitted == AngularAnchor((0, 1, 0, 0, 0)) and hash(fitted) == hash(AngularAnchor((0, 1, 0, 0, 0)))
    with pytest.raises(ValueError, match="point has 4 values, more than the layer's width 3"):
        AngularAnchor((1, 0, 0, 0)).for_width(3)


def test_angular_anchor_matches_the_spec_and_passes_gradcheck():
    torch.manual_seed(2)
    z = torch.randn(8, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.rand(8, 1, dtype=torch.float64)
    point = torch.tensor([1.0, 2.0, 0.0, -1.0], dtype=torch.float64)
    plain = 1 - (z / (z.norm(dim=-1, keepdim=True) + 1e-8)) @ (point / (point.norm() + 1e-8))
    torch.testing.assert_close(AngularAnchor((1, 2, 0, -1))(z), plain)
    regs = RegularizerSet(
        [Regularizer("reg-anchor", AngularAnchor((1, 2, 0, -1)), ("encoder",), {"red": 1.0})], ("red",)
    )
    assert torch.autograd.gradcheck(lambda z: regs({"encoder": z}, labels)["reg-anchor"], (z,))


@dataclass(frozen=True)
class NegatedAnchor(Anchor):
    def __call__(self, z):
        return -super().__call__(z)


def test_a_subclass_keeps_its_class_when_fitted_to_a_width():
    fitted = NegatedAnchor((1, 0)).for_width(4)
    assert type(fitted) is NegatedAnchor and fitted.point == (1.0, 0.0, 0.0, 0.0)


def test_whole_powers_by_squaring_equal_pow():
    x = torch.rand(50, dtype=torch.float64)
    for p in (1, 2, 3, 10, 13, 64, 0.5, 2.5, 100):
        torch.testing.assert_close(power(x, p), x.pow(p))


def test_planarity_and_unitarity_by_hand():
    z = torch.tensor([[3.0, 4.0, 0, 0], [0, 0, 1.0, 2.0], [0.5, 0, 0, 0]])
    torch.testing.assert_close(Planarity()(z), torch.tensor([0.0, 5.0, 0.0]))
    torch.testing.assert_close(Unitarity()(z), torch.tensor([16.0, (math.sqrt(5) - 1) ** 2, 0.25]))
    assert Planarity()(torch.ones(3, 2)).tolist() == [0.0, 0.0, 0.0]


def test_l1_norm_by_hand_on_a_batch_and_a_stack():
    from ex_color.losses import L1Norm, takes_stacks

    z = torch.tensor([[3.0, -4.0, 0, 0], [0, 0, -1.0, 2.0]])
    torch.testing.assert_close(L1Norm()(z), torch.tensor([7.0, 3.0]))
    torch.testing.assert_close(L1Norm()(torch.stack([z, -2 * z])), torch.tensor([[7.0, 3.0], [14.0, 6.0]]))
    assert takes_stacks(L1Norm())


def test_separate_by_hand():
    # Three vectors: a, a duplicate of a (drawn twice), and b at 60 degrees from a.
    a = torch.tensor([1.0, 0.0])
    b = torch.tensor([0.5, math.sqrt(3) / 2])
    z = torch.stack([a, 2 * a, b])
    loss = Separate(power=2, shift=False)(z)
    # Diagonal and the duplicate (cos = 1) are zeroed; cos(a, b) = 0.5 -> 0.25 each.
    torch.testing.assert_close(loss, torch.tensor([0.25, 0.25, 0.5]))
    shifted = Separate(power=1, shift=True)(z)
    # Shift after zeroing: zeros become 0.5, cos 0.5 becomes 0.75.
    torch.testing.assert_close(shifted, torch.tensor([0.5 + 0.5 + 0.75, 0.5 + 0.5 + 0.75, 0.75 + 0.75 + 0.5]))


def test_separate_power_10_of_opposite_vectors():
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    torch.testing.assert_close(Separate(power=10)(z), torch.tensor([1.0, 1.0]))


def test_label_weighting_by_hand():
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    z = torch.tensor([[2.0, 0, 0, 0], [3.0, 0, 0, 0], [4.0, 0, 0, 0], [5.0, 0, 0, 0]])  # Unitarity: 1, 4, 9, 16
    regs = RegularizerSet(
        [
            Regularizer("weighted", Unitarity(), ("encoder",), {"red": 0.7, "vibrant": 0.6}),
            Regularizer("mean", Unitarity(), ("encoder",)),
        ],
        ("red", "vibrant"),
    )
    values = regs({"encoder": z}, labels)
    # α = clamp(0.7 red + 0.6 vibrant, 0, 1) = 0.7, 0.6, 1, 0
    expected = (0.7 * 1 + 0.6 * 4 + 1.0 * 9) / (0.7 + 0.6 + 1.0 + 1e-8)
    assert values["weighted"].item() == pytest.approx(expected)
    assert values["mean"].item() == pytest.approx(7.5)


def test_term_without_its_labels_in_the_batch_contributes_nothing():
    z = torch.randn(4, 4, requires_grad=True)
    regs = RegularizerSet(
        [Regularizer("reg-anchor", Anchor((1, 0, 0, 0)), ("encoder",), {"red": 1.0})], ("red", "vibrant")
    )
    value = regs({"encoder": z}, torch.zeros(4, 2))["reg-anchor"]
    value.backward()
    assert value.item() == 0.0 and torch.count_nonzero(z.grad) == 0


class CountingUnitarity(Unitarity):
    calls = 0

    def __call__(self, z):
        type(self).calls += 1
        return super().__call__(z)


def test_shared_terms_are_computed_once_per_step():
    term = CountingUnitarity()
    regs = RegularizerSet(
        [
            Regularizer("reg-unit", term, ("encoder",)),
            Regularizer("reg-unit-v", CountingUnitarity(), ("encoder",), {"vibrant": 1.0}),
            Regularizer("reg-planar", Planarity(), ("encoder",), {"vibrant": 1.0}),
        ],
        ("red", "vibrant"),
    )
    z = torch.tensor([[2.0, 0, 0, 0], [0.5, 0, 0, 0]])
    labels = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    CountingUnitarity.calls = 0
    values = regs({"encoder": z}, labels)
    assert CountingUnitarity.calls == 1  # equal frozen terms share one computation
    assert values["reg-unit"].item() == pytest.approx((1 + 0.25) / 2)
    assert values["reg-unit-v"].item() == pytest.approx(1.0, rel=1e-6)
    CountingUnitarity.calls = 0
    values = regs({"encoder": z}, labels, active=[False, True, False])
    assert list(values) == ["reg-unit-v"] and CountingUnitarity.calls == 1


def plain_reference(z: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """The 2.2 terms written out plainly from the spec, differentiated by autograd."""
    unit = z / (z.norm(dim=-1, keepdim=True) + 1e-8)
    cos = unit @ unit.T
    cos = torch.where(cos >= 1 - 1e-5, torch.zeros_like(cos), cos)
    red, vibrant = labels[:, 0], labels[:, 1]

    def weighted(values, alpha):
        return (alpha * values).sum() / (alpha.sum() + 1e-8)

    point = torch.tensor([1.0, 0, 0, 0], dtype=z.dtype)
    unitarity = (z.norm(dim=-1) - 1) ** 2
    return {
        "reg-anchor": weighted(((z - point) ** 2).sum(-1), red),
        "reg-separate": (cos**10).sum(-1).mean(),
        "reg-planar": weighted((z[:, 2:] ** 2).sum(-1), vibrant),
        "reg-unit-v": weighted(unitarity, vibrant),
        "reg-unit": unitarity.mean(),
    }


def spec_regularizers() -> RegularizerSet:
    return RegularizerSet(
        [
            Regularizer("reg-anchor", Anchor((1, 0, 0, 0)), ("encoder",), {"red": 1.0}),
            Regularizer("reg-separate", Separate(10.0), ("encoder",)),
            Regularizer("reg-planar", Planarity(), ("encoder",), {"vibrant": 1.0}),
            Regularizer("reg-unit-v", Unitarity(), ("encoder",), {"vibrant": 1.0}),
            Regularizer("reg-unit", Unitarity(), ("encoder",)),
        ],
        ("red", "vibrant"),
    )


def test_terms_match_the_spec_written_out_plainly():
    torch.manual_seed(0)
    z = torch.randn(32, 4, dtype=torch.float64)
    z[5] = z[3]  # a duplicate draw, not repelled
    labels = (torch.rand(32, 2, dtype=torch.float64) < 0.4).double()
    regs = spec_regularizers()
    for name in regs.names:
        z_ours = z.clone().requires_grad_(True)
        z_plain = z.clone().requires_grad_(True)
        ours = regs({"encoder": z_ours}, labels)[name]
        plain = plain_reference(z_plain, labels)[name]
        torch.testing.assert_close(ours, plain, rtol=1e-12, atol=1e-12)
        ours.backward()
        plain.backward()
        torch.testing.assert_close(z_ours.grad, z_plain.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "separate", [Separate(10.0), Separate(100.0, shift=True), Separate(2.5, shift=True), Separate(1.0)]
)
def test_gradients_pass_gradcheck_with_soft_labels_and_several_layers(separate):
    torch.manual_seed(1)
    z = torch.randn(8, 4, dtype=torch.float64, requires_grad=True)
    hidden = torch.randn(8, 6, dtype=torch.float64, requires_grad=True)
    labels = torch.rand(8, 2, dtype=torch.float64)  # soft labels
    regs = RegularizerSet(
        [
            Regularizer("reg-anchor", Anchor((1, 0, 0, 0)), ("encoder",), {"red": 1.0}),
            Regularizer("reg-separate", separate, ("encoder",)),
            Regularizer("reg-unit", Unitarity(), ("encoder", "hidden"), {"vibrant": 0.5}),
            Regularizer("reg-planar", Planarity(), ("hidden",)),
        ],
        ("red", "vibrant"),
    )
    weights = torch.tensor([0.3, 0.01, 1.0, 0.2], dtype=torch.float64)

    def total(z, hidden):
        values = regs({"encoder": z, "hidden": hidden}, labels)
        return sum(w * values[name] for w, name in zip(weights, regs.names))

    assert torch.autograd.gradcheck(total, (z, hidden))


def test_a_regularizer_on_two_layers_sums_them():
    z, hidden = torch.randn(5, 4), torch.randn(5, 6)
    regs = RegularizerSet([Regularizer("reg-unit", Unitarity(), ("encoder", "hidden"))], ())
    value = regs({"encoder": z, "hidden": hidden}, torch.zeros(5, 0))["reg-unit"]
    torch.testing.assert_close(value, Unitarity()(z).mean() + Unitarity()(hidden).mean())


@dataclass(frozen=True)
class GramSpread:
    """A user's term written for one batch only: it needs `z @ z.T` of [B, n] activations."""

    def __call__(self, z):
        return (z @ z.T).square().mean(-1)


class NoVmap(Unitarity):
    def __call__(self, z):
        if z.sum().item() > 1e9:  # data-dependent control flow: vmap cannot trace it
            return z.sum(-1)
        return super().__call__(z)


def test_only_a_class_that_writes_its_own_call_promises_to_take_stacks():
    from ex_color.losses import takes_stacks

    assert all(takes_stacks(t) for t in (Anchor((1, 0)), AngularAnchor((1, 0)), Separate(), Planarity(), Unitarity()))
    assert not takes_stacks(NegatedAnchor((1, 0))) and not takes_stacks(GramSpread()) and not takes_stacks(NoVmap())


@pytest.mark.parametrize(
    "term",
    [
        Separate(10.0, shift=True),
        Separate(100.0),
        Planarity(),
        Unitarity(),
        AngularAnchor((0, 1, 0, 0)),
        GramSpread(),
        NoVmap(),
    ],
    ids=["separate-shift", "separate", "planarity", "unitarity", "angular-anchor", "user-term", "no-vmap"],
)
def test_a_stack_of_batches_gives_each_batch_s_own_values_and_gradients(term):
    regs = RegularizerSet(
        [
            Regularizer("reg-x", term, ("encoder",)),
            Regularizer("reg-anchor", Anchor((1, 0, 0, 0)), ("encoder",), {"red": 1.0}),
        ],
        ("red",),
    )
    active = (0, 1)
    z = torch.randn(3, 16, 4, dtype=torch.float64, requires_grad=True)
    labels = (torch.rand(3, 16, 1) < 0.5).double()
    values = regs.evaluate({"encoder": z}, labels, active, stacked=True)
    assert values.shape == (3, 2)
    values.sum().backward()
    for member in range(3):
        alone = z[member].detach().clone().requires_grad_()
        value = regs.evaluate({"encoder": alone}, labels[member], active)
        value.sum().backward()
        torch.testing.assert_close(value, values[member].detach())
        torch.testing.assert_close(alone.grad, z.grad[member])
