"""Training batches, produced whole as tensors, as a pure function of the step.

Two pipelines (spec §0.2), one interface: a source splits the steps into blocks of batches of one size;
`locate(step)` gives the block holding a step's batch (a key) and its row there, and `block(key)` the
block's colours [steps, B, 3] and labels [steps, B, n_labels], drawn from a generator seeded by the
source's seed and the block's place in the stream, so any step's batch can be regenerated exactly
(resuming continues the same stream, and seeds trained together stack their blocks).

* `BatchSource` (pipeline A, `data=hsv`): batches of one size drawn with replacement by sampling weight
  from the HSV cube; blocks of `block_steps` steps.
* `EpochBatchSource` (pipeline B, `data=rgb`): epochs of as many uniform draws (with replacement) as the
  RGB grid has colours, in batches of `batch_size` and a short last batch when that does not divide the
  epoch. Its blocks end at epoch boundaries: an epoch's full batches are one block and its short batch
  another, or, when every batch is full, whole epochs are grouped into blocks of about `block_steps`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import torch

from ex_color.data.cubes import ColorCube
from ex_color.data.labels import LabelSpec, hue_degrees, label_probabilities, parse_labels, rgb_vibrancy
from ex_color.errors import UserError


def vibrancy(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.asarray(s) * np.asarray(v)


def sampling_weights(s: np.ndarray, v: np.ndarray, n_hues: int, n_saturations: int) -> np.ndarray:
    """Weights that balance the dark and grey colours an HSV cube over-represents (spec section 1)."""
    s, v = np.asarray(s, float), np.asarray(v, float)
    return (1 - v) / (n_saturations * n_hues) + (1 - s) * v / n_hues + s * v


def _generator(*key: int) -> torch.Generator:
    seed = int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator().manual_seed(seed)


def _specs(labels: Mapping | tuple[LabelSpec, ...]) -> tuple[LabelSpec, ...]:
    return labels if isinstance(labels, tuple) else parse_labels(labels)


class _Source:
    """What both pipelines share: per-colour label probabilities, labels drawn from them, `batch(step)`."""

    rgb: torch.Tensor  # [n_colours, 3]
    probabilities: torch.Tensor  # [n_colours, n_labels]
    hard_labels: bool

    def _set_labels(self, specs: tuple[LabelSpec, ...], vibrancy: torch.Tensor, hue: torch.Tensor) -> None:
        self.labels = specs
        self.label_names = tuple(spec.name for spec in specs)
        self.probabilities = label_probabilities(self.rgb, vibrancy, specs, hue)

    def _draw_labels(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        probabilities = self.probabilities[index]
        if not self.hard_labels:
            return probabilities
        return (torch.rand(probabilities.shape, generator=generator) < probabilities).float()

    def locate(self, step: int) -> tuple[Hashable, int]:
        raise NotImplementedError

    def block(self, key: Hashable) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of `step`: (rgb [B, 3], labels [B, n_labels])."""
        key, row = self.locate(step)
        rgb, labels = self.block(key)
        return rgb[row], labels[row]


