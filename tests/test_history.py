"""Latent history (history.npz) through real short trainings: the planned steps, the final snapshot being the
trained model's latents, the same bits twice, a resumed run ending with a straight run's history, seeds
trained together; `excolor plot history` and `excolor plot evolution` on those runs, and their bad input."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image

from ex_color import runs
from ex_color.config import compose
from ex_color.data.cubes import ColorCube
from ex_color.errors import UserError
from ex_color.evaluation.predict import predict
from ex_color.history import HISTORY, History
from ex_color.training.recorder import HistorySettings, snapshot_steps
from ex_color.plots.video import ffmpeg

from conftest import excolor, interrupted_at_checkpoint

# 1.7's sheet in miniature: the same columns and shape, 301 steps.
SHORT_1_7 = """STEP,PHASE,ACTION,lr,reg-separate,reg-planar,reg-norm,reg-norm-v,reg-polar
0,Train,,1e-8,0.001,0.02,0.01,0.02,
+10,,,0.01,,,,,
+0.1,,,,0.02,,,,
+0.5,,,,0.01,0.08,,,
150,,,0.01,0.001,0.02,0.2,,6e-3
+0.5,,,,,,,,2e-4
300,,,0.005,,,,,
"""
LONG_1_7 = "STEP,PHASE,ACTION,lr,reg-separate,reg-planar,reg-norm,reg-norm-v,reg-polar\n0,Train,,0.01,0.01,0.02,0.1,0.02,0.006\n2000,,,0.005,,,,,\n"
SHORT = ["experiment=ex-1.7", "dopesheet=short.csv", "history.snapshots=12", "trainer.progress_every=0"]


def train_short(workdir: Path, name: str, *extra: str) -> Path:
    (workdir / "short.csv").write_text(SHORT_1_7)
    excolor("train", *SHORT, *extra, f"hydra.run.dir={name}", cwd=workdir)
    return workdir / name


@pytest.fixture(scope="module")
def history_run(tmp_path_factory) -> Path:
    return train_short(tmp_path_factory.mktemp("history"), "run")


def read(run_dir: Path) -> History:
    return History.read(run_dir / HISTORY)


# -- the plan ------------------------------------------------------------------------------------------


def test_snapshot_steps_are_geometric_with_the_first_and_last_step():
    steps = snapshot_steps(120, 10_001)
    assert len(steps) == 120 and steps[0] == 0 and steps[-1] == 10_001
    assert np.all(np.diff(steps) >= 1)
    gaps = np.diff(steps)
    assert gaps[:10].max() == 1 and gaps[-1] > 500  # dense early, sparse late
    ratios = steps[-20:] / steps[-21:-1]
    assert np.allclose(ratios, ratios.mean(), rtol=0.02)  # a constant ratio where the steps are far apart
    assert list(snapshot_steps(5, 3)) == [0, 1, 2, 3]  # more snapshots than steps: every step
    assert list(snapshot_steps(2, 300)) == [0, 300]
    assert len(snapshot_steps(0, 300)) == 0


@pytest.mark.parametrize(
    "node,words",
    [
        ({"snapshots": 1}, "history.snapshots must be 0 (off) or an integer ≥ 2"),
        ({"snapshots": -3}, "history.snapshots must be"),
        ({"snapshots": 5, "colors": {}}, "history.colors: unknown key"),
        ({"snapshots": 5, "colours": {"hsv": 8}}, "history.colours.hsv: unknown key; known keys: rgb_grid"),
        ({"snapshots": 5, "colours": {"rgb_grid": 1}}, "history.colours.rgb_grid must be an integer ≥ 2"),
    ],
)
def test_history_settings_name_the_mistake(node, words):
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")):
        HistorySettings.from_config(node)


def test_history_is_off_by_default_and_on_for_1_7():
    assert HistorySettings.from_config(compose("train", []).history) == HistorySettings(0, 8)
    assert HistorySettings.from_config(compose("train", ["experiment=ex-1.7"]).history) == HistorySettings(120, 8)


def test_off_means_no_recorder_in_the_loop():
    from ex_color.training.setup import build_loop, trainer_settings

    cfg = compose("train", ["experiment=smoke"])
    loop, _ = build_loop(cfg, [0], trainer_settings(cfg), warn=False)
    assert loop.history is None
    loop.close()


# -- real runs ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_records_its_history_and_the_last_snapshot_is_the_trained_model(history_run):
    history = read(history_run)
    assert list(history.steps) == list(snapshot_steps(12, 301))
    assert np.array_equal(history.colours, ColorCube.rgb_grid(8).flat_rgb().astype(np.float32))
    assert history.latents.shape == (12, 512, 4) and history.latents.dtype == np.float32
    final = predict(runs.load_model(history_run), history.colours).latents
    assert np.allclose(history.latents[-1], final, atol=1e-6)
    moved = np.abs(history.latents[-1] - history.latents[0]).max()
    assert moved > 0.1 and np.abs(history.latents[1] - history.latents[0]).max() < 0.01  # lr warming up


@pytest.mark.slow
def test_the_same_config_and_seed_give_the_same_history_file(history_run, tmp_path):
    again = train_short(tmp_path, "again")
    assert (again / HISTORY).read_bytes() == (history_run / HISTORY).read_bytes()


@pytest.mark.slow
def test_a_resumed_run_ends_with_the_history_of_a_straight_run(tmp_path):
    (tmp_path / "long.csv").write_text(LONG_1_7)
    args = [
        "train",
        "experiment=ex-1.7",
        "dopesheet=long.csv",
        "history.snapshots=40",
        "trainer.checkpoint_every=200",
        "trainer.progress_every=0",
    ]
    interrupted_at_checkpoint(args, tmp_path, tmp_path / "interrupted" / runs.CHECKPOINT)
    stopped = runs.load_checkpoint(tmp_path / "interrupted")["global_step"]
    assert 0 < stopped < 2001
    before = read(tmp_path / "interrupted")
    planned = snapshot_steps(40, 2001)
    assert list(before.steps) == [s for s in planned if s <= stopped]  # every snapshot up to the checkpoint

    excolor("train", "--resume", "interrupted", cwd=tmp_path)
    excolor(*args, "hydra.run.dir=straight", cwd=tmp_path)
    after = read(tmp_path / "interrupted")
    assert list(after.steps) == list(planned)
    assert np.array_equal(after.latents[: len(before.steps)], before.latents)  # the snapshots before it kept
    assert (tmp_path / "interrupted" / HISTORY).read_bytes() == (tmp_path / "straight" / HISTORY).read_bytes()


@pytest.mark.slow
def test_seeds_trained_together_each_record_their_own_history(history_run, tmp_path):
    (tmp_path / "short.csv").write_text(SHORT_1_7)
    excolor("train", "--seeds", "0-1", *SHORT, "hydra.run.dir=seeds", cwd=tmp_path)
    alone = read(history_run)  # seed 0 trained alone
    members = [read(tmp_path / "seeds" / f"seed-{k}") for k in range(2)]
    for member in members:
        assert list(member.steps) == list(alone.steps) and member.latents.shape == alone.latents.shape
    assert np.allclose(members[0].latents, alone.latents, atol=1e-4)  # the same run, rounded differently
    assert not np.allclose(members[1].latents[-1], alone.latents[-1], atol=1e-2)  # another seed
    assert not (tmp_path / "seeds" / HISTORY).exists()


# -- the figures -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_plot_history_draws_the_phase_history_figure(history_run):
    result = excolor("plot", "history", "--run", str(history_run), cwd=history_run)
    path = history_run / "figures" / "history.png"
    assert result.stdout.strip() == str(path)
    image = imread(path)
    assert image.shape[1] >= 1200 and image.shape[0] >= 500
    alt = path.with_suffix(".txt").read_text()
    assert "step 301" in alt and "thumbnails" in alt and "Pure red" in alt


@pytest.mark.slow
def test_plot_evolution_writes_a_gif_of_every_snapshot_and_mp4_where_ffmpeg_exists(history_run, tmp_path):
    result = excolor(
        "plot", "evolution", "--run", str(history_run), "--out", str(tmp_path), "--fps", "10", cwd=history_run
    )
    gif = tmp_path / "evolution.gif"
    mp4 = tmp_path / "evolution.mp4"
    printed = result.stdout.strip().splitlines()
    assert printed[0] == str(gif) and (mp4.exists() == (ffmpeg() is not None))
    with Image.open(gif) as image:
        assert image.n_frames == 12 and image.size == (720, 508)  # 9 × 6.35 in at 80 dpi
        assert image.info["duration"] == 100 and image.info.get("loop") == 0
        image.seek(11)
        last = np.asarray(image.convert("RGB"))
    assert last.std() > 20  # drawn, not blank
    alt = gif.with_suffix(".txt").read_text()
    assert "12 frames" in alt and "reg-polar" in alt and "learning rate" in alt

    excolor(
        "plot", "evolution", "--run", str(history_run), "--out", str(tmp_path / "b"), "--frames-per-snapshot", "3",
        "--dpi", "60", "--views", "1,0;2,3", cwd=history_run,
    )  # fmt: skip
    with Image.open(tmp_path / "b" / "evolution.gif") as image:
        assert image.n_frames == 34 and image.size == (540, 381)


@pytest.mark.slow
@pytest.mark.skipif(ffmpeg() is None, reason="ffmpeg is not installed: the MP4 is skipped")
def test_the_mp4_has_the_gif_s_frames(history_run, tmp_path):
    result = excolor("plot", "evolution", "--run", str(history_run), "--out", str(tmp_path), cwd=history_run)
    mp4 = tmp_path / "evolution.mp4"
    assert str(mp4) in result.stdout.splitlines()
    probe = subprocess.run(
        [ffmpeg(), "-hide_banner", "-i", str(mp4), "-f", "null", "-"], capture_output=True, text=True, check=True
    )
    assert "Video:" in probe.stderr and "720x508" in probe.stderr


@pytest.mark.slow
@pytest.mark.parametrize("what", ["history", "evolution"])
def test_bad_input_is_one_line_and_exit_2(what, smoke_run, tmp_path, history_run):
    cases = [
        (["--run", str(tmp_path / "nowhere")], "no such directory"),
        (["--run", str(smoke_run)], "no latent history (history.npz); record one by training with history.snapshots=N"),
        (["--run", str(history_run), "--views", "1,7"], "is not two distinct dims of the 4-dim latent"),
        (["--run", str(history_run), "--views", "up"], "each view is two latent dims"),
        (["--run", str(history_run), "--kind", "suppression"], f"the {what} figure belongs to the run"),
    ]
    for args, words in cases:
        result = excolor("plot", what, *args, cwd=tmp_path, check=False)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("excolor: error: ") and words in lines[0], (args, lines)


@pytest.mark.slow
def test_a_bad_history_setting_stops_training_before_a_run_directory(tmp_path):
    result = excolor("train", "experiment=smoke", "history.snapshots=1", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "history.snapshots must be 0 (off)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "outputs").exists()
