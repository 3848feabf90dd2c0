"""Recording the latent history during training: the latents of a fixed colour set at geometric steps.

`history: {snapshots: T, colours: {rgb_grid: M}}` (configs/train.yaml; 0 snapshots: off) has the loop record
the `latent` layer's output for the M³ RGB grid at T steps (`snapshot_steps`: the initial weights, step 0,
and the final ones, step `length`, included; denser early, where the latent space changes fastest). Step s
means "after s optimizer steps". The steps are known before training, so the loop compares one integer per
step and does work only on snapshot steps (`LatentRecorder.capture`: one forward pass of every member,
kept on the device). Each run directory gets `history.npz` (`ex_color.history.History`) written with every
checkpoint, all or nothing with it, so that a resumed run keeps the snapshots before the interruption and
ends with the history of a straight run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ex_color.data.cubes import ColorCube
from ex_color.errors import UserError
from ex_color.history import History
from ex_color.settings import read_settings, setting

log = logging.getLogger(__name__)


def snapshot_steps(count: int, length: int) -> np.ndarray:
    """`count` distinct steps from 0 to `length` (both included), geometrically spaced: each step is the
    previous one times the ratio that reaches `length` in the steps left, at least one more than it (so
    the first steps are consecutive). Every step when `count` > length; none when `count` is 0."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if count > length:
        return np.arange(length + 1, dtype=np.int64)
    steps = [0]
    for index in range(1, count):
        left = count - index  # snapshots still to place, this one included
        here = max(steps[-1], 1)
        target = int(round(here * (length / here) ** (1.0 / left)))
        steps.append(min(length, max(steps[-1] + 1, target)))
    steps[-1] = length
    return np.asarray(steps, dtype=np.int64)


SNAPSHOTS = "0: off; else the first and last step and those between"


@dataclass(frozen=True)
class HistoryGroup:
    """`history:` as the config gives it (ex_color.settings checks it)."""

    snapshots: int = setting(0, least=0, hint=SNAPSHOTS)
    colours: dict | None = None  # {rgb_grid: M}: HistoryColours


@dataclass(frozen=True)
class HistoryColours:
    rgb_grid: int = setting(8, least=2, hint="the M³ RGB grid")


@dataclass(frozen=True)
class HistorySettings:
    """`cfg.history`."""

    snapshots: int = 0
    rgb_grid: int = 8

    @classmethod
    def from_config(cls, node: Any) -> HistorySettings:
        group = read_settings(HistoryGroup, node, "history")
        if group.snapshots == 1:
            raise UserError(f"history.snapshots must be 0 (off) or an integer ≥ 2 ({SNAPSHOTS}; got 1)")
        colours = read_settings(HistoryColours, group.colours, "history.colours")
        return cls(group.snapshots, colours.rgb_grid)

    @property
    def enabled(self) -> bool:
        return self.snapshots > 0

    def colours(self) -> np.ndarray:
        """[N, 3] float32: the RGB grid, red slowest, blue fastest."""
        return ColorCube.rgb_grid(self.rgb_grid).flat_rgb().astype(np.float32)


class LatentRecorder:
    """Captures the `latent` layer of S members for the colour set at the planned steps (on the device)."""

    def __init__(self, settings: HistorySettings, length: int, members: int, device, dtype=None):
        import torch

        self.steps = snapshot_steps(settings.snapshots, length)
        self.colours = settings.colours()
        self.members = members
        rgb = torch.tensor(self.colours, device=device, dtype=dtype)  # dtype: the weights' (trainer.precision)
        self.rgb = rgb if members == 1 else rgb.expand(members, *rgb.shape)
        self.taken: list[tuple[int, Any]] = []  # (step, latents [S, N, n] on the device)
        self._index = 0
        self.next_step = int(self.steps[0]) if len(self.steps) else -1
        self._host: tuple[int, np.ndarray] | None = None  # (len(taken), [S, T, N, n]) already transferred

    def _advance(self, after: int) -> None:
        self._index = int(np.searchsorted(self.steps, after, side="right"))
        self.next_step = int(self.steps[self._index]) if self._index < len(self.steps) else -1

    def capture(self, model, step: int) -> None:
        """Record the latents of the model as it is after `step` steps (eval mode, no gradients)."""
        import torch

        captured = []
        handle = model.latent.register_forward_hook(lambda module, inputs, output: captured.append(output))
        training = model.training
        model.eval()
        try:
            with torch.no_grad():
                model(self.rgb)
        finally:
            handle.remove()
            model.train(training)
        latents = captured[0].detach().float().reshape(self.members, len(self.colours), -1)
        self.taken.append((step, latents))
        self._advance(step)

    def arrays(self) -> np.ndarray:
        """[S, T, N, n] float32 of the snapshots so far (one transfer for those not yet on the host)."""
        import torch

        done, host = self._host if self._host is not None else (0, None)
        if done < len(self.taken):
            new = torch.stack([latents for _, latents in self.taken[done:]], dim=1).cpu().numpy()
            host = new if host is None else np.concatenate([host, new], axis=1)
            self._host = (len(self.taken), host)
        if host is None:
            return np.zeros((self.members, 0, len(self.colours), 0), dtype=np.float32)
        return host

    def member(self, index: int) -> History:
        arrays = self.arrays()
        steps = np.asarray([step for step, _ in self.taken], dtype=np.int64)
        return History(steps, self.colours, arrays[index])

    def resume(self, saved: Sequence[History | None], step: int) -> None:
        """Continue from `step` with each member's saved history (snapshots after `step` dropped). A history
        that is missing, differs between members or does not fit this plan restarts at `step`."""
        import torch

        kept = [None if h is None else _until(h, step) for h in saved]
        usable = all(h is not None for h in kept) and _agree(kept, self.steps, self.colours)
        if not usable and any(h is not None and len(h.steps) for h in kept):
            log.warning("the saved latent histories do not fit this run; the history restarts at step %d", step)
        self.taken = []
        self._host = None
        if usable and len(kept[0].steps):
            device = self.rgb.device
            stacked = np.stack([h.latents for h in kept])  # [S, T, N, n]
            self.taken = [
                (int(s), torch.from_numpy(stacked[:, t].copy()).to(device)) for t, s in enumerate(kept[0].steps)
            ]
            self._host = (len(self.taken), stacked)
            self._advance(int(kept[0].steps[-1]))
        else:
            self._index = int(np.searchsorted(self.steps, step, side="left"))
            self.next_step = int(self.steps[self._index]) if self._index < len(self.steps) else -1


def _until(history: History, step: int) -> History:
    keep = history.steps <= step
    return History(history.steps[keep], history.colours, history.latents[keep])


def _agree(histories, planned: np.ndarray, colours: np.ndarray) -> bool:
    first = histories[0]
    return all(
        np.array_equal(h.steps, first.steps)
        and np.array_equal(h.colours, colours)
        and h.latents.shape == first.latents.shape
        for h in histories
    ) and bool(np.isin(first.steps, planned).all())
