import math

import pytest
import torch

from ex_color.losses import (
    Anchor,
    Planarity,
    Regularizer,
    RegularizerSet,
    Separate,
    Unitarity,
    label_affinity,
    label_weighted_mean,
)


def test_anchor_by_hand():
    z = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [2.0, 0, 0, 1.0]])
    torch.testing.assert_close(Anchor((1, 0, 0, 0))(z), torch.tensor([0.0, 2.0, 2.0]))


def test_anchor_pads_a_short_point_with_zeros():
    assert Anchor((1, 0, 0, 0)).padded_to(5).point == (1.0, 0.0, 0.0, 0.0, 0.0)


def test_planarity_and_unitarity_by_hand():
    z = torch.tensor([[3.0, 4.0, 0, 0], [0, 0, 1.0, 2.0], [0.5, 0, 0, 0]])
    torch.testing.assert_close(Planarity()(z), torch.tensor([0.0, 5.0, 0.0]))
    torch.testing.assert_close(Unitarity()(z), torch.tensor([16.0, (math.sqrt(5) - 1) ** 2, 0.25]))
    assert Planarity()(torch.ones(3, 2)).tolist() == [0.0, 0.0, 0.0]


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
    alpha = label_affinity(labels, ("red", "vibrant"), {"red": 0.7, "vibrant": 0.6})
    torch.testing.assert_close(alpha, torch.tensor([0.7, 0.6, 1.0, 0.0]))  # clamped to 1
    losses = torch.tensor([1.0, 2.0, 3.0, 4.0])
    expected = (0.7 * 1 + 0.6 * 2 + 1.0 * 3) / (0.7 + 0.6 + 1.0 + 1e-8)
    assert label_weighted_mean(losses, alpha).item() == pytest.approx(expected)
    assert label_weighted_mean(losses, None).item() == pytest.approx(2.5)


def test_term_without_its_labels_in_the_batch_contributes_nothing():
    z = torch.randn(4, 4, requires_grad=True)
    labels = torch.zeros(4, 2)
    alpha = label_affinity(labels, ("red", "vibrant"), {"red": 1.0})
    value = label_weighted_mean(Anchor((1, 0, 0, 0))(z), alpha)
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


def test_fused_terms_match_plain_autograd_values_and_gradients():
    torch.manual_seed(0)
    z = torch.randn(32, 4, dtype=torch.float64)
    z[5] = z[3]  # a duplicate draw, not repelled
    labels = (torch.rand(32, 2, dtype=torch.float64) < 0.4).double()
    regs = spec_regularizers()
    for name in regs.names:
        z_fused = z.clone().requires_grad_(True)
        z_plain = z.clone().requires_grad_(True)
        fused = regs({"encoder": z_fused}, labels)[name]
        plain = plain_reference(z_plain, labels)[name]
        torch.testing.assert_close(fused, plain, rtol=1e-12, atol=1e-12)
        fused.backward()
        plain.backward()
        torch.testing.assert_close(z_fused.grad, z_plain.grad, rtol=1e-10, atol=1e-12)


def test_fused_terms_pass_gradcheck():
    torch.manual_seed(1)
    z = torch.randn(8, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([[1.0, 1.0], [0, 1], [1, 0], [0, 0]] * 2, dtype=torch.float64)
    regs = spec_regularizers()
    weights = torch.tensor([0.3, 0.01, 1.0, 0.2, 0.1], dtype=torch.float64)

    def total(z):
        values = regs({"encoder": z}, labels)
        return sum(w * values[name] for w, name in zip(weights, regs.names))

    assert torch.autograd.gradcheck(total, (z,))
