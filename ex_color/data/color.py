"""The colour data's settings (`data:` with `kind: hsv` or `rgb`), checked by key: the pipeline, its colours,
batches, labels and validation. Another domain's data part checks its own (`ex_color.domains`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ex_color.errors import UserError
from ex_color.settings import check_value, plain_mapping, read_settings, setting


DATA_KEYS = {
    "hsv": ("kind", "cube", "batch_size", "labels", "hard_labels", "validation"),
    "rgb": ("kind", "grid", "batch_size", "labels", "hard_labels", "validation"),
}


@dataclass(frozen=True)
class DataSettings:
    """`cfg.data`, checked: the pipeline (`kind`), its colours, batches, labels and validation."""

    kind: str
    batch_size: int
    labels: tuple  # of ex_color.data.labels.LabelSpec
    hard_labels: bool
    cube: dict[str, int] | None = None  # hsv: hues, saturations, values
    grid: int | None = None  # rgb: steps per channel
    validation: dict[str, Any] | None = None  # every, batch_size, colours, grid_steps, labels (None: all)

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.labels)


@dataclass(frozen=True, kw_only=True)
class DataKeys:
    """`data:` as the config gives it (ex_color.settings checks it; the keys known depend on `kind`)."""

    kind: str = setting("hsv", choices=tuple(DATA_KEYS))  # runs made before data=rgb existed have no kind
    batch_size: int = setting(dataclasses.MISSING, least=1)
    labels: dict | None = None  # ex_color.data.labels.parse_labels
    hard_labels: bool = True
    cube: dict | None = None  # hsv: CubeKeys
    grid: int | None = setting(None, least=2, hint="steps per channel")  # rgb
    validation: dict | None = None  # ValidationKeys


@dataclass(frozen=True)
class ValidationKeys:
    every: int = setting(0, least=0, hint="steps; 0: off")
    batch_size: int = setting(64, least=1)
    colours: str = "centres"  # one of data.validation.COLOUR_SETS
    grid_steps: int = setting(4, least=2)
    labels: tuple[str, ...] | None = setting(None, hint="label names, or null for all")


def data_settings(cfg_data: Mapping) -> DataSettings:
    """`cfg.data` checked completely; UserError naming the key of any mistake."""
    from ex_color.data.cubes import CubeKeys
    from ex_color.data.labels import parse_labels
    from ex_color.data.validation import COLOUR_SETS

    values = plain_mapping(cfg_data, "data")
    kind = check_value(values.get("kind", "hsv"), str, "data.kind", {"choices": tuple(DATA_KEYS)})
    data = read_settings(DataKeys, values, "data", known=DATA_KEYS[kind], what=f" for data {kind}")
    labels = parse_labels(data.labels or {}, "data.labels")
    cube = grid = None
    if kind == "hsv":
        if data.cube is None:
            raise UserError("data.cube: required for data hsv ({hues: H, saturations: S, values: V})")
        cube = dataclasses.asdict(read_settings(CubeKeys, data.cube, "data.cube"))
    else:
        grid = check_value(data.grid, int, "data.grid", {"least": 2, "hint": "steps per channel"})
    validation = None
    if data.validation is not None:
        checked = read_settings(ValidationKeys, data.validation, "data.validation")
        check_value(checked.colours, str, "data.validation.colours", {"choices": COLOUR_SETS})
        names = [spec.name for spec in labels]
        for name in checked.labels or ():
            if name not in names:
                raise UserError(f"data.validation.labels: unknown label {name!r}; labels: {', '.join(names) or 'none'}")
        validation = dataclasses.asdict(checked)
    return DataSettings(kind, data.batch_size, labels, data.hard_labels, cube, grid, validation)


INPUT_WIDTH = 3  # RGB


def settings(data: Mapping) -> DataSettings:
    return data_settings(data)


def check(cfg: Mapping) -> None:
    """Nothing beyond `data:` to check for colour."""


def batches(data: DataSettings, seed: int):
    """The batch stream of `seed`: pipeline A (`kind: hsv`) or B (`kind: rgb`)."""
    from ex_color.data.cubes import ColorCube
    from ex_color.data.sampling import BatchSource, EpochBatchSource

    if data.kind == "hsv":
        return BatchSource(ColorCube.hsv(**data.cube), data.batch_size, data.labels, data.hard_labels, seed=seed)
    colours = ColorCube.rgb_grid(data.grid).flat_rgb()
    return EpochBatchSource(colours, data.batch_size, data.labels, data.hard_labels, seed=seed)


def validation(data: DataSettings):
    """The validation set of `data.validation`, or None when it is off (absent, or `every: 0`)."""
    from ex_color.data.validation import ValidationSet

    settings = data.validation
    if not settings or not settings["every"]:
        return None
    return ValidationSet.build(
        settings["colours"],
        settings["grid_steps"],
        data.labels,
        settings["batch_size"],
        settings["every"],
        settings["labels"],
    )
