"""Shared helpers of the benchmark scripts: timing whole processes, machine facts, tables, sheets."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def excolor_command() -> list[str]:
    """The installed `excolor` script next to this interpreter (what users run), else `-m ex_color.cli`."""
    script = Path(PYTHON).with_name("excolor")
    return [str(script)] if script.exists() else [PYTHON, "-m", "ex_color.cli"]


@dataclass
class Timing:
    wall: float  # seconds, the whole process
    cpu: float  # user + system seconds of the process (less sensitive to other load on the machine)
    stdout: str


def run_process(command: list[str], cwd: Path | None = None, env: dict | None = None) -> Timing:
    """Run `command` to completion; its wall time and CPU time. Raises with its output if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu, result.stdout)


def median(values) -> float:
    return statistics.median(values)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_header(title: str) -> str:
    import lightning
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    lines = [
        f"# {title}",
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"machine: {cpu_model()}, {cores} cores usable ({os.cpu_count()} online), {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, torch {torch.__version__} (CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}), lightning {lightning.__version__}",
        f"load average at start: {load}",
    ]
    return "\n".join(lines)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def ex22_like_sheet(length: int) -> str:
    """Experiment 2.2's dopesheet with its two absolute anchors moved so the run is `length` steps."""
    text = (ROOT / "dopesheets" / "ex-2.2.csv").read_text()
    half, last = (length - 1) // 2, length - 1
    return text.replace("\n10000,", f"\n{half},").replace("\n20000,", f"\n{last},")


def many_rows_sheet(length: int, rows: int) -> str:
    """A sheet of `length` steps with `rows` keyframe rows: ex-2.2's curves, keyed every few steps."""
    from ex_color.schedule import Timeline, parse_dopesheet

    base = Timeline.from_dopesheet(parse_dopesheet(ex22_like_sheet(length)))
    names = list(base.values)
    steps = sorted({round(i * (length - 1) / (rows - 1)) for i in range(rows)})
    lines = ["STEP,PHASE,ACTION," + ",".join(names)]
    for index, step in enumerate(steps):
        phase = "Train" if index == 0 else ""
        lines.append(f"{step},{phase},," + ",".join(f"{base.values[n][step]:.9g}" for n in names))
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path
