"""Issue 6, target 3 (responsiveness): `excolor --help` within 2.5x the cost of `python -c "import typer"`.

Both are timed as whole processes, alternately, many times; the table gives medians (and the fastest
run) and the ratio. It also lists what importing `ex_color.cli` pulls in beyond typer's own imports
(it should be nothing heavy: torch, Lightning, Hydra, numpy are imported inside the commands).

    python benchmarks/bench_cli.py [--quick] [--reps N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, excolor_command, machine_header, median, run_process, table  # noqa: E402

TARGET = 2.5
HEAVY = ("torch", "lightning", "hydra", "omegaconf", "numpy", "matplotlib", "wandb")


def extra_imports() -> tuple[list[str], list[str]]:
    """(top-level packages, ex_color modules) that `import ex_color.cli` loads and `import typer` does not."""
    code = "import sys, {m}; print('\\n'.join(sorted(sys.modules)))"
    seen = {}
    for module in ("typer", "ex_color.cli"):
        out = subprocess.run([PYTHON, "-c", code.format(m=module)], capture_output=True, text=True, check=True).stdout
        seen[module] = set(out.split())
    extra = seen["ex_color.cli"] - seen["typer"]
    return sorted({name.split(".")[0] for name in extra}), sorted(n for n in extra if n.split(".")[0] == "ex_color")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--reps", type=int, default=None, help="repetitions of each (default 15, quick 5)")
    args = parser.parse_args(argv)
    reps = args.reps or (5 if args.quick else 15)

    print(machine_header("bench_cli: issue 6 target 3 (responsiveness)"))
    commands = {
        "excolor --help": [*excolor_command(), "--help"],
        'python -c "import typer"': [PYTHON, "-c", "import typer"],
    }
    for command in commands.values():  # warm the file cache once
        run_process(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(reps):
        for name, command in commands.items():
            times[name].append(run_process(command).wall)
    help_name, typer_name = list(commands)
    rows = [[name, f"{median(t) * 1000:.0f}", f"{min(t) * 1000:.0f}"] for name, t in times.items()]
    ratio = median(times[help_name]) / median(times[typer_name])
    rows.append(["ratio", f"{ratio:.2f}", f"{min(times[help_name]) / min(times[typer_name]):.2f}"])
    print(f"\n## Target 3: whole processes, {reps} alternating runs each\n")
    print(table(["process", "median ms", "fastest ms"], rows))
    print(f"\ntarget 3 (ratio of medians ≤ {TARGET}): {'MET' if ratio <= TARGET else 'NOT MET'}")
    packages, own = extra_imports()
    heavy = [name for name in packages if name in HEAVY]
    print(f"packages `import ex_color.cli` loads beyond typer's: {', '.join(packages) or 'none'} ({', '.join(own)})")
    print(f"heavy ones among them ({', '.join(HEAVY)}): {', '.join(heavy) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
