"""ColorMLP's named hook point `latent`: the latent the concepts live in, whatever the variant."""

import pytest
import torch

from ex_color.interventions import capture
from ex_color.model import ColorMLP


@pytest.mark.parametrize("normalize, source", [(False, "encoder"), (True, "bottleneck")])
def test_latent_is_the_encoder_output_or_the_normalised_one(normalize, source):
    torch.manual_seed(0)
    model = ColorMLP(4, 16, normalize=normalize)
    names = {name for name, _ in model.named_modules()}
    assert {"latent", "encoder", "encoder.2", "decoder.0", source} <= names
    x = torch.rand(32, 3)
    with capture(model, ["latent", source]) as records:
        model(x)
    assert torch.equal(records["latent"][0], records[source][0])
    if normalize:
        assert torch.allclose(records["latent"][0].norm(dim=-1), torch.ones(32))


def test_the_latent_hook_point_adds_no_weights():
    model = ColorMLP(4, 16, normalize=True)
    assert not any(name.startswith("latent") for name in model.state_dict())


def test_an_intervention_at_latent_reaches_the_decoder():
    from ex_color.interventions import intervene

    model = ColorMLP(4, 16).eval()
    x = torch.rand(8, 3)
    with torch.no_grad(), intervene(model, [(torch.zeros_like, ["latent"])]):
        out = model(x)
        expected = model.decoder(torch.zeros(8, 4))
    assert torch.equal(out, expected)
