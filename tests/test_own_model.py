"""A model from config (`model._target_`): the model contract checked when it is built, checkpoints that
rebuild it, and seeds trained together through torch.func for layers that are not stack-aware."""

import json

import pytest
import torch
from torch import nn

from ex_color import runs
from ex_color.config import compose
from ex_color.errors import UserError
from ex_color.model import ColorMLP, member_state, stack_models
from ex_color.model_contract import check_contract, check_stacking, latent_linears, model_spec
from ex_color.tasks.train import train

from conftest import assert_same_run, excolor, interrupted_at_checkpoint
from own_model import MODEL, OWN_MODEL

MEMBER_TOLERANCE = 1e-4  # as tests/test_ensemble.py: a member of an ensemble against its single run


@pytest.fixture
def own_model(tmp_path, monkeypatch):
    """my_model.MyAutoencoder importable, as the working directory makes it for the CLI."""
    (tmp_path / "my_model.py").write_text(OWN_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import importlib

    return importlib.import_module("my_model").MyAutoencoder


class NoLatent(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 3))

    def forward(self, rgb):
        return self.net(rgb)


class WrongOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.latent, self.decoder = nn.Linear(3, 4), nn.Identity(), nn.Linear(4, 2)

    def forward(self, rgb):
        return self.decoder(self.latent(self.encoder(rgb)))


