"""Every reader of a run directory answers a damaged file in one line naming it: each kind of file a run
holds x each damage (truncated, random bytes, empty, valid syntax with the wrong schema) x each command that
reads it. Expected: exit 2, one line on stderr naming the file, no traceback, the run left as it was.

Two real runs are made once per session (a finished `excolor run` with every file, and an interrupted
`excolor train` for `--resume`); tests/damage_driver.py copies one per case, damages one file and runs each
command through the real CLI entry point in a process of its own (forked from one that imported the CLI
once: the whole matrix takes about a minute)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import excolor, interrupted_at_checkpoint

pytestmark = pytest.mark.slow

DAMAGES = ("truncated", "random-bytes", "empty", "wrong-schema")
LONG_SHEET = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n0,Train,,0.01,0.01,0.05,0.1,0.02,1\n3000,,,0.005,,,,,\n"

COMMANDS = {
    "report": ["report", "{run}"],
    "report --run-reports": ["report", "{run}", "--run-reports"],
    "plot colors": ["plot", "colors", "--run", "{run}"],
    "plot training": ["plot", "training", "--run", "{run}"],
    "plot stacked": ["plot", "stacked", "--run", "{run}"],
    "plot schedule": ["plot", "schedule", "--run", "{run}"],
    "plot history": ["plot", "history", "--run", "{run}", "--thumbnails", "2"],
    "plot evolution": ["plot", "evolution", "--run", "{run}", "--dpi", "20"],
    "plot intervention": ["plot", "intervention", "--run", "{run}", "--kind", "suppression"],
    "plot explorer": ["plot", "explorer", "--run", "{run}"],
    "infer": ["infer", "--run", "{run}", "red"],
    "intervene": ["intervene", "--kind", "suppression", "--run", "{run}"],
    "train --resume": ["train", "--resume", "{run}"],
}

# (pristine run, file) -> the commands that read that file.
READERS = {
    ("finished", ".hydra/config.yaml"): [
        "report",
        "plot colors",
        "plot history",
        "plot intervention",
        "plot explorer",
        "infer",
        "intervene",
        "train --resume",
    ],
    ("finished", ".hydra/overrides.yaml"): ["report"],
    ("finished", "metrics.csv"): ["report", "plot training", "plot evolution"],
    ("finished", "checkpoints/last.ckpt"): ["plot colors", "plot explorer", "infer", "intervene", "train --resume"],
    ("finished", "history.npz"): ["plot history", "plot evolution"],
    ("finished", "dopesheet.csv"): ["plot schedule"],
    ("finished", "score.json"): ["report"],
    ("finished", "interventions/suppression/metrics.json"): ["report"],
    ("finished", "interventions/suppression/predictions.npz"): ["plot stacked"],
    ("finished", "interventions/suppression/intervention.yaml"): ["plot intervention", "plot explorer"],
    ("finished", "figures/colors.txt"): ["report --run-reports"],
    ("unfinished", ".hydra/config.yaml"): ["train --resume"],
    ("unfinished", "metrics.csv"): ["train --resume"],
    ("unfinished", "checkpoints/last.ckpt"): ["train --resume"],
    ("unfinished", "history.npz"): ["train --resume"],
    ("unfinished", "dopesheet.csv"): ["train --resume"],
}
# Alt text is plain text: any UTF-8 is valid, so it has no wrong schema.
NO_SCHEMA = {"figures/colors.txt"}

CASES = [
    (which, file, damage)
    for (which, file) in READERS
    for damage in DAMAGES
    if not (damage == "wrong-schema" and file in NO_SCHEMA)
]


def case_id(which: str, file: str, damage: str) -> str:
    return f"{which}-{file.replace('/', '_')}-{damage}"


@pytest.fixture(scope="session")
def matrix(tmp_path_factory) -> dict:
    """The outcome of every case: the pristine runs made, the matrix run through tests/damage_driver.py."""
    root = tmp_path_factory.mktemp("damaged")
    excolor(
        "run",
        "experiment=smoke",
        "history.snapshots=4",
        "score={plan:[suppression],grid:4,against:similarity,power:2}",
        "hydra.run.dir=finished",
        cwd=root,
    )
    (root / "long.csv").write_text(LONG_SHEET)
    interrupted_at_checkpoint(
        ["train", "experiment=smoke", "dopesheet=long.csv", "history.snapshots=4", "trainer.checkpoint_every=100"],
        cwd=root,
        checkpoint=root / "unfinished" / "checkpoints" / "last.ckpt",
        run_dir="unfinished",
    )
    cases = [
        {
            "id": case_id(which, file, damage),
            "pristine": str(root / which),
            "file": file,
            "damage": damage,
            "commands": [COMMANDS[name] for name in READERS[(which, file)]],
        }
        for which, file, damage in CASES
    ]
    (root / "scratch").mkdir()
    spec = {"workdir": str(root), "scratch": str(root / "scratch"), "cases": cases}
    (root / "spec.json").write_text(json.dumps(spec))
    driver = Path(__file__).with_name("damage_driver.py")
    subprocess.run(
        [sys.executable, str(driver), str(root / "spec.json"), str(root / "results.json")], check=True, timeout=1200
    )
    return json.loads((root / "results.json").read_text())


@pytest.mark.parametrize("which,file,damage", CASES, ids=[case_id(*c) for c in CASES])
def test_a_damaged_run_file_is_named_in_one_line_by_every_reader(matrix, which, file, damage):
    result = matrix[case_id(which, file, damage)]
    for name, outcome in zip(READERS[(which, file)], result["outcomes"]):
        stderr = outcome["stderr"].strip()
        assert "Traceback" not in stderr, (name, stderr)
        assert outcome["code"] == 2, (name, outcome["code"], stderr)
        assert len(stderr.splitlines()) == 1, (name, stderr)
        assert stderr.startswith("excolor: error: ") and file in stderr, (name, stderr)
    assert result["unchanged"], "a refused command changed the run directory"
