"""The redux procedure against one run of the same experiment, whole processes, side by side.

Times, on the same machine in one run (alternating, `--repeats` times each, the median reported):

* single: `excolor run experiment=X seed=0` (train one seed, score it, evaluate it in full);
* redux: `excolor run experiment=X --seeds 0-(S-1)` (train S seeds together, score every one, measure every
  one's selectivity, evaluate the best in full, the summary across them).

Then, in this process on the redux's seeds, what the two per-seed passes cost, alternating, `--passes` times
each (the median): the score (one forward pass per seed on the 8³ grid) and the selectivity (issue 24: per
seed a baseline pass and one per intervention, on the named colours and a 48×12×12 cube). `--reuse DIR`
times only these passes, on an existing redux directory.

Issue 13's targets for ex-2.4.1 on 2 CPU cores: the 60-seed redux under a minute, and at most 5× one
single run. Also prints where the redux's time went, from its log's timestamps.

    python benchmarks/bench_redux.py [--experiment ex-2.4.1] [--seeds 60] [--repeats 1] [--passes 3] [--keep DIR]
    python benchmarks/bench_redux.py --reuse outputs/ex-2.4.1/<timestamp> [--passes 3]

`--keep DIR` copies the last redux's directory there (its summary.md is a result in itself: RESULTS.md's
digits section comes from `--experiment ex-3.2 --keep ...`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import excolor_command, machine_header, median, run_process, table  # noqa: E402


# Log lines that start each phase of `excolor run --seeds` (tasks/run.py), in order.
PHASE_STARTS = [
    ("training", "training "),
    ("scoring", "scoring "),
    ("selectivity of every seed (+ reading every seed back)", "selectivity of "),
    ("the best seed evaluated in full", "best seed by "),
    ("summary, box plots", "summary across seeds"),
]


def phase_times(log: str, wall: float) -> list[list[str]]:
    """Seconds from each phase's first log line to the next one's; the start-up (imports, composing and
    checking the config) is what the process spent before training's first line."""
    from datetime import datetime

    stamps = []
    for name, prefix in PHASE_STARTS:
        for line in log.splitlines():
            if line.startswith("[") and "][INFO] " + prefix in line:
                stamps.append((name, datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")))
                break
    rows = []
    for (name, start), (_, end) in zip(stamps, stamps[1:]):
        rows.append([name, f"{(end - start).total_seconds():.1f} s"])
    spent = (stamps[-1][1] - stamps[0][1]).total_seconds() if stamps else 0.0
    rows.insert(0, ["start-up, and the summary written at the end", f"{wall - spent:.1f} s"])
    return rows


def pass_times(directory: Path, repeats: int) -> tuple[str, list[list[str]]]:
    """(what was timed, rows): the score's and the selectivity's pass over every seed of a redux directory,
    in this process, alternating, the median of `repeats`; computed, never written (the directory is left as
    it was)."""
    from ex_color import runs
    from ex_color.evaluation.score import ScoreSettings, plan_configs, score_models
    from ex_color.evaluation.seed_selectivity import SelectivityProbe, build_interventions, measure_model
    from ex_color.evaluation.settings import EvalSettings
    from ex_color.reports.redux import seed_runs
    from ex_color.tasks.run import intervention_configs

    seeds = seed_runs(directory)
    cfg = runs.load_config(seeds[0])
    settings = ScoreSettings.from_config(cfg.get("score"))
    configs = intervention_configs(cfg)
    hd = EvalSettings.from_config(cfg.get("eval")).hd
    score, selectivity = [], []
    for _ in range(repeats):
        if settings is not None:
            start = time.perf_counter()
            score_models([runs.load_model(seed) for seed in seeds], settings, plan_configs(settings, cfg))
            score.append(time.perf_counter() - start)
        start = time.perf_counter()
        probe, built = SelectivityProbe(hd), None
        for seed in seeds:
            model = runs.load_model(seed)
            built = built or build_interventions(configs, model)
            measure_model(model, built, probe)
        selectivity.append(time.perf_counter() - start)
    kinds = [kind for kind in configs if kind != "none"]
    rows = [["score (8³ grid, the plan)", f"{median(score):.2f} s" if score else "–", "1" if score else "–"]]
    ratio = f"{median(selectivity) / median(score):.2f}×" if score else "–"
    rows.append([f"selectivity ({', '.join(kinds)})", f"{median(selectivity):.2f} s", ratio])
    what = f"{len(seeds)} seeds of {cfg.name}, loading each checkpoint included, median of {repeats}"
    return what, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default="ex-2.4.1")
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--reuse", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="copy the last redux's directory here")
    args = parser.parse_args()
    if args.reuse is not None:
        what, rows = pass_times(args.reuse, args.passes)
        print(machine_header(f"The redux's per-seed passes ({what})"))
        print("\n" + table(["pass over every seed", "wall", "ratio to the score"], rows))
        return

    excolor = excolor_command()
    single_times, redux_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
        for repeat in range(args.repeats):
            single = run_process(
                [*excolor, "run", f"experiment={args.experiment}", "seed=0", f"hydra.run.dir=single-{repeat}"],
                cwd=work,
                env=env,
            )
            single_times.append(single)
            redux = run_process(
                [
                    *excolor, "run", f"experiment={args.experiment}", "--seeds", f"0-{args.seeds - 1}",
                    f"hydra.run.dir=redux-{repeat}",
                ],
                cwd=work,
                env=env,
            )  # fmt: skip
            redux_times.append(redux)
        summary = (work / "redux-0" / "summary.json").read_text()
        if args.keep is not None:
            import shutil

            shutil.copytree(work / f"redux-{args.repeats - 1}", args.keep, symlinks=True)
        phases = phase_times((work / "redux-0" / "train.log").read_text(), redux_times[0].wall)
        what, passes = pass_times(work / "redux-0", args.passes)

    wall_single = median(t.wall for t in single_times)
    wall_redux = median(t.wall for t in redux_times)
    cpu_single = median(t.cpu for t in single_times)
    cpu_redux = median(t.cpu for t in redux_times)
    rows = [
        ["single (`seed=0`)", f"{wall_single:.1f} s", f"{cpu_single:.1f} s", "1"],
        [
            f"redux (`--seeds 0-{args.seeds - 1}`)",
            f"{wall_redux:.1f} s",
            f"{cpu_redux:.1f} s",
            f"{wall_redux / wall_single:.2f}× wall, {cpu_redux / cpu_single:.2f}× CPU",
        ],
    ]
    import json

    best = json.loads(summary)["best"]
    text = "\n".join(
        [
            machine_header(f"The {args.experiment} redux against one run ({args.repeats} repetition(s), median)"),
            "",
            table(["command", "wall", "CPU", "ratio to single"], rows),
            "",
            f"Targets: redux under 60 s ({'met' if wall_redux < 60 else 'NOT met'}), at most 5× single "
            f"({'met' if wall_redux <= 5 * wall_single else 'NOT met'}). Best seed: {best}.",
            "",
            "Where the redux's time went (from its train.log):",
            "",
            table(["phase", "wall"], phases),
            "",
            f"The per-seed passes ({what}):",
            "",
            table(["pass over every seed", "wall", "ratio to the score"], passes),
        ]
    )
    print(text)


if __name__ == "__main__":
    main()