class NoLinearAfter(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.latent = nn.Linear(3, 3), nn.Identity()

    def forward(self, rgb):
        return torch.sigmoid(self.latent(self.encoder(rgb)))


class Declared(NoLatent):
    """Declares the Linears around its latent: the finder is not asked."""

    latent_producer, latent_consumer = "net.0", "net.1"

    def __init__(self):
        super().__init__()
        self.latent = nn.Identity()

    def forward(self, rgb):
        return self.net[1](self.latent(self.net[0](rgb)))


@pytest.mark.parametrize(
    "model, words",
    [
        (NoLatent(), "NoLatent has no `latent` module"),
        (WrongOutput(), "WrongOutput maps RGB [2, 3] to [2, 2]; it must return RGB [B, 3]"),
        (NoLinearAfter(), "NoLinearAfter has no Linear after its latent; declare latent_producer and latent_consumer"),
    ],
)
def test_a_model_that_breaks_the_contract_is_refused_in_one_line_naming_what_is_missing(model, words):
    with pytest.raises(UserError) as error:
        check_contract(model)
    assert words in str(error.value) and "\n" not in str(error.value) and str(error.value).startswith("model: ")


def test_the_linears_around_the_latent_are_found_or_declared(own_model):
    assert latent_linears(own_model(dims=5)) == ("encoder.3", "decoder.0")
    assert latent_linears(ColorMLP(4, 16, nonlinear_layers=2)) == ("encoder.4", "decoder.0")
    assert latent_linears(Declared()) == ("net.0", "net.1")
    check_contract(Declared())


def test_an_own_model_s_keys_are_checked_against_its_constructor(own_model):
    spec = model_spec({"_target_": "my_model.MyAutoencoder", "width": 8})
    assert spec.saved() == {"_target_": "my_model.MyAutoencoder", "width": 8}
    assert spec.build().encoder[0].out_features == 8
    with pytest.raises(
        UserError, match=r"^model\.depth: unknown key for my_model\.MyAutoencoder; known keys: dims, width$"
    ):
        model_spec({"_target_": "my_model.MyAutoencoder", "depth": 8})
    with pytest.raises(UserError, match=r"^model\.hidden: unknown key .* \(ColorMLP's keys stay unless '~model' drops"):
        model_spec({"_target_": "my_model.MyAutoencoder", "hidden": 8})  # model._target_=... alone keeps ColorMLP's
    with pytest.raises(UserError, match=r"^model\._target_: torch\.optim\.Adam is not a torch\.nn\.Module class$"):
        model_spec({"_target_": "torch.optim.Adam"})
    # no _target_, or the old key set: ColorMLP, as runs saved before own models existed
    assert model_spec({"bottleneck": 4, "hidden": 16}).target == "ex_color.model.ColorMLP"


class UsesItem(nn.Module):
    """Reads a value out of a tensor (`.item()`), which torch.vmap cannot stack."""

    def __init__(self):
        super().__init__()
        self.encoder, self.latent, self.decoder = nn.Linear(3, 4), nn.Identity(), nn.Linear(4, 3)

    def forward(self, rgb):
        z = self.latent(self.encoder(rgb))
        return self.decoder(z) * (1.0 if z.abs().max().item() >= 0 else 0.0)


def test_a_model_vmap_cannot_stack_is_refused_in_one_line_without_pytorch_s_bug_report_advice():
    with pytest.raises(UserError) as error:
        check_stacking({"_target_": f"{__name__}.UsesItem"})
    text = str(error.value)
    assert text.startswith("model: UsesItem cannot train seeds together (stacked under torch.vmap): ")
    assert ".item()" in text and "bug report" not in text and "\n" not in text


def test_a_broken_model_is_refused_before_any_directory_exists(tmp_path):
    (tmp_path / "bad_model.py").write_text(
        "from torch import nn\n\n\nclass Bad(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.net = nn.Linear(3, 3)\n\n    def forward(self, rgb):\n        return self.net(rgb)\n"
    )
    for extra in ([], ["--seeds", "0-1"]):
        args = ["train", *extra, "experiment=smoke", "~model", "+model._target_=bad_model.Bad"]
        result = excolor(*args, cwd=tmp_path, check=False)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "excolor: error: model: Bad has no `latent` module" in result.stderr
        assert not (tmp_path / "outputs").exists()


def test_stacked_stock_layers_run_each_member_s_own_forward_and_hooks_see_the_stack(own_model):
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(own_model(dims=4, width=8))
    stacked = stack_models(models)
    assert type(stacked).__name__ == "MyAutoencoder" and stacked.encoder[1].weight.shape == (3, 8)
    captured = {}
    stacked.latent.register_forward_hook(lambda module, inputs, output: captured.__setitem__("latent", output))
    rgb = torch.rand(3, 16, 3)
    output = stacked(rgb)
    output.sum().backward()
    assert stacked.encoder[0].weight.grad.shape == (3, 8, 3)
    for index, model in enumerate(models):
        torch.testing.assert_close(output[index], model(rgb[index]), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(captured["latent"][index], model.encoder(rgb[index]), rtol=1e-6, atol=1e-6)
        state = member_state(stacked, index, 3)
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


@pytest.mark.slow
def test_an_own_stock_layer_model_trained_with_seeds_matches_each_seed_alone(tmp_path, own_model):
    together = excolor("train", "--seeds", "0-3", "experiment=smoke", *MODEL, "hydra.run.dir=together", cwd=tmp_path)
    assert "Traceback" not in together.stderr
    overrides = ["experiment=smoke", *MODEL, "trainer.checkpoint_every=0"]
    for seed in range(4):
        alone = train(compose("train", [*overrides, f"seed={seed}"]), tmp_path / f"seed={seed}")
        a = runs.load_checkpoint(alone)["state_dict"]
        b = runs.load_checkpoint(tmp_path / "together" / f"seed-{seed}")["state_dict"]
        assert a.keys() == b.keys() and max(float((a[k] - b[k]).abs().max()) for k in a) < MEMBER_TOLERANCE
        saved = json.loads(json.dumps(runs.load_checkpoint(alone)["excolor"]["model"]))
        assert saved == {"_target_": "my_model.MyAutoencoder", "width": 8}
    model = runs.load_model(tmp_path / "together" / "seed-3")
    assert type(model).__name__ == "MyAutoencoder" and not model.training


LONG_SHEET = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n0,Train,,0.01,0.01,0.05,0.1,0.02,1\n3000,,,0.005,,,,,\n"


@pytest.mark.slow
def test_an_interrupted_stock_layer_ensemble_resumes_bit_for_bit(tmp_path, own_model):
    (tmp_path / "long.csv").write_text(LONG_SHEET)
    args = ["train", "--seeds", "0-3", "experiment=smoke", *MODEL, "dopesheet=long.csv", "trainer.checkpoint_every=250"]
    interrupted_at_checkpoint(args, tmp_path, tmp_path / "interrupted" / "seed-3" / runs.CHECKPOINT)
    stopped = {runs.load_checkpoint(tmp_path / "interrupted" / f"seed-{k}")["global_step"] for k in range(4)}
    assert len(stopped) == 1 and 0 < stopped.pop() < 3001
    excolor("train", "--resume", "interrupted", cwd=tmp_path)
    excolor(*args, "hydra.run.dir=straight", cwd=tmp_path)
    for seed in range(4):
        assert_same_run(tmp_path / "interrupted" / f"seed-{seed}", tmp_path / "straight" / f"seed-{seed}")
