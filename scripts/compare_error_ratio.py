"""The redux's per-seed error ratio (48×12×12 cube, summary.json) against the full evaluation's (the run's
HD cube, as report.md), on the first N seeds of a redux directory; also checks that the delta ratios agree.

    python scripts/compare_error_ratio.py REDUX_DIR KIND N
    python scripts/compare_error_ratio.py outputs/ex-2.4.1/<timestamp> suppression 12

Prints the rank correlation of the two error ratios over the seeds and the small cube's value as a share of
the HD cube's (median, min, max). Reads the seeds; writes nothing.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from ex_color.builders import build_intervention
from ex_color.config import compose_intervention
from ex_color.evaluation.measure import RunEvaluation


def main(root: str, kind: str, n: int) -> None:
    summary = json.load(open(f"{root}/summary.json"))
    small, hd = [], []
    for k in range(n):
        evaluation = RunEvaluation(f"{root}/seed-{k}")
        icfg = compose_intervention(kind, [], evaluation.config)
        intervention = build_intervention(icfg.intervention, icfg.concepts, evaluation.model)
        full = evaluation.measure(intervention).metrics.selectivity
        record = summary["seeds"][f"seed-{k}"]["selectivity"][kind]
        assert record["delta_ratio"] == full.delta_ratio, f"seed-{k}: delta ratios differ"
        small.append(record["error_ratio"])
        hd.append(full.error_ratio)
    ranks = [np.argsort(np.argsort(values)) for values in (small, hd)]
    rho = np.corrcoef(*ranks)[0, 1]
    share = np.array(small) / np.array(hd)
    print(
        f"{root} {kind}, seeds 0-{n - 1}: rank correlation {rho:.3f}; small cube / HD cube: median "
        f"{np.median(share):.3f}, min {share.min():.3f}, max {share.max():.3f}; delta ratios identical"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
