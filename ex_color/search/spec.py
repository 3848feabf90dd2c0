"""The experiment's `search:` block, checked in full before anything runs.

```yaml
search:
  objectives:                      # one or more: several make a multi-objective study (a Pareto front)
    selectivity: {metric: selectivity.ablation.delta_ratio, aggregate: median, direction: maximize}
  constraints:                     # optional: a trial is feasible when each statistic lies within its bounds
    score: {metric: score, aggregate: mean, min: 0.75}
  space:                           # one or more parameters, by name
    power: {key: data.labels.red.power, type: float, low: 4, high: 16}
    lr: {column: lr, type: float, low: 0.5, high: 2, log: true}
  seed: 0                          # the sampler's seed
```

A statistic is an aggregate (median, mean, min, max, or quantile with `q`) over the trial's seeds of one
column of its summary.json: `score`, `recon`, `val/...`, `labels/...`, or a dotted path into a seed's
entry such as `selectivity.ablation.delta_ratio`. A parameter names a config key (`key:`, set by a Hydra
override) or a dopesheet column (`column:`, the factor that scales every value of the column; `STEP`
scales the schedule's steps). Everything is a mapping by name, so the command line can change any part:
`search.space.power.high=12`, `~search.space.lr`, `search.objectives.selectivity.aggregate=mean`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ex_color.domains import domain_for
from ex_color.errors import UserError

AGGREGATES = ("median", "mean", "min", "max", "quantile")
DIRECTIONS = {"maximize": "maximize", "maximise": "maximize", "minimize": "minimize", "minimise": "minimize"}
TYPES = ("float", "int", "categorical")
SEED_COLUMNS = ("score", "recon")
SEED_PREFIXES = ("val/", "labels/")


def seed_value(row: dict[str, Any], metric: str) -> float | None:
    """One seed's value of `metric` in its summary.json entry: the key itself, else a dotted path."""
    if metric in row:
        value = row[metric]
    else:
        value = row
        for part in metric.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Statistic:
    metric: str
    aggregate: str = "median"
    q: float | None = None

    def label(self) -> str:
        what = f"quantile {self.q:g}" if self.aggregate == "quantile" else self.aggregate
        return f"{what} of {self.metric}"

    def of(self, summary: dict[str, Any]) -> float | None:
        """The statistic over the seeds of a summary.json (None: no seed has a finite value)."""
        import numpy as np

        values = [seed_value(row, self.metric) for row in (summary.get("seeds") or {}).values()]
        values = [v for v in values if v is not None]
        if not values:
            return None
        if self.aggregate == "quantile":
            return float(np.quantile(values, self.q))
        return float(getattr(np, self.aggregate)(values))


@dataclass(frozen=True)
class Objective:
    name: str
    statistic: Statistic
    direction: str


@dataclass(frozen=True)
class Constraint:
    name: str
    statistic: Statistic
    low: float | None
    high: float | None

    def violation(self, value: float | None) -> float:
        """How far outside its bounds `value` lies (0 or less: within them; Optuna's convention)."""
        if value is None:
            return math.inf
        return max(
            self.low - value if self.low is not None else -math.inf,
            value - self.high if self.high is not None else -math.inf,
        )

    def label(self) -> str:
        bounds = [
            f"≥ {self.low:g}" if self.low is not None else "",
            f"≤ {self.high:g}" if self.high is not None else "",
        ]
        return f"{self.statistic.label()} {' and '.join(b for b in bounds if b)}"


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    key: str | None = None
    column: str | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def target(self) -> str:
        return self.key if self.key is not None else f"dopesheet column {self.column} (factor)"

    def as_configured(self, cfg) -> tuple[Any, str | None]:
        """(this parameter's value in the recipe as configured: the config key's value, or factor 1 for a
        column; why it cannot be tried, or None)."""
        from omegaconf import OmegaConf

        value = 1.0 if self.column is not None else OmegaConf.select(cfg, self.key)
        if self.type == "categorical":
            return value, None if value in self.choices else f"{self.name}={value!r} is not among its choices"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value, f"{self.name}={value!r} is not a number"
        if self.type == "int" and value != int(value):
            return value, f"{self.name}={value!r} is not an integer"
        if not self.low <= value <= self.high:
            return value, f"{self.name}={value:g} is outside [{self.low:g}, {self.high:g}]"
        if self.step is not None and abs((value - self.low) / self.step - round((value - self.low) / self.step)) > 1e-9:
            return value, f"{self.name}={value:g} is not on its step {self.step:g} from {self.low:g}"
        return (int(value) if self.type == "int" else float(value)), None

    def suggest(self, trial) -> Any:
        if self.type == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)
        if self.type == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return trial.suggest_categorical(self.name, list(self.choices))


