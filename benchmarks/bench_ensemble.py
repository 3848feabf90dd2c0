"""Issue 6, stretch: several seeds in one process as a batched ensemble, against one run per seed.

For each ensemble size S it times, as whole processes on the same machine in one run:

* sequential: `excolor train seed=k` for k = 0 … S-1, one process after another (what a seed sweep with
  Hydra's basic launcher does);
* together: one `excolor train --seeds 0-(S-1)` process;

and checks that every seed's final weights and metrics.csv are the same in both (bit for bit on CPU).

The training is experiment 2.2 (its regularizers, model, batches) on an ex-2.2-shaped dopesheet of
`--steps` steps (default 4,000, so that 32 sequential runs take minutes, not a quarter of an hour; use
--steps 20001 for the full experiment). `--device cuda` runs both on the GPU (trainer.accelerator=gpu).

    python benchmarks/bench_ensemble.py [--sizes 8 32] [--steps 4000] [--device cpu|cuda] [--loop-only]

`--loop-only` times the training loop alone in one process for each size (the first size is the
baseline: with `--sizes 1 8 32`, 1 seed), for ensembles too large to run one after another.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ex22_like_sheet, excolor_command, machine_header, run_process, table, write  # noqa: E402


def same_results(single: Path, member: Path) -> tuple[bool, bool, float]:
    """(weights identical, metrics.csv identical, largest weight difference) of two run directories."""
    import torch

    from ex_color.runs import load_checkpoint

    a, b = load_checkpoint(single)["state_dict"], load_checkpoint(member)["state_dict"]
    identical = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    largest = max(float((a[k] - b[k]).abs().max()) for k in a)
    same_metrics = (single / "metrics.csv").read_bytes() == (member / "metrics.csv").read_bytes()
    return identical, same_metrics, largest


def loop_timings(sizes: list[int], steps: int, device: str) -> None:
    """In one process: the training loop alone (no start-up, no files) for each ensemble size."""
    import time

    import torch

    from ex_color.config import compose
    from ex_color.tasks.train_seeds import build_ensemble

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="excolor-ensemble-") as tmp:
        sheet = write(Path(tmp) / "sheet.csv", ex22_like_sheet(steps))
        cfg = compose("train", ["experiment=ex-2.2", f"dopesheet={sheet}"])
        rows, single = [], None
        for size in sizes:
            loop, _ = build_ensemble(cfg, list(range(size)), torch.device(device), warn=False)
            start = time.perf_counter()
            loop.run(lambda record: None)
            if device == "cuda":
                torch.cuda.synchronize()
            per_step = (time.perf_counter() - start) / steps * 1e6
            single = single or per_step / size
            rows.append([str(size), f"{per_step:,.0f}", f"{per_step / size:,.1f}", f"{single * size / per_step:.1f}×"])
            print(f"  {size} seeds: {per_step:,.0f} µs/step", flush=True)
    print(f"\n### Training loop alone, in one process: ex-2.2, {steps:,} steps, {device}\n")
    print(f"speed-up: against {sizes[0]} seed(s) per seed, i.e. the same loop run once per seed\n")
    print(table(["seeds", "µs/step", "µs/step per seed", "speed-up"], rows), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32], help="ensemble sizes (default 8 32)")
    parser.add_argument("--steps", type=int, default=4000, help="training steps per run (default 4000)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--loop-only", action="store_true", help="time the training loop alone, in this process (no start-up, no files)"
    )
    args = parser.parse_args(argv)

    print(machine_header("bench_ensemble: issue 6 stretch (seeds trained together)"), flush=True)
    if args.device == "cuda":
        import torch

        print(f"device: {torch.cuda.get_device_name(0)}", flush=True)
    if args.loop_only:
        loop_timings(args.sizes, args.steps, args.device)
        return 0
    accelerator = "gpu" if args.device == "cuda" else "cpu"
    rows = []
    with tempfile.TemporaryDirectory(prefix="excolor-ensemble-") as tmp:
        workdir = Path(tmp)
        sheet = write(workdir / "sheet.csv", ex22_like_sheet(args.steps))
        common = [
            "experiment=ex-2.2",
            f"dopesheet={sheet}",
            f"trainer.accelerator={accelerator}",
            "trainer.checkpoint_every=0",
            "trainer.progress_every=0",
        ]
        for size in args.sizes:
            seeds = list(range(size))
            sequential = []
            for seed in seeds:
                timing = run_process(
                    [*excolor_command(), "train", *common, f"seed={seed}", f"hydra.run.dir=single-{size}/{seed}"],
                    cwd=workdir,
                )
                sequential.append(timing)
            together = run_process(
                [*excolor_command(), "train", *common, f"--seeds=0-{size - 1}", f"hydra.run.dir=together-{size}"],
                cwd=workdir,
            )
            checks = [same_results(workdir / f"single-{size}" / str(s), workdir / f"together-{size}" / f"seed-{s}") for s in seeds]
            wall = sum(t.wall for t in sequential)
            cpu = sum(t.cpu for t in sequential)
            print(
                f"  {size} seeds: sequential {wall:.1f} s, together {together.wall:.1f} s; "
                f"identical weights {sum(c[0] for c in checks)}/{size}, metrics {sum(c[1] for c in checks)}/{size}",
                flush=True,
            )
            rows.append(
                [
                    str(size),
                    f"{wall:.1f}",
                    f"{together.wall:.1f}",
                    f"{wall / together.wall:.1f}×",
                    f"{cpu / together.cpu:.1f}×",
                    f"{together.wall / size:.2f}",
                    f"{sum(c[0] for c in checks)}/{size}",
                    f"{sum(c[1] for c in checks)}/{size}",
                    f"{max(c[2] for c in checks):.1e}",
                ]
            )
    print(f"\n### Seeds together vs one after another: experiment 2.2, {args.steps:,} steps, {args.device}\n")
    print("whole processes; sequential = the sum of one `excolor train seed=k` per seed\n")
    headers = [
        "seeds",
        "sequential s",
        "together s",
        "speed-up (wall)",
        "speed-up (CPU)",
        "together s per seed",
        "identical weights",
        "identical metrics.csv",
        "largest weight difference",
    ]
    print(table(headers, rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
