"""`trainer.precision` is honest: checked before anything is written, *-true trains and saves in its dtype,
and 16-mixed (one gradient scaler for all) does not train seeds together."""

import pytest
import torch

from ex_color import runs
from ex_color.config import compose
from ex_color.tasks.train import train

from conftest import excolor


@pytest.mark.slow
@pytest.mark.parametrize("precision, dtype", [("bf16-true", torch.bfloat16), ("64-true", torch.float64)])
def test_a_true_precision_trains_and_saves_its_checkpoints_in_that_dtype(tmp_path, precision, dtype):
    overrides = ["experiment=smoke", f"trainer.precision={precision}", "history.snapshots=3"]
    run_dir = train(compose("train", [*overrides, "data.validation.every=100"]), tmp_path / "run")
    checkpoint = runs.load_checkpoint(run_dir)
    assert {value.dtype for value in checkpoint["state_dict"].values()} == {dtype}
    moments = [state["exp_avg"] for state in checkpoint["optimizer_states"][0]["state"].values()]
    assert {moment.dtype for moment in moments} == {dtype}
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows) == 302 and "nan" not in rows[-1]
    model = runs.load_model(run_dir)  # evaluation runs in float32, whatever the training's precision
    assert next(model.parameters()).dtype == torch.float32
    assert torch.equal(model.encoder[0].weight, checkpoint["state_dict"]["model.encoder.0.weight"].float())


@pytest.mark.slow
def test_mixed_precision_keeps_float32_weights(tmp_path):
    run_dir = train(compose("train", ["experiment=smoke", "trainer.precision=bf16-mixed"]), tmp_path / "run")
    assert {value.dtype for value in runs.load_checkpoint(run_dir)["state_dict"].values()} == {torch.float32}


@pytest.mark.parametrize(
    "args, words",
    [
        (
            ["trainer.precision=banana"],
            "trainer.precision: expected one of 32-true, 64-true, bf16-true, 16-true, bf16-mixed, 16-mixed "
            "(got 'banana')",
        ),
        (
            ["--seeds", "0-1", "trainer.precision=16-mixed"],
            "trainer.precision=16-mixed cannot train seeds together: one gradient scaler serves every seed",
        ),
    ],
)
def test_a_precision_that_cannot_be_honoured_is_refused_before_anything_is_written(tmp_path, args, words):
    result = excolor("train", "experiment=smoke", *args, cwd=tmp_path, check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_16_mixed_on_a_cpu_says_in_one_line_that_it_trains_as_bf16_mixed(tmp_path):
    result = excolor("train", "experiment=smoke", "trainer.precision=16-mixed", cwd=tmp_path)
    assert "on this CPU it trains as bf16-mixed" in result.stderr
    assert "connector.py" not in result.stderr and "Warning" not in result.stderr  # not Lightning's own warning
    run_dir = tmp_path / result.stdout.strip().splitlines()[-1].removeprefix("run directory: ")
    assert {value.dtype for value in runs.load_checkpoint(run_dir)["state_dict"].values()} == {torch.float32}
