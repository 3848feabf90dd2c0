"""Pipeline B (`data=rgb`), configured labels and validation in real training runs."""

import csv
from pathlib import Path

import pytest
import torch

from ex_color import runs
from ex_color.builders import build_regularizers, build_validation
from ex_color.config import compose
from ex_color.data.validation import cell_centres_and_corners
from ex_color.model import ColorMLP
from ex_color.tasks.train import train
from ex_color.training.setup import build_loop, trainer_settings

from conftest import assert_same_run, excolor

# Short batches (grid 10: 15 batches of 64 and one of 40 per epoch), validation every 50 steps with the
# anchor flagged, on the normalised model (its outputs are clamped in eval mode).
RGB = [
    "experiment=smoke",
    "data=rgb",
    "data.grid=10",
    "model=color-mlp-norm",
    "data.validation.every=50",
    "+regularizers.reg-anchor.validate=true",
    "+regularizers.reg-unit.validate=true",
]


def metric_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_rgb_config_is_pipeline_b_with_the_redux_validation():
    cfg = compose("train", ["data=rgb"])
    assert cfg.data.kind == "rgb" and cfg.data.grid == 8 and cfg.data.batch_size == 64
    validation = build_validation(cfg)
    assert validation.every == 150 and validation.batch_size == 64 and validation.rgb.shape == (351, 3)
    assert build_validation(compose("train")) is None  # data=hsv validates nothing unless asked
    flagged = compose("train", ["+regularizers.reg-anchor.validate=true"]).regularizers
    regs = build_regularizers(flagged, ColorMLP(), ("red", "vibrant"))
    assert [r.validate for r in regs] == [True, False, False, False, False]


def test_validation_values_are_the_spec_s_from_the_weights(tmp_path):
    """val/recon: the MSE over the 351 colours (clamped outputs); val/<term>: its label-weighted value per
    batch, averaged over batches weighted by batch size: only pure red is labelled, in the last batch of
    31, so val/reg-anchor = (31/351)·anchor(z_red); an unlabelled term is the plain mean."""
    overrides = [*RGB, "data.validation.every=301"]  # once, after the last step: the checkpoint's weights
    together = train(compose("train", overrides), tmp_path / "together", seeds=[0, 1])
    for seed in (0, 1):
        member = together / f"seed-{seed}"
        rows = metric_rows(member)
        assert [row["step"] for row in rows if row["val/recon"]] == ["300"]
        last = {key: float(value) for key, value in rows[-1].items()}
        model = runs.load_model(member)
        colours = torch.tensor(cell_centres_and_corners(), dtype=torch.float32)
        with torch.no_grad():
            z = model.encoder(colours)
            recon = (model(colours) - colours).square().mean()
        red = colours.tolist().index([1.0, 0.0, 0.0])
        anchor = (z[red] - torch.tensor([1.0, 0, 0, 0])).square().sum()
        unit = (z.norm(dim=-1) - 1).square().mean()
        assert last["val/recon"] == pytest.approx(float(recon), rel=1e-5)
        assert last["val/reg-anchor"] == pytest.approx(31 / 351 * float(anchor), rel=1e-4)
        assert last["val/reg-unit"] == pytest.approx(float(unit), rel=1e-4)


def test_validation_is_logged_at_its_cadence_and_resume_continues_bit_for_bit(tmp_path):
    cfg = compose("train", RGB)
    trainer = trainer_settings(cfg)
    straight, _ = build_loop(cfg, [4], trainer, warn=False)
    tables = []
    straight.run(lambda first, rows: tables.append((first, rows)), lambda: None)
    rows = torch.cat([torch.from_numpy(table) for _, table in tables])
    names = straight.metric_names
    assert names[-3:] == ("val/recon", "val/reg-anchor", "val/reg-unit")
    validated = (~rows[:, 0, names.index("val/recon")].isnan()).nonzero().flatten().tolist()
    assert validated == [49, 99, 149, 199, 249, 299]

    # Stopped at step 154 (mid-epoch: epochs are 16 steps), its checkpoint loaded into a new loop.
    first_part, _ = build_loop(cfg, [4], trainer, warn=False)
    resumed_rows = []
    finished = first_part.run(
        lambda first, table: resumed_rows.append(torch.from_numpy(table)),
        lambda: None,
        should_stop=lambda: first_part.step == 154,
    )
    assert not finished
    checkpoint = first_part.member_checkpoint(0)
    second_part, _ = build_loop(cfg, [4], trainer, warn=False)
    second_part.load_members([checkpoint])
    second_part.run(lambda first, table: resumed_rows.append(torch.from_numpy(table)), lambda: None)
    resumed = torch.cat(resumed_rows)
    assert torch.equal(resumed.nan_to_num(-1), rows.nan_to_num(-1))
    for (name, a), b in zip(straight.model.state_dict().items(), second_part.model.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.slow
def test_one_seed_together_is_its_single_run_with_rgb_data_and_validation(tmp_path):
    single = train(compose("train", [*RGB, "seed=2"]), tmp_path / "single")
    together = train(compose("train", RGB), tmp_path / "together", seeds=[2])
    assert_same_run(single, together / "seed-2")
    again = train(compose("train", [*RGB, "seed=2"]), tmp_path / "again")
    assert_same_run(single, again)


@pytest.mark.slow
def test_anchoring_blue_by_a_hue_label_puts_blue_at_its_direction(tmp_path):
    """The README's recipe for another concept: a hue label and an angular anchor at (0, 1, 0, 0)."""
    result = excolor(
        "train",
        "experiment=smoke",
        "data=rgb",
        "data.labels.red={power:2,scale:0.5}",
        "+data.labels.blue={hue:240,power:2,scale:0.5}",
        "+regularizers.reg-blue={loss:{_target_:ex_color.losses.AngularAnchor,point:[0,1,0,0]},"
        "layers:[encoder],labels:{blue:1.0},validate:true}",
        "data.validation.every=100",
        "hydra.run.dir=blue",
        cwd=tmp_path,
    )
    run_dir = tmp_path / "blue"
    assert "reg-blue" in result.stderr  # no dopesheet column: weight 1.0, and the run says so
    model = runs.load_model(run_dir)
    with torch.no_grad():
        z = model.encoder(torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    cosine = (z / z.norm(dim=-1, keepdim=True)) @ torch.tensor([0.0, 1.0, 0.0, 0.0])
    blue, red = cosine.tolist()
    assert blue > 0.8 and blue > red + 0.5, (blue, red)
    rows = metric_rows(run_dir)
    assert [row["step"] for row in rows if row["val/reg-blue"]] == ["99", "199", "299"]
    assert all(row["train/reg-blue"] for row in rows)
