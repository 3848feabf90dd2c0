"""Issue 6, targets 1 and 4 (training): `excolor train` against a bare PyTorch loop, as whole processes.

Target 1: `excolor train experiment=ex-2.2` (20,001 steps, start-up included) takes no longer than the
  bare eager loop of the same work (`benchmarks/bare_training.py`) run in its own process. Both are
  run alternately, several times; the table gives medians of wall time and of CPU time (user+system,
  which other load on the machine disturbs less), and their ratios (excolor / bare, ≤ 1 meets it).
Target 4: training cost is linear in steps (ex-2.2-shaped sheets of 10 / 2,000 / 4,000 / 8,000 steps:
  the training loop's time per step stays flat, and process time fits a line: start-up + steps x
  per-step cost) and flat in the number of dopesheet rows (8 rows vs 2,000 rows over the same 4,000
  steps). The loop is timed inside the real CLI process by `benchmarks/timed_excolor.py`.

Before timing it checks that the regularizers (`ex_color.losses`, the shipped ex-2.2 config)
compute the same values and gradients as the bare loop's plain ones, in float64.

    python benchmarks/bench_training.py [--quick] [--reps N]

`--quick` uses ~5x fewer steps (target 1 on a 4,001-step sheet shaped like ex-2.2): a smoke test of
the benchmark, not the target. Needs a few minutes on 2 cores without it.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    PYTHON,
    ROOT,
    ex22_like_sheet,
    excolor_command,
    fresh,
    machine_header,
    many_rows_sheet,
    median,
    run_process,
    table,
    write,
)

BARE = [PYTHON, str(ROOT / "benchmarks" / "bare_training.py")]
# Ten steps with ex-2.2's columns: a run that is nearly all start-up.
STARTUP_SHEET = (
    "STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-planar\n"
    "0,Train,,1e-8,0.001,0.02,0.01,0.02,1.0\n"
    "9,,,0.01,,,,,\n"
)


DEVICE = "cpu"  # --device: where both sides of target 1 train


def excolor_train(workdir: Path, sheet: Path | None, name: str):
    """One whole `excolor train` process; returns (timing, last metrics row)."""
    run_dir = fresh(workdir / name)
    overrides = ["experiment=ex-2.2", f"hydra.run.dir={run_dir}"]
    if DEVICE != "cpu":
        overrides.append("trainer.accelerator=gpu")
    if sheet is not None:
        overrides.append(f"dopesheet={sheet}")
    timing = run_process([*excolor_command(), "train", *overrides], cwd=workdir)
    with open(run_dir / "metrics.csv") as handle:
        last = list(csv.DictReader(handle))[-1]
    return timing, {k: float(v) for k, v in last.items() if v}


def timed_excolor(workdir: Path, sheet: Path, name: str) -> tuple[float, float]:
    """(process seconds, training-loop seconds) of one `excolor train` on `sheet`."""
    run_dir = fresh(workdir / name)
    command = [PYTHON, str(ROOT / "benchmarks" / "timed_excolor.py"), "train", "experiment=ex-2.2"]
    timing = run_process([*command, f"dopesheet={sheet}", f"hydra.run.dir={run_dir}"], cwd=workdir)
    line = next(line for line in timing.stdout.splitlines() if line.startswith("BENCH "))
    fields = dict(item.split("=") for item in line.split()[1:])
    return timing.wall, float(fields["loop_seconds"])


def bare_loop(sheet: Path) -> tuple[float, float]:
    """(process seconds, training-loop seconds) of one bare run on `sheet`."""
    timing, result = bare_train(sheet)
    return timing.wall, result["seconds"]


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Least squares y = a + b x; returns (a, b, largest relative deviation of a point from the line)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    intercept = mean_y - slope * mean_x
    return intercept, slope, max(abs(y - (intercept + slope * x)) / y for x, y in points)


def bare_train(sheet: Path | None):
    timing = run_process([*BARE, *(["--dopesheet", str(sheet)] if sheet else []), "--device", DEVICE])
    return timing, json.loads(timing.stdout.strip().splitlines()[-1])


def check_same_maths() -> str:
    """The regularizers (as configured for ex-2.2) vs the bare loop's plain ones, float64."""
    import torch

    from bare_training import NAMES, bare_regularizers
    from ex_color.builders import build_model, build_regularizers
    from ex_color.config import compose
    from ex_color.losses import RegularizerSet

    cfg = compose("train", ["experiment=ex-2.2"])
    labels_names = tuple(cfg.data.labels)
    regs = RegularizerSet(build_regularizers(cfg.regularizers, build_model(cfg.model), labels_names), labels_names)
    generator = torch.Generator().manual_seed(0)
    z0 = torch.randn(64, 4, generator=generator, dtype=torch.float64)
    z0[5] = z0[7] * 2  # a duplicate direction (masked), as sampling with replacement makes
    labels = (torch.rand(64, 2, generator=generator) < 0.3).double()
    weights = torch.rand(len(NAMES), generator=generator, dtype=torch.float64)
    results = []
    for evaluate in (lambda z: regs({"encoder": z}, labels), lambda z: bare_regularizers(z, labels)):
        z = z0.clone().requires_grad_()
        values = evaluate(z)
        sum(w * values[n] for w, n in zip(weights, NAMES)).backward()
        results.append((torch.stack([values[n] for n in NAMES]).detach(), z.grad))
    value_error = ((results[0][0] - results[1][0]).abs() / results[1][0].abs().clamp_min(1e-30)).max().item()
    grad_error = ((results[0][1] - results[1][1]).abs().max() / results[1][1].abs().max()).item()
    ok = value_error < 1e-12 and grad_error < 1e-12
    return (
        f"same maths (float64, ex-2.2 regularizers, ours vs plain): max relative difference of values "
        f"{value_error:.1e}, of gradients {grad_error:.1e} -> {'OK' if ok else 'DIFFERENT'}"
    )


