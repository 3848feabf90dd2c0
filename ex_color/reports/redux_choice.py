"""`redux.best`: the rule that picks a redux's one best seed, the seed evaluated in full.

- `score` (the default, as in the original): the highest score among the Pareto front (which always holds the
  highest score overall, barring exact ties), else the highest score;
- a column, e.g. `selectivity.suppression.delta_ratio` or `val/recon`: the best value of that column among all
  the seeds, ties broken by the higher score. Higher is better for the score and the selectivity ratios and
  Δ at the target, and for any column in `redux.maximise`; lower for everything else (losses, validation
  values, `selectivity.<kind>.worst_far.delta`) and for any column in `redux.minimise`;
- `pareto`: among the Pareto front (`redux.maximise`, `redux.minimise`), the seed with the best median rank:
  every seed with a value in every front column is ranked on each column (1 = best, ties share their mean
  rank), each front member's ranks are reduced to their median, and the lowest median wins (ties: the higher
  score, then the lower seed number).

The chosen seed's folder gets `best.json` (the rule in words), which its report.md quotes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ex_color import runs
from ex_color.domains import higher_is_better as domain_says_higher
from ex_color.errors import UserError
from ex_color.evaluation.seed_selectivity import check_column, parse_column

BEST_FILE = "best.json"
SCORE, PARETO = "score", "pareto"


def higher_is_better(name: str, maximise: Sequence[str] = (), minimise: Sequence[str] = ()) -> bool:
    """The direction of a column: as the Pareto front's settings say, else higher for the score and for the
    columns a domain says so of (`ex_color.domains.Columns.higher`: ratios, the Δ at the target, R²), lower
    for anything else."""
    if name in maximise:
        return True
    if name in minimise:
        return False
    return name == SCORE or domain_says_higher(name)


def direction(name: str, maximise: Sequence[str] = (), minimise: Sequence[str] = ()) -> str:
    """`higher` or `lower` (`higher_is_better`), or `–` for a label count (`labels/…`), which is neither."""
    if name.startswith("labels/") and name not in maximise and name not in minimise:
        return "–"
    return "higher" if higher_is_better(name, maximise, minimise) else "lower"


def parse_rule(value, key: str = "redux.best") -> str:
    """`score`, `pareto` or a column name."""
    if value is None:
        return SCORE
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{key}: expected score, pareto or a summary column such as "
                        f"selectivity.suppression.delta_ratio (got {value!r})")  # fmt: skip
    return value.strip()


@dataclass(frozen=True)
class Choice:
    """The seed a rule chose (None: no seed qualifies), the rule as configured and in words."""

    seed: str | None
    rule: str
    text: str

    def record(self, seeds: int) -> dict:
        return {"seed": self.seed, "rule": self.rule, "text": self.text, "seeds": seeds}


def seed_number(name: str) -> int:
    tail = name.removeprefix("seed-")
    return int(tail) if tail.isdigit() else 1 << 30


def choose(
    rule: str,
    rows: Mapping[str, Mapping[str, float]],
    front: Sequence[str],
    minimise: Sequence[str],
    maximise: Sequence[str],
    score_label: str | None = None,
) -> Choice:
    """The best seed of `rows` (seed -> summary columns) by `rule`; `front`: the Pareto front, highest score
    first. A column no seed has is a UserError naming `redux.best`."""

    def score(name: str) -> float:
        value = rows[name].get(SCORE, math.nan)
        return value if math.isfinite(value) else -math.inf

    def finite(name: str, column: str) -> bool:
        return math.isfinite(rows[name].get(column, math.nan))

    if rule == SCORE:
        scored = [name for name in front if finite(name, SCORE)]
        where = "on the Pareto front" if scored else "of the seeds"
        if not scored:
            scored = sorted((n for n in rows if finite(n, SCORE)), key=lambda n: (-rows[n][SCORE], seed_number(n)))
        label = f" ({score_label})" if score_label else ""
        return Choice(scored[0] if scored else None, rule, f"the highest score{label} {where}")
    if rule == PARETO:
        columns = [*maximise, *minimise]
        if not columns:
            raise UserError("redux.best: pareto needs a Pareto front; set redux.maximise or redux.minimise")
        usable = [n for n in rows if all(finite(n, c) for c in columns)]
        ranks = {n: [] for n in usable}
        for c in columns:
            sign = -1.0 if higher_is_better(c, maximise, minimise) else 1.0
            for name, rank in zip(usable, mean_ranks([sign * rows[n][c] for n in usable])):
                ranks[name].append(rank)
        median = {n: float(np.median(ranks[n])) for n in front if n in ranks}
        if not median:
            return Choice(None, rule, "no seed on the Pareto front")
        seed = min(median, key=lambda n: (median[n], -score(n), seed_number(n)))
        among = "the only seed" if len(median) == 1 else f"among the {len(median)} seeds"
        return Choice(
            seed,
            rule,
            f"the best median rank (here {median[seed]:g} of {len(usable)}) {among} of the Pareto front over "
            f"{', '.join(columns)}",
        )
    values = [n for n in rows if finite(n, rule)]
    if not any(rule in row for row in rows.values()):
        known = sorted({c for row in rows.values() for c in row})
        raise UserError(f"redux.best: no seed has a column {rule!r}; use score, pareto or one of: {', '.join(known)}")
    higher = higher_is_better(rule, maximise, minimise)
    if not values:
        return Choice(None, rule, f"no seed has a value of {rule}")
    seed = min(values, key=lambda n: (-rows[n][rule] if higher else rows[n][rule], -score(n), seed_number(n)))
    return Choice(seed, rule, f"the {'highest' if higher else 'lowest'} {rule} of the {len(rows)} seeds")


def mean_ranks(values: Sequence[float]) -> list[float]:
    """Rank of each value from the lowest (1); equal values share the mean of their ranks."""
    array = np.asarray(values, dtype=float)
    order = np.argsort(array, kind="stable")
    ranks = np.empty(len(array))
    position = 0
    while position < len(order):
        end = position
        while end + 1 < len(order) and array[order[end + 1]] == array[order[position]]:
            end += 1
        ranks[order[position : end + 1]] = (position + end) / 2 + 1
        position = end + 1
    return ranks.tolist()


def check_rule(rule: str, kinds: Sequence[str], maximise, minimise) -> None:
    """Before training: a `selectivity.…` rule names one of the redux's interventions and fields; pareto has
    columns to rank (null columns default to the score and every val/ column)."""
    if parse_column(rule) is not None:
        check_column(rule, kinds, "redux.best")
    if rule == PARETO and maximise == () and minimise == ():
        raise UserError("redux.best: pareto needs a Pareto front; set redux.maximise or redux.minimise")


def mark_best(directory: Path, choice: Choice, seeds: int) -> list[Path]:
    """`best.json` in the chosen seed's folder (none when no seed was chosen); a stale one elsewhere (an earlier
    choice in this redux) is removed. Returns the seeds whose mark was removed (their report.md is stale)."""
    stale = [p.parent for p in Path(directory).glob(f"seed-*/{BEST_FILE}") if p.parent.name != choice.seed]
    for folder in stale:
        (folder / BEST_FILE).unlink()
    if choice.seed is not None:
        runs.atomic_write_text(Path(directory) / choice.seed / BEST_FILE, json.dumps(choice.record(seeds), indent=2))
    return stale


def chosen_text(run_dir: Path) -> str | None:
    """The line report.md shows for the seed a redux chose (from its best.json), else None."""
    path = Path(run_dir) / BEST_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        return (
            f"**The best of {record['seeds']} seeds** by `redux.best: {record['rule']}`: {record['text']} "
            "(the comparison: [../summary.md](../summary.md)).\n"
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"{path}: not a best-seed file (unreadable, not JSON, or a key missing)") from None
