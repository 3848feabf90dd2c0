"""Two `excolor search` workers sharing one study on a real PostgreSQL server (scripts/local-postgres.sh,
started by .ci/run): together they run exactly N trials, none twice. Skips, saying why, where no server is up."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from conftest import EXCOLOR, REPO, excolor

URL = os.environ.get("EXCOLOR_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5433/excolor")
FAST = ["experiment=smoke", "eval.hd={hues: 12, saturations: 4, values: 4}", "interventions=[none]"]


def server_up() -> str | None:
    """None when the server answers; else why not."""
    status = subprocess.run(
        ["bash", str(REPO / "scripts" / "local-postgres.sh"), "status"], capture_output=True, text=True
    )
    if status.returncode != 0:
        return status.stderr.strip() or "scripts/local-postgres.sh status failed"
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        psycopg.connect(URL, connect_timeout=5).close()
    except psycopg.Error as error:
        return f"cannot connect to {URL}: {str(error).strip().splitlines()[0]}"
    return None


pytestmark = pytest.mark.skipif(bool(reason := server_up()), reason=f"no local PostgreSQL: {reason}")


@pytest.mark.slow
def test_two_workers_share_one_study_and_run_n_trials_none_twice(tmp_path):
    database = f"{URL}"
    folder = f"s-{uuid.uuid4().hex[:8]}"  # the study is named after the directory: a fresh one each run
    command = [*EXCOLOR, "search", "--trials", "4", "--seeds", "0-1", "--dir", folder, "--storage", database, *FAST]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    workers = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=1200) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
    ran = [int(stdout.split(" trial")[0]) for stdout, _ in outputs]
    assert sum(ran) == 4 and all(n >= 1 for n in ran), ran  # both worked, and together ran N

    directory = tmp_path / folder
    data = json.loads((directory / "search.json").read_text())
    numbers = [t["number"] for t in data["trials"]]
    assert [t["state"] for t in data["trials"]] == ["COMPLETE"] * 4 and sorted(numbers) == [0, 1, 2, 3]
    assert sorted(p.name for p in directory.glob("trial-*")) == [f"trial-{n}" for n in range(4)]
    for n in range(4):  # each trial trained once: one training line in its log, two seeds
        log = (directory / f"trial-{n}" / "search-trial.log").read_text()
        assert log.count("training smoke over 2 seeds") == 1
    assert not (directory / "study.db").exists()

    # A third worker joining the finished study has nothing to do.
    late = excolor(
        "search", "--trials", "4", "--seeds", "0-1", "--dir", folder, "--storage", database, *FAST, cwd=tmp_path
    )
    assert late.stdout.startswith("0 trials run here; 4 in the study")
