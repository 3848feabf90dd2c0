"""ColorMLP's named hook point `latent`: the latent the concepts live in, whatever the variant; its extra
nonlinear layers (`nonlinear_layers`) and the Linears on each side of the latent."""

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
        "_target_": "ex_color.model.ColorMLP",
        "bottleneck": 4,
        "hidden": 16,
        "normalize": True,
        "sigmoid": True,
        "nonlinear_layers": 1,
        "inputs": 3,
    }
    plain = runs.load_model(train(compose("train", ["experiment=smoke"]), tmp_path / "plain"))
    assert not plain.normalize and plain.sigmoid


def test_a_sigmoid_that_is_not_true_false_or_null_is_refused_by_key():
    from ex_color.model import color_mlp_settings as model_settings
    from ex_color.errors import UserError

    with pytest.raises(UserError, match=r"^model\.sigmoid must be true or false \(got 'yes'\)$"):
        model_settings({"bottleneck": 4, "hidden": 16, "normalize": True, "sigmoid": "yes"})


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts_are_the_spec_s():
    assert parameters(ColorMLP(4, 16)) == 263  # ColorMLP(4), spec §0.1
    assert parameters(ColorMLP(4, 16, normalize=True, sigmoid=False)) == 263
    assert parameters(ColorMLP(5, 16, normalize=True, sigmoid=False, nonlinear_layers=2)) == 840  # CN(5), N = 2


@pytest.mark.parametrize("layers, producer", [(1, "encoder.2"), (2, "encoder.4"), (3, "encoder.6")])
def test_nonlinear_layers_add_hidden_pairs_on_both_sides_and_the_latent_s_linears_follow(layers, producer):
    model = ColorMLP(5, 16, normalize=True, sigmoid=False, nonlinear_layers=layers)
    linear = torch.nn.Linear

    def kinds(sequence):
        return "".join("L" if isinstance(m, linear) else "G" if isinstance(m, torch.nn.GELU) else "?" for m in sequence)

    assert kinds(model.encoder) == kinds(model.decoder) == "LG" * layers + "L"  # linear output: no sigmoid
    hidden = [m for m in list(model.encoder)[2:-1] + list(model.decoder)[2:-1] if isinstance(m, linear)]
    assert len(hidden) == 2 * (layers - 1) and all(m.weight.shape == (16, 16) for m in hidden)
    assert model.latent_producer == producer and model.latent_consumer == "decoder.0"
    assert model.get_submodule(producer).out_features == 5 and model.get_submodule("decoder.0").in_features == 5
    with capture(model, ["latent"]) as records:
        out = model(torch.rand(7, 3))
    assert out.shape == (7, 3) and records["latent"][0].shape == (7, 5)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_nonlinear_layers_that_are_not_a_positive_integer_are_refused_by_key(value):
    from ex_color.model import color_mlp_settings as model_settings
    from ex_color.errors import UserError

    with pytest.raises(
        UserError,
        match=r"^model\.nonlinear_layers must be a positive integer \(the Linear \+ GELU pairs on each side; got",
    ) as error:
        model_settings({"bottleneck": 4, "hidden": 16, "normalize": True, "nonlinear_layers": value})
    assert "\n" not in str(error.value)


def test_seeds_stacked_with_extra_layers_agree_with_each_model_alone():
    from ex_color.model import stack_models

    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(ColorMLP(5, 16, normalize=True, sigmoid=False, nonlinear_layers=2).eval())
    stacked = stack_models(models).eval()
    x = torch.rand(2, 10, 3)
    with torch.no_grad():
        together = stacked(x)
        alone = torch.stack([m(x[i]) for i, m in enumerate(models)])
    assert torch.allclose(together, alone, atol=1e-6)
    assert stacked.latent_producer == "encoder.4"


def test_a_model_with_extra_layers_is_rebuilt_from_its_checkpoint_and_older_checkpoints_still_load(tmp_path):
    from ex_color import runs
    from ex_color.config import compose
    from ex_color.tasks.train import train

    overrides = ["experiment=smoke", "model=color-mlp-norm", "model.bottleneck=5", "model.nonlinear_layers=2"]
    run_dir = train(compose("train", [*overrides, "trainer.checkpoint_every=0"]), tmp_path / "run")
    model = runs.load_model(run_dir)
    assert model.nonlinear_layers == 2 and model.latent_producer == "encoder.4" and parameters(model) == 840
    assert runs.load_checkpoint(run_dir)["excolor"]["model"]["nonlinear_layers"] == 2

    # a checkpoint written before nonlinear_layers (and own models' _target_) existed: its settings lack the
    # keys, its model is a ColorMLP with one pair
    old = train(compose("train", ["experiment=smoke", "trainer.checkpoint_every=0"]), tmp_path / "old")
    checkpoint = runs.load_checkpoint(old)
    del checkpoint["excolor"]["model"]["nonlinear_layers"]
    del checkpoint["excolor"]["model"]["_target_"]
    torch.save(checkpoint, old / runs.CHECKPOINT)
    assert runs.load_model(old).nonlinear_layers == 1
