"""The metrics rows of training: one row per step and member, kept on the device until taken.

A row holds the loss, recon and each term (NaN where a term is not active), each member's label counts so far
(counted on the host from the blocks of labels as they are made) and the validation columns of the steps
that were validated. `take` turns the rows recorded since the last call into one host array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ex_color.losses import RegularizerSet


class MetricRows:
    """The rows recorded since they were last taken: `add` after each step, `add_validation` after a
    validation pass, `take` every `log_every` steps."""

    def __init__(self, members: int, n_terms: int, n_counts: int, n_columns: int, patterns: Sequence, device):
        self.members, self.n_terms, self.n_counts, self.n_columns = members, n_terms, n_counts, n_columns
        self.patterns = patterns  # pattern index -> the active terms' indices
        self.device = device
        # (pattern, rows [S, 2 + n_active] on the device, label counts [S, n_counts] on the host) per step
        self._pending: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        self._validation: list[tuple[int, torch.Tensor]] = []  # (step, rows [S, 1 + n_validated])
        self.restart(0, torch.zeros(members, n_counts, dtype=torch.int64))

    def __len__(self) -> int:
        return len(self._pending)

    def restart(self, step: int, counted: torch.Tensor) -> None:
        """Rows start again at `step`, with the label counts [S, n_counts] of the steps before it."""
        self._first, self._counted = step, counted
        self._pending, self._validation = [], []

    def add(self, pattern: int, rows: torch.Tensor, counts: torch.Tensor) -> None:
        self._pending.append((pattern, rows, counts))

    def add_validation(self, step: int, rows: torch.Tensor) -> None:
        self._validation.append((step, rows))

    def take(self, next_step: int) -> tuple[int, np.ndarray]:
        """(first step, [steps, S, n_columns]) of the recorded steps not yet taken: loss, recon and each
        term, the label counts so far (that step's batch included), then the validation columns; NaN where
        not computed at a step. One transfer from the device."""
        first, pending = self._first, self._pending
        self._pending, self._first = [], next_step
        n_terms, n_counts = self.n_terms, self.n_counts
        table = torch.full((len(pending), self.members, self.n_columns), float("nan"), device=self.device)
        start = 0
        while start < len(pending):  # runs of steps with the same active regularizers
            pattern = pending[start][0]
            stop = start + 1
            while stop < len(pending) and pending[stop][0] == pattern:
                stop += 1
            columns = [0, 1, *(2 + index for index in self.patterns[pattern])]
            table[start:stop, :, columns] = torch.stack([rows for _, rows, _ in pending[start:stop]])
            start = stop
        for step, rows in self._validation:
            table[step - first, :, 2 + n_terms + n_counts :] = rows
        self._validation = []
        values = table.cpu().numpy().astype(np.float64)  # float64: counts stay exact past 2**24
        if pending:
            counted = torch.stack([counts for _, _, counts in pending]).cumsum(0) + self._counted
            self._counted = counted[-1]
            values[:, :, 2 + n_terms : 2 + n_terms + n_counts] = counted.numpy()
        return first, values


def label_counts(labels: torch.Tensor, members: int) -> torch.Tensor:
    """Per step of a block of labels ([steps, (S,) B, n_labels]), each member's count of samples carrying
    each label (a value > 0: drawn, for hard labels), of samples carrying any, and of samples:
    [steps, S, n_labels + 2], int64."""
    carried = (labels > 0).reshape(labels.shape[0], members, *labels.shape[-2:])
    per_label = carried.sum(2)
    any_label = carried.any(-1).sum(2, keepdim=True)
    total = torch.full_like(any_label, carried.shape[2])
    return torch.cat([per_label, any_label, total], dim=-1)


def non_finite_problem(
    values: np.ndarray, first: int, active: np.ndarray, regularizers: RegularizerSet
) -> tuple[int, str] | None:
    """(step, what) of the first non-finite value in one member's metric rows [steps, 2 + n_terms (+ val)]
    (loss, recon, terms, then any validation columns, not checked) from step `first`, among the terms
    computed there (`active`: the schedule's mask)."""
    values = values[:, : 2 + active.shape[1]]
    computed = np.ones_like(values, dtype=bool)
    steps = np.minimum(np.arange(first, first + len(values)), len(active) - 1)
    computed[:, 2:] = active[steps]
    bad = computed & ~np.isfinite(values)
    if not bad.any():
        return None
    row = int(np.argmax(bad.any(axis=1)))
    column = max(np.flatnonzero(bad[row]))  # the most specific culprit: a term, then recon, then the total
    if column >= 2:
        reg = regularizers.regularizers[column - 2]
        what = f"regularizer {reg.name!r} on layer {', '.join(reg.layers)}"
    else:
        what = "the reconstruction loss" if column == 1 else "the total loss"
    return first + row, f"{what} became non-finite at step {first + row}"