class BatchSource(_Source):
    """Pipeline A: `(rgb [B, 3], labels [B, n_labels])` batches drawn with replacement by sampling weight.

    Batches are generated in blocks from a generator seeded by (seed, block index), so the batch of any
    step can be regenerated exactly: resuming at step k continues the same random stream.
    """

    def __init__(
        self,
        cube: ColorCube,
        batch_size: int,
        labels: Mapping | tuple[LabelSpec, ...],
        hard_labels: bool = True,
        seed: int = 0,
        block_steps: int = 256,
    ):
        if batch_size < 1:
            raise UserError(f"data.batch_size must be positive (got {batch_size})")
        s, v = cube.grid("s"), cube.grid("v")
        self.batch_size = batch_size
        self.hard_labels = hard_labels
        self.seed = seed
        self.block_steps = block_steps
        self.rgb = torch.tensor(cube.flat_rgb(), dtype=torch.float32)
        hue = torch.tensor(cube.grid("h").reshape(-1) * 360.0, dtype=torch.float32)
        self._set_labels(_specs(labels), torch.tensor(vibrancy(s, v).reshape(-1), dtype=torch.float32), hue)
        weights = sampling_weights(s, v, len(cube.coords["h"]), len(cube.coords["s"])).reshape(-1)
        self.weights = torch.tensor(weights, dtype=torch.float64)
        self._block_index = -1
        self._block: tuple[torch.Tensor, torch.Tensor] | None = None

    def _make_block(self, block_index: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator = _generator(self.seed, block_index)
        n = self.block_steps * self.batch_size
        index = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        labels = self._draw_labels(index, generator)
        shape = (self.block_steps, self.batch_size)
        return self.rgb[index].view(*shape, 3), labels.view(*shape, len(self.label_names))

    def locate(self, step: int) -> tuple[int, int]:
        return divmod(step, self.block_steps)

    def block(self, block_index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batches of steps ``block_index * block_steps ...`` as [block_steps, B, 3] and
        [block_steps, B, n_labels] (the batch of a step is row ``step % block_steps``)."""
        if block_index != self._block_index:
            self._block = self._make_block(block_index)
            self._block_index = block_index
        return self._block  # type: ignore[return-value]


class EpochBatchSource(_Source):
    """Pipeline B: epochs of ``len(colours)`` uniform draws with replacement from fixed colours, in batches
    of `batch_size` and a short last batch (1,000 colours in batches of 64: 15 of 64, then one of 40).

    Epoch e is drawn from a generator seeded by (seed, e). Blocks end at epoch boundaries (key
    ``(group, part)``): with a short batch, each epoch is two blocks (part 0: its full batches, part 1:
    its short batch); without, `group` gathers whole epochs into blocks of about `block_steps` steps.
    """

    def __init__(
        self,
        colours: np.ndarray,
        batch_size: int,
        labels: Mapping | tuple[LabelSpec, ...],
        hard_labels: bool = True,
        seed: int = 0,
        block_steps: int = 256,
    ):
        if batch_size < 1:
            raise UserError(f"data.batch_size must be positive (got {batch_size})")
        colours = np.asarray(colours, dtype=np.float64).reshape(-1, 3)
        self.rgb = torch.tensor(colours, dtype=torch.float32)
        self._set_labels(
            _specs(labels),
            torch.tensor(rgb_vibrancy(colours), dtype=torch.float32),
            torch.tensor(hue_degrees(colours), dtype=torch.float32),
        )
        self.batch_size = batch_size
        self.hard_labels = hard_labels
        self.seed = seed
        self.epoch_size = len(colours)
        self.full_batches, self.short_batch = divmod(self.epoch_size, batch_size)
        self.steps_per_epoch = self.full_batches + (self.short_batch > 0)
        self.epochs_per_block = 1 if self.short_batch else max(1, block_steps // self.steps_per_epoch)
        self._epochs_key = -1
        self._epochs: tuple[torch.Tensor, torch.Tensor] | None = None
        self._block_key: tuple[int, int] | None = None
        self._block: tuple[torch.Tensor, torch.Tensor] | None = None

    def _draw_epochs(self, group: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The draws of the epochs of block group `group`, in order: [epochs · epoch_size, ...]."""
        if group != self._epochs_key:
            rgb, labels = [], []
            first = group * self.epochs_per_block
            for epoch in range(first, first + self.epochs_per_block):
                generator = _generator(self.seed, epoch)
                index = torch.randint(self.epoch_size, (self.epoch_size,), generator=generator)
                rgb.append(self.rgb[index])
                labels.append(self._draw_labels(index, generator))
            self._epochs = (torch.cat(rgb), torch.cat(labels))
            self._epochs_key = group
        return self._epochs  # type: ignore[return-value]

    def locate(self, step: int) -> tuple[tuple[int, int], int]:
        epoch, row = divmod(step, self.steps_per_epoch)
        if row >= self.full_batches:
            return (epoch, 1), 0
        group, within = divmod(epoch, self.epochs_per_block)
        return (group, 0), within * self.steps_per_epoch + row

    def block(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Part 0: the full batches of the block's epochs [steps, B, ...]; part 1: an epoch's short batch
        [1, short, ...]."""
        if key != self._block_key:
            group, part = key
            rgb, labels = self._draw_epochs(group)
            full = len(rgb) - self.short_batch  # a block with a short batch holds one epoch
            if part == 0:
                rgb = rgb[:full].view(-1, self.batch_size, 3)
                labels = labels[:full].view(-1, self.batch_size, len(self.label_names))
            else:
                rgb, labels = rgb[full:].unsqueeze(0), labels[full:].unsqueeze(0)
            self._block = (rgb, labels)
            self._block_key = key
        return self._block  # type: ignore[return-value]