def threads_table(steps: int) -> str:
    """Per-step cost of the bare loop with 1 and 2 torch threads (why the config says threads: 1)."""
    rows = []
    for threads in (1, 2):
        timing = run_process([*BARE, "--steps", str(steps), "--threads", str(threads)])
        result = json.loads(timing.stdout.strip().splitlines()[-1])
        rows.append([threads, f"{result['seconds'] / result['steps'] * 1e6:.0f}"])
    return table(["torch threads", f"bare loop µs/step ({steps} steps)"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~5x fewer steps (checks the benchmark, not the target)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions of target 1 (default 3, quick 2)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where target 1 trains (default cpu)")
    parser.add_argument("--only-target1", action="store_true", help="skip target 4 and the threads table")
    args = parser.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    reps = args.reps or (2 if args.quick else 3)
    scaling_reps = 1 if args.quick else 2
    scale = 5 if args.quick else 1
    sizes = [2000 // scale, 4000 // scale, 8000 // scale]
    row_steps, many_rows = 4000 // scale, 2000 // scale

    print(machine_header("bench_training: issue 6 targets 1 and 4 (training)"), flush=True)
    if DEVICE == "cuda":
        import torch

        print(
            f"device: {torch.cuda.get_device_name(0)} (target 1 on cuda: trainer.accelerator=gpu, bare --device cuda)"
        )
    print(check_same_maths(), flush=True)

    with tempfile.TemporaryDirectory(prefix="excolor-bench-") as tmp:
        workdir = Path(tmp)
        target_sheet = write(workdir / "ex22-quick.csv", ex22_like_sheet(4001)) if args.quick else None
        label = "ex-2.2-shaped, 4,001 steps (--quick)" if args.quick else "experiment=ex-2.2, 20,001 steps"

        # -- target 1 ------------------------------------------------------------------------
        runs: dict[str, list] = {"excolor": [], "bare": []}
        for rep in range(reps):
            timing, metrics = excolor_train(workdir, target_sheet, f"t1-{rep}")
            runs["excolor"].append((timing, metrics["train/recon"], metrics["train/reg-separate"]))
            timing, result = bare_train(target_sheet)
            runs["bare"].append((timing, result["recon"], result["reg-separate"]))
            print(
                f"  rep {rep + 1}/{reps}: excolor {runs['excolor'][-1][0].wall:.1f} s, bare {runs['bare'][-1][0].wall:.1f} s",
                flush=True,
            )
        wall = {k: median([t.wall for t, *_ in v]) for k, v in runs.items()}
        cpu = {k: median([t.cpu for t, *_ in v]) for k, v in runs.items()}
        print(f"\n## Target 1: whole process, {label}; median of {reps}\n")
        rows = []
        for key, command in (("excolor", "excolor train"), ("bare", "bare_training.py (eager loop)")):
            _, recon, separate = runs[key][-1]
            rows.append([command, f"{wall[key]:.2f}", f"{cpu[key]:.2f}", f"{recon:.2e}", f"{separate:.2f}"])
        rows.append(
            [
                "ratio excolor / bare",
                f"{wall['excolor'] / wall['bare']:.3f}",
                f"{cpu['excolor'] / cpu['bare']:.3f}",
                "",
                "",
            ]
        )
        print(table(["process", "wall s", "CPU s", "final train/recon", "final reg-separate"], rows))
        verdict = "MET" if wall["excolor"] <= wall["bare"] else "NOT MET"
        print(f"\ntarget 1 (excolor wall ≤ bare wall): {verdict}", flush=True)
        if args.only_target1:
            return 0

        # -- target 4: steps -----------------------------------------------------------------
        sheets = {10: write(workdir / "steps-10.csv", STARTUP_SHEET)}
        sheets.update({n: write(workdir / f"steps-{n}.csv", ex22_like_sheet(n)) for n in sizes})
        scaling: dict[int, dict[str, tuple[float, float]]] = {
            n: {"excolor": (1e9, 1e9), "bare": (1e9, 1e9)} for n in sheets
        }
        for _ in range(scaling_reps):  # the fastest of the repetitions: the least disturbed by other load
            for n in sheets:
                for key, result in (
                    ("excolor", timed_excolor(workdir, sheets[n], f"s-{n}")),
                    ("bare", bare_loop(sheets[n])),
                ):
                    scaling[n][key] = min(scaling[n][key], result)
        print(f"\n## Target 4: cost grows linearly in steps (ex-2.2-shaped sheets; fastest of {scaling_reps})\n")
        print("process s: the whole process; loop µs/step: the training loop alone (excolor: on_train_start to")
        print("on_train_end, via benchmarks/timed_excolor.py; bare: its loop)\n")
        rows = []
        for n in sheets:
            e, b = scaling[n]["excolor"], scaling[n]["bare"]
            rows.append(
                [
                    f"{n:,}",
                    f"{e[0]:.2f}",
                    f"{e[1] / n * 1e6:.0f}",
                    f"{b[0]:.2f}",
                    f"{b[1] / n * 1e6:.0f}",
                    f"{e[1] / b[1]:.2f}",
                ]
            )
        print(
            table(
                [
                    "steps",
                    "excolor process s",
                    "excolor loop µs/step",
                    "bare process s",
                    "bare loop µs/step",
                    "loop ratio",
                ],
                rows,
            )
        )
        loop_per_step = [scaling[n]["excolor"][1] / n * 1e6 for n in sizes]
        print(
            f"\nexcolor loop µs/step over {', '.join(f'{n:,}' for n in sizes)} steps: largest / smallest {max(loop_per_step) / min(loop_per_step):.2f} (flat: close to 1)"
        )
        for key in ("excolor", "bare"):
            intercept, slope, deviation = linear_fit([(n, scaling[n][key][0]) for n in sheets])
            print(
                f"{key} process time ≈ {intercept:.2f} s + {slope * 1e6:.0f} µs × steps (largest deviation from the line {deviation:.1%})"
            )

        # -- target 4: rows ------------------------------------------------------------------
        many = write(workdir / f"rows-{many_rows}.csv", many_rows_sheet(row_steps, many_rows))
        rows_runs = {"excolor": (1e9, 1e9), "bare": (1e9, 1e9)}
        for _ in range(scaling_reps):
            rows_runs = {
                "excolor": min(rows_runs["excolor"], timed_excolor(workdir, many, "r-many")),
                "bare": min(rows_runs["bare"], bare_loop(many)),
            }
        print(f"\n## Target 4: cost flat in dopesheet rows ({row_steps:,} steps; fastest of {scaling_reps})\n")
        rows = []
        for key in ("excolor", "bare"):
            a, b = scaling[row_steps][key], rows_runs[key]
            rows.append(
                [
                    key,
                    f"{a[0]:.2f}",
                    f"{b[0]:.2f}",
                    f"{a[1] / row_steps * 1e6:.0f}",
                    f"{b[1] / row_steps * 1e6:.0f}",
                    f"{b[1] / a[1]:.2f}",
                ]
            )
        print(
            table(
                [
                    "process",
                    "8 rows process s",
                    f"{many_rows:,} rows process s",
                    "8 rows loop µs/step",
                    f"{many_rows:,} rows loop µs/step",
                    "loop ratio",
                ],
                rows,
            )
        )

    print("\n## torch threads (bare loop, in its own process)\n")
    print(threads_table(300 if args.quick else 500))
    return 0


if __name__ == "__main__":
    sys.exit(main())
