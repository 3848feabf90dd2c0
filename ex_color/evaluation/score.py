"""The experiment's score (later-experiments §0.8): apply its evaluation plan (interventions and/or surgery)
to a trained model, measure the per-colour error on a small RGB grid, and take R² of that error against
similarity to the concept colour (or vibrancy) to a power. The redux picks its best seed by it.

Config (`score:` in the experiment; null: no score):

    score:
      plan: [suppression]     # intervention kinds, applied in order with the run's own settings
      grid: 8                 # RGB grid linspace(0, 1, grid) per channel
      against: similarity     # or vibrancy (S·V)
      power: 2
      colour: red             # similarity's concept colour: a named colour or [h, s, v], h in turns
      mode: angular           # similarity's hue mode (evaluation.similarity.HUE_MODES)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ex_color import runs
from ex_color.data.colors import named_colors
from ex_color.data.cubes import ColorCube, rgb_to_hsv
from ex_color.errors import DamagedFile, UserError, reading
from ex_color.evaluation.metrics import per_color_error
from ex_color.evaluation.similarity import HUE_MODES, hsv_similarity, pearson_rows
from ex_color.settings import plain_mapping, read_settings, setting

SCORE_FILE = "score.json"
AGAINST = ("similarity", "vibrancy")


@dataclass(frozen=True)
class ScoreKeys:
    """`score:` as the config gives it (ex_color.settings checks it)."""

    plan: tuple[str, ...] = setting((), hint="intervention kinds")
    grid: int = setting(8, least=2)
    against: str = setting("similarity", choices=AGAINST)
    power: float = setting(2.0, greater=0)
    colour: Any = "red"  # a colour name or [h, s, v] (hue in turns): `_colour`
    mode: str = setting("angular", choices=HUE_MODES)


@dataclass(frozen=True)
class ScoreSettings:
    plan: tuple[str, ...]
    grid: int
    against: str
    power: float
    colour: tuple[float, float, float]  # HSV, hue in turns
    mode: str

    @classmethod
    def from_config(cls, node: Any, key: str = "score") -> ScoreSettings | None:
        """The settings `node` gives (None when it is null), every value checked and named by key."""
        if node is None:
            return None
        values = plain_mapping(node, key)
        if isinstance(values.get("plan"), str):  # one kind may be given alone
            values["plan"] = [values["plan"]]
        keys = read_settings(ScoreKeys, values, key)
        return cls(keys.plan, keys.grid, keys.against, keys.power, _colour(keys.colour, f"{key}.colour"), keys.mode)

    def predictor(self, rgb: np.ndarray) -> np.ndarray:
        """similarity^p or vibrancy^p of each colour [N, 3]."""
        hsv = rgb_to_hsv(rgb)
        if self.against == "vibrancy":
            base = hsv[..., 1] * hsv[..., 2]
        else:
            base = hsv_similarity(hsv, np.array(self.colour), self.mode)
        return base**self.power

    def label(self) -> str:
        what = "similarity" if self.against == "similarity" else "vibrancy"
        return f"R² of error vs {what}^{self.power:g}"

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "plan": list(self.plan), "colour": list(self.colour)}


def _colour(value: Any, key: str) -> tuple[float, float, float]:
    if isinstance(value, str):
        colours = named_colors()
        if value not in colours:
            raise UserError(f"{key}: unknown colour {value!r}; named colours: {', '.join(colours)}")
        return tuple(float(x) for x in rgb_to_hsv(colours[value]))
    if (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
        and all(0 <= x <= 1 for x in value)
    ):
        return tuple(float(x) for x in value)
    raise UserError(f"{key}: expected a named colour or [h, s, v] in [0, 1] (got {value!r})")


def plan_configs(settings: ScoreSettings, run_cfg: Any) -> dict[str, Any]:
    """The composed `intervene` config of each kind in the plan, with the run's own settings."""
    from ex_color.config import compose_intervention

    return {kind: compose_intervention(kind, (), run_cfg, where="score.plan:") for kind in dict.fromkeys(settings.plan)}


def checked_plan(settings: Any, run_cfg: Any) -> tuple[Any, dict[str, Any]] | None:
    """(settings, the plan's intervention configs), each kind built for an untrained model of the configured
    shape (a mistake named under `score.plan`); None when `settings` is None (no score). Any domain's
    settings with a `plan` of intervention kinds."""
    from ex_color.builders import check_interventions

    if settings is None:
        return None
    configs = plan_configs(settings, run_cfg)
    try:
        check_interventions(configs, run_cfg)
    except UserError as error:
        raise UserError(f"score.plan: {error}") from None
    return settings, configs


def planned_model(model, settings: ScoreSettings, configs: Mapping[str, Any]):
    """(model, hooks) after applying the plan's kinds in order to `model` (never modified itself)."""
    from ex_color.builders import build_intervention

    placements = []
    for kind in settings.plan:
        icfg = configs[kind]
        intervention = build_intervention(icfg.intervention, icfg.get("concepts") or {}, model)
        model, added = intervention.applied_to(model)
        placements.extend(added)
    return model, placements


def score_models(models: Sequence, settings: ScoreSettings, configs: Mapping[str, Any]) -> list[dict[str, float]]:
    """Each model's score (R²) and r, from one forward pass per model over the grid and one correlation pass
    over all of them."""
    from ex_color.evaluation.predict import predict

    rgb = ColorCube.rgb_grid(settings.grid).flat_rgb()
    errors = np.empty((len(models), len(rgb)))
    for index, model in enumerate(models):
        planned, placements = planned_model(model, settings, configs)
        errors[index] = per_color_error(predict(planned, rgb, placements).outputs, rgb)
    r = pearson_rows(settings.predictor(rgb), errors)
    return [{"score": float(value * value), "r": float(value)} for value in r]


def score_runs(
    run_dirs: Sequence[Path], settings: ScoreSettings, configs: Mapping[str, Any], models: Sequence | None = None
) -> list[Path]:
    """Score each trained run (its model loaded here unless given) and write its `score.json`; returns the
    files written."""
    if models is None:
        models = [runs.load_model(run_dir) for run_dir in run_dirs]
    written = []
    for run_dir, result in zip(run_dirs, score_models(models, settings, configs)):
        record = {**result, "settings": settings.record(), "label": settings.label()}
        written.append(runs.atomic_write_text(Path(run_dir) / SCORE_FILE, json.dumps(record, indent=2) + "\n"))
    return written


def read_score(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / SCORE_FILE
    if not path.is_file():
        return None

    with reading(path):
        record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or not isinstance(record.get("score"), (int, float)):
        raise DamagedFile(path, "not a score file: no number under 'score'")
    return record
