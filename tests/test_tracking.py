"""Weights & Biases in offline mode, through the real CLI: one wandb run per run directory, inside it,
holding the config, every loss term, the figures and the intervention metrics, always finished."""

import json
import struct
from pathlib import Path

import pytest

from conftest import excolor

pytestmark = pytest.mark.slow


def wandb_records(run_dir: Path):
    """The records of a run's offline `.wandb` file: a LevelDB-style log (7-byte header ':W&B', 0xBEE1,
    version; then 32 KiB blocks of checksummed chunks) of wandb's protobuf Records. wandb 0.31 has no
    Python reader of its own any more, and offline runs write no wandb-summary.json."""
    from wandb.proto import wandb_internal_pb2 as pb

    (run_folder,) = (run_dir / "wandb").glob("offline-run-*")
    (path,) = run_folder.glob("run-*.wandb")
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0:
            break
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            yield record


def logged(run_dir: Path):
    """(history key -> last value, config keys, exit code, media folder) of a run's offline wandb run."""
    history, config, exit_code = {}, set(), None
    for record in wandb_records(run_dir):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            for item in record.history.item:
                history["/".join([item.key] if item.key else list(item.nested_key))] = json.loads(item.value_json)
        elif kind == "config":
            config |= {item.key or item.nested_key[0] for item in record.config.update}
        elif kind == "exit":
            exit_code = record.exit.exit_code
    (run_folder,) = (run_dir / "wandb").glob("offline-run-*")
    return history, config, exit_code, run_folder / "files" / "media" / "images"


def test_run_with_wandb_offline_logs_everything_into_one_run(tmp_path):
    result = excolor("run", "experiment=smoke", "logger=wandb", cwd=tmp_path, env={"WANDB_MODE": "offline"})
    run_dir = Path(result.stdout.strip().splitlines()[-1].removeprefix("run directory: "))
    assert "wandb: WARNING" not in result.stderr
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1
    assert (run_dir / "metrics.csv").is_file()  # CSV is still written
    history, config, exit_code, media = logged(run_dir)
    assert exit_code == 0
    assert {"seed", "model", "regularizers", "interventions"} <= config
    for term in ("loss", "recon", "reg-anchor", "reg-separate", "reg-planar", "reg-unit", "reg-unit-v"):
        assert f"train/{term}" in history
    metrics = json.loads((run_dir / "interventions" / "repulsion" / "metrics.json").read_text())
    assert history["interventions/repulsion/error_ratio"] == pytest.approx(metrics["selectivity"]["error_ratio"])
    assert history["interventions/suppression/mean"] > history["interventions/none/mean"]
    assert history["figures/training/_type"] == "image-file"
    assert history["interventions/repulsion/figures/intervention/_type"] == "image-file"
    assert history["interventions/repulsion/named_colors/_type"] == "table-file"
    assert history["figures/training/caption"] == (run_dir / "figures" / "training.txt").read_text().strip()
    assert (
        len(list(media.rglob("*.png"))) == 6 + 6 + 6
    )  # run figures (+ stacked); per intervention (+ stacked, similarity)


def test_a_failed_training_still_finishes_its_wandb_run(tmp_path):
    sheet = tmp_path / "boom.csv"
    sheet.write_text("STEP,PHASE,ACTION,lr\n0,Train,,1e30\n50,,,1e30\n")
    result = excolor(
        "train",
        "experiment=smoke",
        "regularizers=none",
        f"dopesheet={sheet}",
        "logger=wandb",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        check=False,
        env={"WANDB_MODE": "offline"},
    )
    assert result.returncode == 1 and "non-finite" in result.stderr
    _, config, exit_code, _ = logged(tmp_path / "run")
    assert exit_code == 1 and "seed" in config
