"""Seeds trained together (`excolor train --seeds`) against one run per seed, whole processes.

For each ensemble size S it times, as whole processes on the same machine in one run:

* sequential: `excolor train seed=k` for k = 0 … S-1, one process after another (what a seed sweep with
  Hydra's basic launcher does);
* together: one `excolor train --seeds 0-(S-1)` process;

and reports how far each seed's final weights and losses drifted from its single run (the same maths,
rounded differently by batched kernels). `--baseline DIR` measures another checkout of the project (for
example `git worktree add /tmp/base <commit>`) the same way in the same run, so that codes are compared
side by side under the same load.

The training is experiment 2.2 (its regularizers, model, batches) on an ex-2.2-shaped dopesheet of
`--steps` steps (default 4,000, so that 32 sequential runs take minutes; use --steps 20001 for the full
experiment). `--device cuda` runs both on the GPU (trainer.accelerator=gpu).

    python benchmarks/bench_ensemble.py [--sizes 8 32] [--steps 4000] [--device cpu|cuda] [--baseline DIR] [--loop-only]

`--loop-only` times the training loop alone in one process for each size (the first size is the
baseline: with `--sizes 1 8 32`, 1 seed), for ensembles too large to run one after another.
`--stock-layers` times the loop alone, per seed and step, for ColorMLP (stack-aware: one batched product
per layer) beside the same shape in stock `torch.nn` layers (`stock_model.StockMLP`, run through
`torch.func.functional_call` under `torch.vmap`), with and without a LayerNorm.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ex22_like_sheet, excolor_command, machine_header, run_process, table, write  # noqa: E402


def drift(single: Path, member: Path) -> tuple[float, float]:
    """(largest weight difference, largest relative difference of the final losses) of two run directories."""
    import csv

    from ex_color.runs import load_checkpoint

    a, b = load_checkpoint(single)["state_dict"], load_checkpoint(member)["state_dict"]
    weights = max(float((a[k] - b[k]).abs().max()) for k in a)
    last = [list(csv.DictReader(open(d / "metrics.csv")))[-1] for d in (single, member)]
    losses = max(
        abs(float(last[0][k]) - float(last[1][k])) / max(abs(float(last[0][k])), 1e-12)
        for k in last[0]
        if k.startswith("train/") and last[0][k] and last[1][k]
    )
    return weights, losses


def loop_timings(sizes: list[int], steps: int, device: str) -> None:
    """In one process: the training loop alone (no start-up, no files) for each ensemble size."""
    import time

    import torch

    from ex_color.config import compose
    from ex_color.training.setup import build_loop, trainer_settings

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="excolor-ensemble-") as tmp:
        sheet = write(Path(tmp) / "sheet.csv", ex22_like_sheet(steps))
        cfg = compose(
            "train",
            ["experiment=ex-2.2", f"dopesheet={sheet}", f"trainer.accelerator={'gpu' if device == 'cuda' else 'cpu'}"],
        )
        rows, single = [], None
        for size in sizes:
            loop, _ = build_loop(cfg, list(range(size)), trainer_settings(cfg), warn=False)
            start = time.perf_counter()
            loop.run(lambda first, rows: None, lambda: None)
            if device == "cuda":
                torch.cuda.synchronize()
            per_step = (time.perf_counter() - start) / steps * 1e6
            single = single or per_step / size
            rows.append([str(size), f"{per_step:,.0f}", f"{per_step / size:,.1f}", f"{single * size / per_step:.1f}×"])
            print(f"  {size} seeds: {per_step:,.0f} µs/step", flush=True)
    print(f"\n### Training loop alone, in one process: ex-2.2, {steps:,} steps, {device}\n")
    print(f"speed-up: against {sizes[0]} seed(s) per seed, i.e. the same loop run once per seed\n")
    print(table(["seeds", "µs/step", "µs/step per seed", "speed-up"], rows), flush=True)


STOCK_MODELS = {
    "ColorMLP (stack-aware)": [],
    "StockMLP (nn.Linear)": ["~model", "+model._target_=stock_model.StockMLP"],
    "StockMLP + LayerNorm": ["~model", "+model._target_=stock_model.StockMLP", "+model.layer_norm=true"],
}


def stock_layer_timings(sizes: list[int], steps: int, device: str) -> None:
    """In one process: the training loop alone, per seed and step, of ColorMLP and of stock-layer models."""
    import time

    import torch

    from ex_color.config import compose
    from ex_color.training.setup import build_loop, trainer_settings

    torch.set_num_threads(1)
    accelerator = f"trainer.accelerator={'gpu' if device == 'cuda' else 'cpu'}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="excolor-stock-") as tmp:
        sheet = write(Path(tmp) / "sheet.csv", ex22_like_sheet(steps))
        for size in sizes:
            costs = []
            for name, model in STOCK_MODELS.items():
                cfg = compose("train", ["experiment=ex-2.2", f"dopesheet={sheet}", accelerator, *model])
                loop, _ = build_loop(cfg, list(range(size)), trainer_settings(cfg), warn=False)
                start, cpu = time.perf_counter(), time.process_time()
                loop.run(lambda first, rows: None, lambda: None)
                if device == "cuda":
                    torch.cuda.synchronize()
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu
                costs.append((wall / steps / size * 1e6, cpu / steps / size * 1e6))
                print(f"  {size} seeds, {name}: {costs[-1][0]:,.1f} µs wall, {costs[-1][1]:,.1f} µs CPU", flush=True)
            rows.append(
                [
                    str(size),
                    *(f"{wall:,.1f} ({cpu:,.1f})" for wall, cpu in costs),
                    *(f"{c[1] / costs[0][1]:.1f}×" for c in costs[1:]),
                ]
            )
    print(f"\n### Stock layers through torch.func beside ColorMLP: ex-2.2, {steps:,} steps, {device}\n")
    print("the training loop alone, in one process; µs per seed and step, wall (CPU time); ratios of CPU time\n")
    names = list(STOCK_MODELS)
    print(table(["seeds", *names, *(f"{n} / ColorMLP" for n in names[1:])], rows), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32], help="ensemble sizes (default 8 32)")
    parser.add_argument("--steps", type=int, default=4000, help="training steps per run (default 4000)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--baseline", type=Path, help="another checkout of the project, measured the same way")
    parser.add_argument(
        "--loop-only", action="store_true", help="time the training loop alone, in this process (no start-up, no files)"
    )
    parser.add_argument(
        "--stock-layers", action="store_true", help="loop alone: ColorMLP beside stock-layer models (torch.func)"
    )
    args = parser.parse_args(argv)

    print(machine_header("bench_ensemble: seeds trained together"), flush=True)
    if args.device == "cuda":
        import torch

        print(f"device: {torch.cuda.get_device_name(0)}", flush=True)
    if args.stock_layers:
        stock_layer_timings(args.sizes, args.steps, args.device)
        return 0
    if args.loop_only:
        loop_timings(args.sizes, args.steps, args.device)
        return 0
    accelerator = "gpu" if args.device == "cuda" else "cpu"
    codes = {"this tree": (excolor_command(), None)}
    if args.baseline is not None:
        env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
        codes[f"baseline ({args.baseline})"] = ([sys.executable, "-m", "ex_color.cli"], env)
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
            for index, (code, (command, env)) in enumerate(codes.items()):
                single = workdir / f"single-{index}-{size}"
                together_dir = workdir / f"together-{index}-{size}"
                sequential = [
                    run_process(
                        [*command, "train", *common, f"seed={seed}", f"hydra.run.dir={single}/{seed}"],
                        cwd=workdir,
                        env=env,
                    )
                    for seed in seeds
                ]
                together = run_process(
                    [*command, "train", *common, f"--seeds=0-{size - 1}", f"hydra.run.dir={together_dir}"],
                    cwd=workdir,
                    env=env,
                )
                drifts = [drift(single / str(s), together_dir / f"seed-{s}") for s in seeds]
                wall, cpu = sum(t.wall for t in sequential), sum(t.cpu for t in sequential)
                print(f"  {code}, {size} seeds: sequential {wall:.1f} s, together {together.wall:.1f} s", flush=True)
                rows.append(
                    [
                        code,
                        str(size),
                        f"{wall:.1f}",
                        f"{together.wall:.1f}",
                        f"{wall / together.wall:.1f}×",
                        f"{cpu / together.cpu:.1f}×",
                        f"{together.wall / size:.2f}",
                        f"{max(d[0] for d in drifts):.1e}",
                        f"{max(d[1] for d in drifts):.1e}",
                    ]
                )
    print(f"\n### Seeds together vs one after another: experiment 2.2, {args.steps:,} steps, {args.device}\n")
    print(
        "whole processes; sequential = the sum of one `excolor train seed=k` per seed; drift: each seed against its single run\n"
    )
    headers = [
        "code",
        "seeds",
        "sequential s",
        "together s",
        "speed-up (wall)",
        "speed-up (CPU)",
        "together s per seed",
        "largest weight drift",
        "largest final-loss drift (relative)",
    ]
    print(table(headers, rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