def override_value(value: Any) -> str:
    """A value as Hydra's override grammar reads it back unchanged."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


@dataclass(frozen=True)
class SearchSpec:
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    space: tuple[Parameter, ...]
    seed: int = 0
    recipe_first: bool = True  # the first trial is the recipe as configured (when the space holds it)

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    def overrides(self, params: dict[str, Any]) -> list[str]:
        """The Hydra overrides of a trial's config-key parameters."""
        return [
            f"{p.key}={override_value(params[p.name])}" for p in self.space if p.key is not None and p.name in params
        ]

    def recipe(self, cfg) -> tuple[dict[str, Any] | None, str]:
        """The parameters of the recipe as configured (every factor 1, every key its value), and what to say
        of it; None where the space cannot hold it (or `search.recipe_first: false`)."""
        if not self.recipe_first:
            return None, "search.recipe_first is false: the recipe as configured is not tried first"
        params, outside = {}, []
        for parameter in self.space:
            params[parameter.name], why = parameter.as_configured(cfg)
            if why is not None:
                outside.append(why)
        if outside:
            return None, f"the recipe as configured is not tried first: {'; '.join(outside)}"
        return params, "trial 0 is the recipe as configured, so that the search's best is never below it"

    def factors(self, params: dict[str, Any]) -> dict[str, float]:
        """A trial's dopesheet column factors, by column."""
        return {p.column: float(params[p.name]) for p in self.space if p.column is not None and p.name in params}

    @classmethod
    def from_config(cls, cfg) -> SearchSpec:
        """The `search:` block of a composed `run` config; every mistake is one line naming its key."""
        from omegaconf import OmegaConf

        node = cfg.get("search")
        spec = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else (node or {})
        spec = _mapping(spec, "search")
        _known(spec, "search", ("objectives", "constraints", "space", "seed", "recipe_first"))
        objectives = _entries(spec, "objectives", _objective, cfg)
        if not objectives:
            raise UserError("search.objectives: none given; name at least one summary.json statistic to optimise")
        constraints = _entries(spec, "constraints", _constraint, cfg)
        space = _entries(spec, "space", _parameter, cfg)
        if not space:
            raise UserError("search.space: empty; give at least one parameter (a config key or a dopesheet column)")
        seed = spec.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise UserError(f"search.seed: expected an integer (got {seed!r})")
        recipe_first = spec.get("recipe_first", True)
        if not isinstance(recipe_first, bool):
            raise UserError(f"search.recipe_first: expected true or false (got {recipe_first!r})")
        return cls(objectives, constraints, space, seed, recipe_first)


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{key}: expected a mapping by name (got {value!r})")
    return value


def _entries(spec: dict, part: str, make, cfg) -> tuple:
    """`make(name, entry, cfg)` for each named entry of `search.<part>` (null entries: removed)."""
    entries = _mapping(spec.get(part), f"search.{part}")
    return tuple(
        make(name, _mapping(value, f"search.{part}.{name}"), cfg)
        for name, value in entries.items()
        if value is not None
    )


def _known(spec: dict, key: str, known: tuple[str, ...]) -> None:
    unknown = sorted(set(spec) - set(known))
    if unknown:
        raise UserError(f"{key}.{unknown[0]}: unknown key; known keys: {', '.join(known)}")


def _statistic(spec: dict, key: str, cfg) -> Statistic:
    metric = spec.get("metric")
    if not isinstance(metric, str) or not metric:
        raise UserError(f"{key}.metric: expected a summary.json column, e.g. score or val/recon (got {metric!r})")
    check_metric(metric, cfg, f"{key}.metric")
    aggregate = spec.get("aggregate", "median")
    if aggregate not in AGGREGATES:
        raise UserError(f"{key}.aggregate: expected one of {', '.join(AGGREGATES)} (got {aggregate!r})")
    q = spec.get("q")
    if aggregate == "quantile":
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 1:
            raise UserError(f"{key}.q: the quantile, a number in [0, 1] (got {q!r})")
        q = float(q)
    elif q is not None:
        raise UserError(f"{key}.q: only with aggregate: quantile")
    return Statistic(metric, aggregate, q)


