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


@pytest.mark.parametrize(
    "normalize, sigmoid, ends_in_sigmoid",
    [(False, None, True), (True, None, False), (True, True, True), (False, False, False)],
)
def test_the_output_sigmoid_is_chosen_apart_from_the_normalisation(normalize, sigmoid, ends_in_sigmoid):
    torch.manual_seed(0)
    model = ColorMLP(4, 16, normalize=normalize, sigmoid=sigmoid)
    assert isinstance(model.decoder[-1], torch.nn.Sigmoid) == ends_in_sigmoid
    assert ("bottleneck" in dict(model.named_modules())) == normalize
    x = torch.rand(64, 3) * 3 - 1  # colours outside the cube push a linear output past [0, 1]
    raw = model.train()(x)
    clamped = model.eval()(x)
    assert torch.equal(clamped, raw.clamp(0, 1))
    if ends_in_sigmoid:
        assert torch.equal(clamped, raw)


def test_the_2_3_sigmoid_variant_is_rebuilt_from_its_checkpoint(tmp_path):
    """`runs.load_model` rebuilds the model the config asked for, sigmoid and normalisation both."""
    from ex_color import runs
    from ex_color.config import compose
    from ex_color.tasks.train import train

    overrides = ["experiment=smoke", "model=color-mlp-norm", "model.sigmoid=true", "trainer.checkpoint_every=0"]
    run_dir = train(compose("train", overrides), tmp_path / "run")
    model = runs.load_model(run_dir)
    assert model.normalize and model.sigmoid and isinstance(model.decoder[-1], torch.nn.Sigmoid)
    assert runs.load_checkpoint(run_dir)["excolor"]["model"] == {
        "bottleneck": 4,
        "hidden": 16,
        "normalize": True,
        "sigmoid": True,
    }
    plain = runs.load_model(train(compose("train", ["experiment=smoke"]), tmp_path / "plain"))
    assert not plain.normalize and plain.sigmoid


def test_a_sigmoid_that_is_not_true_false_or_null_is_refused_by_key():
    from ex_color.builders import model_settings
    from ex_color.errors import UserError

    with pytest.raises(UserError, match=r"^model\.sigmoid must be true or false \(got 'yes'\)$"):
        model_settings({"bottleneck": 4, "hidden": 16, "normalize": True, "sigmoid": "yes"})
