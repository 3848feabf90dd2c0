"""A search's trials against one redux of the same experiment and seeds, whole processes, side by side.

Times, on the same machine in one run:

* redux: `excolor run experiment=X --seeds 0-(S-1)` (one redux: train S seeds together, score, evaluate the
  best, the summary);
* search: `excolor search experiment=X --trials T --seeds 0-(S-1)` (T such reduxes under Optuna, then
  search.json, search.md and the figures).

Issue 24's target: a trial costs about one redux. The table gives the search's wall and CPU time per trial
over the redux's. The objective is the mean score (so that the benchmark needs nothing but the score; the
shipped objective, the per-seed selectivity, is read from the same summary.json at no extra cost).

    python benchmarks/bench_search.py [--experiment ex-2.10.1] [--seeds 4] [--first-seed 0] [--trials 20]
        [--shipped] [--keep DIR]

`--shipped` searches the experiment's own objectives and constraints (the per-seed selectivity) instead;
`--keep DIR` works in DIR (a new folder) and keeps it: the redux, and the search's search.md and figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import excolor_command, machine_header, run_process, table  # noqa: E402

OBJECTIVE = [
    "~search.objectives",
    "+search.objectives={score: {metric: score, aggregate: mean, direction: maximize}}",
    "~search.constraints",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default="ex-2.10.1")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--shipped", action="store_true")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()

    excolor = excolor_command()
    seeds = f"{args.first_seed}-{args.first_seed + args.seeds - 1}"
    objective = [] if args.shipped else OBJECTIVE
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) if args.keep is None else args.keep.resolve()
        work.mkdir(parents=True, exist_ok=True)
        env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
        redux = run_process(
            [*excolor, "run", f"experiment={args.experiment}", "--seeds", seeds, "hydra.run.dir=redux"],
            cwd=work,
            env=env,
        )
        search = run_process(
            [
                *excolor, "search", f"experiment={args.experiment}", "--trials", str(args.trials), "--seeds", seeds,
                "--dir", "search", *objective,
            ],
            cwd=work,
            env=env,
        )  # fmt: skip
        data = json.loads((work / "search" / "search.json").read_text())
        states = [t["state"] for t in data["trials"]]
        trial_seconds = sorted(t["seconds"] for t in data["trials"] if t["seconds"] is not None)
    per_trial_wall, per_trial_cpu = search.wall / args.trials, search.cpu / args.trials
    print(machine_header(f"bench_search: issue 24 part 6 ({args.experiment}, {args.seeds} seeds a redux)"))
    print(
        table(
            ["command", "wall", "CPU", "per trial / one redux"],
            [
                [f"redux (`--seeds {seeds}`)", f"{redux.wall:.1f} s", f"{redux.cpu:.1f} s", "1"],
                [
                    f"search (`--trials {args.trials} --seeds {seeds}`)",
                    f"{search.wall:.1f} s",
                    f"{search.cpu:.1f} s",
                    f"{per_trial_wall / redux.wall:.2f}× wall, {per_trial_cpu / redux.cpu:.2f}× CPU",
                ],
            ],
        )
    )
    middle = trial_seconds[len(trial_seconds) // 2] if trial_seconds else float("nan")
    print(
        f"\nTrials: {states.count('COMPLETE')} complete of {len(states)}; each trial in the search "
        f"(Optuna's own clock, ask to tell): median {middle:.1f} s, range {trial_seconds[0]:.1f}–{trial_seconds[-1]:.1f} s. "
        + (f"Best: trial {data['best']['number']}, {data['best']['values']}." if data["best"] else "No best trial.")
    )


if __name__ == "__main__":
    main()