def check_metric(metric: str, cfg, key: str) -> None:
    """A column that the trials' summary.json will have, given the experiment: its score, recon, a validated
    loss, a label count, or its domain's per-seed columns (colour: each intervention's selectivity; the
    digits: the score's `score/…`)."""
    regularizers = cfg.get("regularizers") or {}
    data = cfg.get("data") or {}
    validating = ((data.get("validation") or {}).get("every") or 0) > 0
    validated = ["recon", *(name for name, reg in regularizers.items() if reg is not None and reg.get("validate"))]
    labels = [name for name, label in (data.get("labels") or {}).items() if label is not None]
    known = [
        *(["score"] if cfg.get("score") is not None else []),
        "recon",
        *(f"val/{name}" for name in validated if validating),
        *(f"labels/n/{name}" for name in ("_any", *labels)),
        *domain_for(data).seed_columns(cfg),
    ]
    if metric not in known:
        raise UserError(f"{key}: unknown metric {metric!r}; this experiment's: {', '.join(known)}")


def _objective(name: str, spec: dict, cfg) -> Objective:
    key = f"search.objectives.{name}"
    _known(spec, key, ("metric", "aggregate", "q", "direction"))
    statistic = _statistic(spec, key, cfg)
    direction = spec.get("direction")
    if direction not in DIRECTIONS:
        raise UserError(f"{key}.direction: expected maximize or minimize (got {direction!r})")
    return Objective(name, statistic, DIRECTIONS[direction])


def _constraint(name: str, spec: dict, cfg) -> Constraint:
    key = f"search.constraints.{name}"
    _known(spec, key, ("metric", "aggregate", "q", "min", "max"))
    statistic = _statistic(spec, key, cfg)
    bounds = {}
    for bound in ("min", "max"):
        value = spec.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise UserError(f"{key}.{bound}: expected a number (got {value!r})")
        bounds[bound] = float(value) if value is not None else None
    if bounds["min"] is None and bounds["max"] is None:
        raise UserError(f"{key}: give min, max or both")
    return Constraint(name, statistic, bounds["min"], bounds["max"])


def _parameter(name: str, spec: dict, cfg) -> Parameter:
    from omegaconf import OmegaConf

    key = f"search.space.{name}"
    _known(spec, key, ("key", "column", "type", "low", "high", "log", "step", "choices"))
    if (spec.get("key") is None) == (spec.get("column") is None):
        raise UserError(f"{key}: give either key (a config key) or column (a dopesheet column to scale)")
    config_key, column = spec.get("key"), spec.get("column")
    if config_key is not None:
        if not isinstance(config_key, str) or OmegaConf.select(cfg, config_key, default="\0missing") == "\0missing":
            raise UserError(f"{key}.key: {config_key!r} is not a key of this experiment's config")
        if config_key == "seed" or config_key.startswith(("search.", "hydra.")):
            raise UserError(f"{key}.key: {config_key!r} cannot be searched (the seeds come from --seeds)")
    elif not isinstance(column, str):
        raise UserError(f"{key}.column: expected a dopesheet column name (got {column!r})")
    kind = spec.get("type", "float")
    if kind not in TYPES:
        raise UserError(f"{key}.type: expected one of {', '.join(TYPES)} (got {kind!r})")
    if column is not None and kind != "float":
        raise UserError(f"{key}.type: a dopesheet column's factor is a float (got {kind})")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UserError(f"{key}.choices: expected a non-empty list of values")
        if not all(c is None or isinstance(c, (bool, int, float, str)) for c in choices):
            raise UserError(f"{key}.choices: each choice must be a number, a string, true/false or null")
        extra = sorted(set(spec) & {"low", "high", "log", "step"})
        if extra:
            raise UserError(f"{key}.{extra[0]}: not for a categorical parameter (give choices)")
        return Parameter(name, kind, config_key, column, choices=tuple(choices))
    low, high, log, step = spec.get("low"), spec.get("high"), spec.get("log", False), spec.get("step")
    for bound, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserError(f"{key}.{bound}: expected a number (got {value!r})")
        if kind == "int" and value != int(value):
            raise UserError(f"{key}.{bound}: expected an integer for an int parameter (got {value!r})")
    if not low < high:
        raise UserError(f"{key}: low ({low}) must be below high ({high})")
    if not isinstance(log, bool):
        raise UserError(f"{key}.log: expected true or false (got {log!r})")
    if log and low <= 0:
        raise UserError(f"{key}.low: a log scale needs low > 0 (got {low})")
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0 or log):
        raise UserError(f"{key}.step: a positive number, and not with log: true (got {step!r})")
    if column is not None and low <= 0:
        raise UserError(f"{key}.low: a column's factor must be positive (got {low})")
    return Parameter(name, kind, config_key, column, float(low), float(high), log, step)
