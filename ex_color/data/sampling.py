"""Weighted sampling of training batches, produced whole as tensors, as a pure function of the step."""

from __future__ import annotations

import numpy as np
import torch

from ex_color.data.cubes import ColorCube
from ex_color.data.labels import LABELS, label_probabilities
from ex_color.errors import UserError


def vibrancy(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.asarray(s) * np.asarray(v)


def sampling_weights(s: np.ndarray, v: np.ndarray, n_hues: int, n_saturations: int) -> np.ndarray:
    """Weights that balance the dark and grey colours an HSV cube over-represents (spec section 1)."""
    s, v = np.asarray(s, float), np.asarray(v, float)
    return (1 - v) / (n_saturations * n_hues) + (1 - s) * v / n_hues + s * v


class BatchSource:
    """`batch(step)`: `(rgb [B, 3], labels [B, n_labels])` drawn with replacement by sampling weight.

    Batches are generated in blocks from a generator seeded by (seed, block index), so the batch of any
    step can be regenerated exactly: resuming at step k continues the same random stream.
    """

    def __init__(
        self,
        cube: ColorCube,
        batch_size: int,
        labels: dict[str, float],
        hard_labels: bool = True,
        seed: int = 0,
        block_steps: int = 256,
    ):
        unknown = sorted(set(labels) - set(LABELS))
        if unknown:
            raise UserError(f"data.labels: unknown label {unknown[0]!r}; known labels: {', '.join(LABELS)}")
        if batch_size < 1:
            raise UserError(f"data.batch_size must be positive (got {batch_size})")
        s, v = cube.grid("s"), cube.grid("v")
        self.label_names = tuple(labels)
        self.scales = dict(labels)
        self.batch_size = batch_size
        self.hard_labels = hard_labels
        self.seed = seed
        self.block_steps = block_steps
        self.rgb = torch.tensor(cube.flat_rgb(), dtype=torch.float32)
        self.vibrancy = torch.tensor(vibrancy(s, v).reshape(-1), dtype=torch.float32)
        weights = sampling_weights(s, v, len(cube.coords["h"]), len(cube.coords["s"])).reshape(-1)
        self.weights = torch.tensor(weights, dtype=torch.float64)
        self._block_index = -1
        self._block: tuple[torch.Tensor, torch.Tensor] | None = None

    def _make_block(self, block_index: int) -> tuple[torch.Tensor, torch.Tensor]:
        seed = int(np.random.SeedSequence([self.seed, block_index]).generate_state(1, np.uint64)[0] >> 1)
        generator = torch.Generator().manual_seed(seed)
        n = self.block_steps * self.batch_size
        index = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        rgb = self.rgb[index]
        probabilities = label_probabilities(rgb, self.vibrancy[index], self.scales)
        if self.hard_labels:
            labels = (torch.rand(probabilities.shape, generator=generator) < probabilities).float()
        else:
            labels = probabilities
        shape = (self.block_steps, self.batch_size)
        return rgb.view(*shape, 3), labels.view(*shape, len(self.label_names))

    def block(self, block_index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batches of steps ``block_index * block_steps ...`` as [block_steps, B, 3] and
        [block_steps, B, n_labels] (the batch of a step is row ``step % block_steps``)."""
        if block_index != self._block_index:
            self._block = self._make_block(block_index)
            self._block_index = block_index
        return self._block  # type: ignore[return-value]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        block_index, offset = divmod(step, self.block_steps)
        rgb, labels = self.block(block_index)
        return rgb[offset], labels[offset]
