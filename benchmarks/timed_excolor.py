"""`excolor` with a stopwatch on the training loop: the real CLI, unchanged, plus one printed line.

    python benchmarks/timed_excolor.py train [OVERRIDES...]

prints, at exit, `BENCH loop_seconds=<seconds in TrainLoop.run> steps=<n>` — the
cost of the steps alone (with the final checkpoint), without the process's start-up.
"""

from __future__ import annotations

import atexit
import sys
import time

from ex_color.training.loop import TrainLoop

_marks: dict[str, float] = {}
_run = TrainLoop.run


def _timed_run(self, *args, **kwargs):
    _marks["start"] = time.perf_counter()
    try:
        return _run(self, *args, **kwargs)
    finally:
        _marks["end"] = time.perf_counter()
        _marks["steps"] = self.step


@atexit.register
def _report() -> None:
    if "end" in _marks:
        print(f"BENCH loop_seconds={_marks['end'] - _marks['start']:.6f} steps={_marks['steps']}", flush=True)


TrainLoop.run = _timed_run

if __name__ == "__main__":
    from ex_color.cli import main

    sys.argv[0] = "excolor"
    main()
