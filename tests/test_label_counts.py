"""Label counts (`labels/n/<label>`, `labels/n/_any`, `labels/n_total`): cumulative columns of metrics.csv,
exact against a recount of the batches, per member for seeds trained together, and after --resume."""

import csv
from pathlib import Path

import numpy as np
import pytest

from ex_color import runs
from ex_color.builders import build_batches
from ex_color.config import compose
from ex_color.training.setup import build_loop, trainer_settings

from conftest import excolor, interrupted_at_checkpoint

# The redux's data (grid 8, red and vibrant labels) with labels made common enough to count many.
RGB = ["experiment=smoke", "data=rgb", "data.labels.red.scale=0.5", "data.labels.vibrant.power=2"]
COUNTS = ("labels/n/red", "labels/n/vibrant", "labels/n/_any", "labels/n_total")


def recount(cfg, seed: int, steps: int) -> np.ndarray:
    """[steps, 4]: cumulative red, vibrant, any and total counts, from the batches the source makes."""
    source = build_batches(cfg, seed)
    rows = []
    for step in range(steps):
        _, labels = source.batch(step)
        carried = labels.numpy() > 0
        rows.append([*carried.sum(0), carried.any(1).sum(), len(labels)])
    return np.cumsum(rows, axis=0)


def test_counts_are_a_recount_of_the_batches_for_each_member_trained_together():
    cfg = compose("train", RGB)
    loop, _ = build_loop(cfg, [0, 3], trainer_settings(cfg), warn=False)
    tables = []
    loop.run(lambda first, rows: tables.append(rows), lambda: None)
    rows = np.concatenate(tables)
    columns = [loop.metric_names.index(name) for name in COUNTS]
    for member, seed in enumerate((0, 3)):
        expected = recount(cfg, seed, loop.length)
        assert np.array_equal(rows[:, member, columns], expected)
        assert expected[-1, 0] > 50 and expected[-1, 1] > 50  # enough labels to tell a miscount
    assert not np.array_equal(rows[:, 0, columns], rows[:, 1, columns])  # each member its own counts
    assert rows[-1, 0, columns[-1]] == 301 * 64


def test_hsv_counts_include_pipeline_a_and_a_resumed_loop_recounts_the_steps_before_it():
    cfg = compose("train", ["experiment=smoke"])
    trainer = trainer_settings(cfg)
    straight, _ = build_loop(cfg, [1], trainer, warn=False)
    tables = []
    straight.run(lambda first, rows: tables.append(rows), lambda: None)
    first_part, _ = build_loop(cfg, [1], trainer, warn=False)
    first_part.run(lambda first, rows: None, lambda: None, should_stop=lambda: first_part.step == 270)
    resumed, _ = build_loop(cfg, [1], trainer, warn=False)
    resumed.load_members([first_part.member_checkpoint(0)])
    later = []
    resumed.run(lambda first, rows: later.append((first, rows)), lambda: None)
    columns = [straight.metric_names.index(name) for name in COUNTS]
    rows = np.concatenate(tables)
    assert later[0][0] == 270
    assert np.array_equal(np.concatenate([table for _, table in later])[:, :, columns], rows[270:, :, columns])
    assert np.array_equal(rows[:, 0, columns], recount(cfg, 1, 301))


def metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_counts_after_excolor_train_resume_are_a_straight_run_s(tmp_path):
    (tmp_path / "long.csv").write_text("STEP,PHASE,ACTION,lr\n0,Train,,0.01\n4000,,,0.005\n")
    args = ["train", *RGB, "regularizers=none", "dopesheet=long.csv", "trainer.checkpoint_every=100"]
    interrupted_at_checkpoint(args, tmp_path, tmp_path / "interrupted" / runs.CHECKPOINT)
    excolor("train", "--resume", "interrupted", cwd=tmp_path)
    excolor(*args, "hydra.run.dir=straight", cwd=tmp_path)
    resumed, straight = metrics(tmp_path / "interrupted"), metrics(tmp_path / "straight")
    assert len(resumed) == len(straight) == 4001
    assert [[row[name] for name in COUNTS] for row in resumed] == [[row[name] for name in COUNTS] for row in straight]
    cfg = compose("train", [*args[1:], f"dopesheet={tmp_path / 'long.csv'}"])
    assert [int(resumed[-1][name]) for name in COUNTS] == recount(cfg, 0, 4001)[-1].tolist()
