"""`excolor` with a stopwatch on the training loop: the real CLI, unchanged, plus one printed line.

    python benchmarks/timed_excolor.py train [OVERRIDES...]

prints, at exit, `BENCH loop_seconds=<seconds from on_train_start to on_train_end> steps=<n>` — the
cost of the steps alone (with the final checkpoint), without the process's start-up.
"""

from __future__ import annotations

import atexit
import sys
import time

from ex_color import training

_marks: dict[str, float] = {}
_start, _end = training.ColorTrainer.on_train_start, training.ColorTrainer.on_train_end


def _on_train_start(self):
    _marks["start"] = time.perf_counter()
    _start(self)


def _on_train_end(self):
    _end(self)
    _marks["end"] = time.perf_counter()
    _marks["steps"] = self.trainer.global_step


@atexit.register
def _report() -> None:
    if "end" in _marks:
        print(f"BENCH loop_seconds={_marks['end'] - _marks['start']:.6f} steps={_marks['steps']}", flush=True)


training.ColorTrainer.on_train_start = _on_train_start
training.ColorTrainer.on_train_end = _on_train_end

if __name__ == "__main__":
    from ex_color.cli import main

    sys.argv[0] = "excolor"
    main()
