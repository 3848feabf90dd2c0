"""How long a requeued SLURM job takes to come back (issue 16), on the local cluster of scripts/local-slurm.sh.

A one-job sweep (experiment=smoke on a 3,001-step sheet, checkpoint every 200 steps) runs straight through,
then again with `scontrol requeue` once its first checkpoint exists; each requeued attempt resumes from
that checkpoint. Reported: the sweep's whole time both ways, and the seconds from the requeue to the
`resuming from step N` line of the new attempt. Needs the cluster up (`sudo scripts/local-slurm.sh start`);
without it, says so and exits 0.

    python benchmarks/bench_slurm.py [--reps N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import excolor_command, machine_header, median, table  # noqa: E402

CONF = Path(os.environ.get("EXCOLOR_SLURM_DIR", "/tmp/excolor-slurm")) / "slurm.conf"
SHEET = "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n0,Train,,0.01,0.01,0.05,0.1,0.02,1\n3000,,,0.005,,,,,\n"


def sweep(workdir: Path, name: str, requeue: bool) -> tuple[float, float | None]:
    """(wall seconds of the sweep, seconds from the requeue to the resume line, or None)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "SLURM_CONF": str(CONF)}
    args = [
        "train",
        "-m",
        "experiment=smoke",
        f"dopesheet={workdir / 'long.csv'}",
        "trainer.checkpoint_every=200",
        "hydra/launcher=submitit_slurm",
        f"hydra.sweep.dir={name}",
    ]
    start = time.perf_counter()
    process = subprocess.Popen(
        [*excolor_command(), *args], cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    requeued_at = None
    if requeue:
        checkpoint = workdir / name / "0" / "checkpoints" / "last.ckpt"
        while not checkpoint.exists() and process.poll() is None:
            time.sleep(0.05)
        job = next(p.name.split("_")[0] for p in (workdir / name / ".submitit").iterdir() if p.name[0].isdigit())
        requeued_at = time.time()
        subprocess.run(["scontrol", "requeue", job], env=env, check=True)
    out, err = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"the sweep failed:\n{out}\n{err}")
    if requeued_at is None:
        return wall, None
    for line in (workdir / name / "0" / "train.log").read_text().splitlines():
        if "resuming from step" in line:
            stamp = datetime.datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            return wall, stamp - requeued_at
    raise SystemExit("the requeued job did not resume")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    up = (
        CONF.exists()
        and subprocess.run(["sinfo"], env={**os.environ, "SLURM_CONF": str(CONF)}, capture_output=True).returncode == 0
    )
    if not up:
        print("bench_slurm: skipped: no local SLURM cluster (sudo scripts/local-slurm.sh start)")
        return
    print(machine_header("bench_slurm: issue 16 (a requeued job coming back)"))
    straight, requeued, back = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "long.csv").write_text(SHEET)
        for rep in range(args.reps):
            straight.append(sweep(workdir, f"straight-{rep}", requeue=False)[0])
            wall, seconds = sweep(workdir, f"requeued-{rep}", requeue=True)
            requeued.append(wall)
            back.append(seconds)
    print(
        table(
            ["one-job sweep, 3,001 steps", f"median of {args.reps} (s)", "runs (s)"],
            [
                ["straight through", f"{median(straight):.1f}", ", ".join(f"{x:.1f}" for x in straight)],
                [
                    "requeued once (scontrol requeue)",
                    f"{median(requeued):.1f}",
                    ", ".join(f"{x:.1f}" for x in requeued),
                ],
                ["requeue -> 'resuming from step N'", f"{median(back):.1f}", ", ".join(f"{x:.1f}" for x in back)],
            ],
        )
    )


if __name__ == "__main__":
    main()
