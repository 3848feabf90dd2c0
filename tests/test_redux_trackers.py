"""A redux's summary reaches the trackers: with logger=wandb (offline) a wandb run of its own beside the seeds'
runs, and with TensorBoard events in the seeds' directory, both read back from the files they wrote."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from conftest import excolor
from test_tracking import wandb_records

pytestmark = pytest.mark.slow

SCORE = "score={plan: [suppression], grid: 8, power: 2}"


def wandb_history(run_dir: Path) -> tuple[dict[int, dict], int | None]:
    """(step -> {key: value} of every history record, exit code) of the offline wandb run in `run_dir`."""
    steps: dict[int, dict] = {}
    exit_code = None
    for record in wandb_records(run_dir):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            row = steps.setdefault(record.history.step.num, {})
            for item in record.history.item:
                row["/".join([item.key] if item.key else list(item.nested_key))] = json.loads(item.value_json)
        elif kind == "exit":
            exit_code = record.exit.exit_code
    return steps, exit_code


def tensorboard_events(folder: Path) -> list:
    """The Event protos of the one event file in `folder` (TFRecord framing: length, its CRC, data, its CRC)."""
    from tensorboardX.proto import event_pb2

    (path,) = folder.glob("events.out.tfevents.*")
    data, pos, events = path.read_bytes(), 0, []
    while pos < len(data):
        (length,) = struct.unpack("<Q", data[pos : pos + 8])
        event = event_pb2.Event()
        event.ParseFromString(data[pos + 12 : pos + 12 + length])
        events.append(event)
        pos += 12 + length + 4
    return events


def test_a_redux_logs_its_figures_and_every_seed_s_selectivity_to_wandb_and_tensorboard(tmp_path):
    result = excolor(
        "run", "--seeds", "0-1", "experiment=smoke", "interventions=[none,suppression]", SCORE, "logger=wandb",
        "+logger.tensorboard={_target_: ex_color.training.tracking.tensorboard_logger}", "hydra.run.dir=redux", cwd=tmp_path,
    )  # fmt: skip
    assert "wandb: WARNING" not in result.stderr
    root = tmp_path / "redux"
    summary = json.loads((root / "summary.json").read_text())
    best = summary["best"]
    for seed in ("seed-0", "seed-1"):  # the seeds' own runs are still there, with their training metrics
        assert len(list((root / seed / "wandb").glob("offline-run-*"))) == 1
        assert len(list((root / seed / "tensorboard").glob("events.out.tfevents.*"))) == 1

    steps, exit_code = wandb_history(root)
    assert exit_code == 0
    for k in (0, 1):
        seed = summary["seeds"][f"seed-{k}"]
        record = seed["selectivity"]["suppression"]
        assert steps[k]["seed"] == k and steps[k]["score"] == pytest.approx(seed["score"])
        assert steps[k]["selectivity/suppression/delta_ratio"] == pytest.approx(record["delta_ratio"])
        assert steps[k]["selectivity/suppression/worst_far.delta"] == pytest.approx(record["worst_far"]["delta"])
    last = steps[max(steps)]
    median = summary["selectivity"]["suppression"]["delta_ratio"]["median"]
    assert last["selectivity/suppression/delta_ratio/median"] == pytest.approx(median)
    assert last["summary/box-plots/_type"] == "image-file"
    assert last["summary/box-plots/caption"] == (root / "figures" / "box-plots.txt").read_text().strip()
    assert last["best/interventions/suppression/figures/intervention/_type"] == "image-file"
    assert last["seeds/_type"] == "table-file"
    (run_folder,) = (root / "wandb").glob("offline-run-*")
    (table,) = (run_folder / "files" / "media" / "table").glob("seeds_*.table.json")
    rows = json.loads(table.read_text())
    assert rows["columns"][:4] == ["seed", "score", "suppression/delta_ratio", "suppression/target_delta"]
    assert [row[0] for row in rows["data"]] == ["seed-0", "seed-1"]
    assert rows["data"][0][4] == summary["seeds"]["seed-0"]["selectivity"]["suppression"]["worst_far"]["name"]

    events = tensorboard_events(root / "tensorboard")
    scalars = {(v.tag, e.step): v.simple_value for e in events for v in e.summary.value if v.HasField("simple_value")}
    for k in (0, 1):
        record = summary["seeds"][f"seed-{k}"]["selectivity"]["suppression"]
        assert scalars[("selectivity/suppression/delta_ratio", k)] == pytest.approx(record["delta_ratio"], rel=1e-6)
    images = {v.tag for e in events for v in e.summary.value if v.HasField("image")}
    assert {"summary/box-plots", "best/figures/stacked"} <= images
    tags = {v.tag for e in events for v in e.summary.value}
    assert any(tag.startswith("summary") and "box-plots" not in tag for tag in tags)  # summary.md as text
    assert best in {"seed-0", "seed-1"}
