"""The handwritten digits (`data=digits`): scikit-learn's bundled copy of the UCI digits (1,797 images of 8×8
pixels, values 0–16; no download), pixels scaled to [0, 1], a fixed train/validation split, and batches with
sparse digit labels through the same block contract as the colour pipelines (`data.sampling`).

* The split is fixed by `split_seed` (default 0, independent of the training seed): a permutation of the
  1,797 images from ``numpy.random.default_rng(split_seed)``, stratified by class (each class shuffled
  alone, its first ``round(validation_fraction · n_class)`` images held out), so every seed of a redux
  trains and is measured on the same images.
* Labels: `labels` maps a label name to the digits it stands for (``three: [3]``, ``others: [0, 1, 2, 4,
  …]``). Each drawn sample carries its labels with probability `labelled` (a Bernoulli draw per draw, as
  colour's hard labels are), so `labelled: 0.1` supplies a tenth of the samples with their labels.
* Batches: blocks of `block_steps` steps of `batch_size` images drawn uniformly with replacement from the
  training images, from a generator seeded by (seed, block index): any step's batch can be regenerated
  exactly (resume) and seeds trained together stack their blocks.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from ex_color.data.sampling import _generator
from ex_color.data.validation import ValidationSet
from ex_color.errors import UserError

PIXELS = 64  # 8×8
CLASSES = tuple(range(10))
KEYS = ("kind", "batch_size", "labels", "labelled", "concept", "validation_fraction", "split_seed", "validation")
VALIDATION_KEYS = ("every", "batch_size")


@lru_cache(maxsize=1)
def load() -> tuple[np.ndarray, np.ndarray]:
    """(pixels [1797, 64] float32 in [0, 1], digits [1797] int64): scikit-learn's copy, divided by 16."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def split(validation_fraction: float, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices), each sorted; stratified by class (module docstring)."""
    _, digits = load()
    rng = np.random.default_rng(split_seed)
    train, held = [], []
    for digit in CLASSES:
        members = rng.permutation(np.flatnonzero(digits == digit))
        n_held = int(round(validation_fraction * len(members)))
        held.append(members[:n_held])
        train.append(members[n_held:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


@dataclass(frozen=True)
class DigitsSettings:
    """`cfg.data` of `data=digits`, checked."""

    batch_size: int
    labels: dict[str, tuple[int, ...]]  # label name -> the digits it stands for
    labelled: float  # the probability that a drawn sample carries its labels
    concept: int  # the digit the experiment singles out (evaluation's selectivity, figures)
    validation_fraction: float
    split_seed: int
    validation: dict[str, int] | None  # every, batch_size
    kind: str = "digits"
    hard_labels: bool = True

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(self.labels)

    def label_matrix(self, digits: np.ndarray) -> np.ndarray:
        """[N, n_labels]: 1 where a sample's digit is one its label stands for."""
        return np.stack([np.isin(digits, members) for members in self.labels.values()], -1).astype(np.float32)

    def arrays(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """(pixels, digits) of the `train` or `validation` part of the split."""
        pixels, digits = load()
        index = split(self.validation_fraction, self.split_seed)[0 if part == "train" else 1]
        return pixels[index], digits[index]


def _int(value: Any, key: str, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise UserError(f"{key} must be an integer ≥ {least} (got {value!r})")
    return value


def _fraction(value: Any, key: str, low_open: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    if not ok or (low_open and value == 0) or (key.endswith("validation_fraction") and value == 1):
        bounds = "(0, 1)" if key.endswith("validation_fraction") else "[0, 1]"
        raise UserError(f"{key} must be a number in {bounds} (got {value!r})")
    return float(value)


def digits_settings(data: Mapping) -> DigitsSettings:
    """`cfg.data` (plain) checked completely; UserError naming the key of any mistake."""
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise UserError(f"data.{unknown[0]}: unknown key for data digits; known keys: {', '.join(KEYS)}")
    batch_size = _int(data.get("batch_size"), "data.batch_size", 1)
    labels = {}
    for name, members in (data.get("labels") or {}).items():
        if members is None:
            continue
        members = [members] if isinstance(members, int) else members
        if not isinstance(members, list) or not members or not all(m in CLASSES for m in members):
            raise UserError(f"data.labels.{name}: expected a list of digits 0-9 (got {members!r})")
        labels[str(name)] = tuple(int(m) for m in members)
    labelled = _fraction(data.get("labelled", 1.0), "data.labelled")
    concept = data.get("concept", 3)
    if concept not in CLASSES or isinstance(concept, bool):
        raise UserError(f"data.concept: a digit 0-9 (got {concept!r})")
    fraction = _fraction(data.get("validation_fraction", 0.2), "data.validation_fraction", low_open=True)
    split_seed = _int(data.get("split_seed", 0), "data.split_seed", 0)
    validation = data.get("validation")
    if validation is not None:
        if not isinstance(validation, Mapping):
            raise UserError(f"data.validation: expected a mapping with keys {', '.join(VALIDATION_KEYS)}")
        unknown = sorted(set(validation) - set(VALIDATION_KEYS))
        if unknown:
            raise UserError(
                f"data.validation.{unknown[0]}: unknown key for data digits; known keys: {', '.join(VALIDATION_KEYS)}"
            )
        validation = {"every": 0, "batch_size": 512, **validation}
        _int(validation["every"], "data.validation.every", 0)
        _int(validation["batch_size"], "data.validation.batch_size", 1)
    return DigitsSettings(batch_size, labels, labelled, concept, fraction, split_seed, validation)


class DigitsBatchSource:
    """`(pixels [B, 64], labels [B, n_labels])` batches drawn uniformly with replacement from the training
    images, in blocks of `block_steps` steps seeded by (seed, block index) (module docstring)."""

    def __init__(self, settings: DigitsSettings, seed: int = 0, block_steps: int = 256):
        pixels, digits = settings.arrays("train")
        self.rgb = torch.tensor(pixels)  # the loop's name for a source's inputs
        self.targets = torch.tensor(settings.label_matrix(digits))
        self.label_names = settings.label_names
        self.labelled = settings.labelled
        self.batch_size = settings.batch_size
        self.seed = seed
        self.block_steps = block_steps
        self._key = -1
        self._block: tuple[torch.Tensor, torch.Tensor] | None = None

    def locate(self, step: int) -> tuple[Hashable, int]:
        return divmod(step, self.block_steps)

    def block(self, key: int) -> tuple[torch.Tensor, torch.Tensor]:
        """[block_steps, B, 64] pixels and [block_steps, B, n_labels] labels of block `key`."""
        if key != self._key:
            generator = _generator(self.seed, key)
            n = self.block_steps * self.batch_size
            index = torch.randint(len(self.rgb), (n,), generator=generator)
            carries = (torch.rand(n, generator=generator) < self.labelled).float().unsqueeze(-1)
            labels = self.targets[index] * carries
            shape = (self.block_steps, self.batch_size)
            self._block = (self.rgb[index].view(*shape, PIXELS), labels.view(*shape, len(self.label_names)))
            self._key = key
        return self._block  # type: ignore[return-value]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        key, row = self.locate(step)
        pixels, labels = self.block(key)
        return pixels[row], labels[row]


# -- the data part of the digits domain (ex_color.domains.data_part): what builders calls -----------------

INPUT_WIDTH = PIXELS


def settings(data: Mapping) -> DigitsSettings:
    return digits_settings(data)


def check(cfg: Mapping) -> None:
    """What the rest of a training config (plain) must be for digits: a 64-wide model, no latent history."""
    history = cfg.get("history") or {}
    snapshots = history.get("snapshots", 0) if isinstance(history, Mapping) else history
    if snapshots is not None and (isinstance(snapshots, bool) or snapshots != 0):  # whatever else it is
        raise UserError(
            f"history.snapshots: the latent history records colours; data=digits has none (set 0; got {snapshots!r})"
        )
    width = (cfg.get("model") or {}).get("inputs", 3)
    if width != PIXELS:
        raise UserError(f"model.inputs: data=digits has {PIXELS} pixels per image (got {width}; model=digits-mlp)")


def batches(settings: DigitsSettings, seed: int) -> DigitsBatchSource:
    return DigitsBatchSource(settings, seed=seed)


def validation(settings: DigitsSettings):
    return validation_set(settings)


def validation_set(settings: DigitsSettings):
    """The held-out images with every label exact, or None when validation is off."""
    if not settings.validation or not settings.validation["every"]:
        return None
    pixels, digits = settings.arrays("validation")
    return ValidationSet(
        torch.tensor(pixels),
        torch.tensor(settings.label_matrix(digits)),
        settings.validation["batch_size"],
        settings.validation["every"],
        settings.label_names,
    )
