"""The validation set (spec §0.2, §0.5): fixed colours with exact labels, measured every few steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ex_color.data.labels import LabelSpec, exact_labels

COLOUR_SETS = ("centres", "grid")


def cell_centres_and_corners() -> np.ndarray:
    """The 7³ centres of pipeline B's cells, ``linspace(1/16, 15/16, 7)`` per channel, then the 8 cube
    corners: 351 colours [351, 3], in that order (so the corners share the last batch)."""
    axis = np.linspace(1 / 16, 15 / 16, 7)
    centres = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    corners = np.stack(np.meshgrid(*[np.array([0.0, 1.0])] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    return np.concatenate([centres, corners])


def rgb_grid(steps: int) -> np.ndarray:
    """``linspace(0, 1, steps)`` per channel: [steps³, 3]."""
    axis = np.linspace(0, 1, steps)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)


@dataclass(frozen=True)
class ValidationSet:
    """Colours [N, 3] and their exact labels [N, n_labels] (one column per label of the data, in order; 0
    throughout for a label the set does not carry), measured in batches of `batch_size` after every `every`
    training steps. `carried`: the names of the labels it carries."""

    rgb: torch.Tensor
    labels: torch.Tensor
    batch_size: int
    every: int
    carried: tuple[str, ...]

    @classmethod
    def build(
        cls,
        colours: str,
        grid_steps: int,
        specs: tuple[LabelSpec, ...],
        batch_size: int,
        every: int,
        carried: tuple[str, ...] | None = None,
    ) -> ValidationSet:
        """`carried`: the labels it carries (None: every label of `specs`)."""
        rgb = cell_centres_and_corners() if colours == "centres" else rgb_grid(grid_steps)
        carried = tuple(spec.name for spec in specs) if carried is None else tuple(carried)
        labels = exact_labels(rgb, specs) * torch.tensor([spec.name in carried for spec in specs], dtype=torch.float32)
        return cls(torch.tensor(rgb, dtype=torch.float32), labels, batch_size, every, carried)
