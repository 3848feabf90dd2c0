"""Every seed's selectivity in a redux, cheaply: each seed's model is predicted once for its baseline and once
per intervention, on a small probe only (the named colours, a small HSV cube for the error ratio, and the
vivid colours of the run's HD cube when a concept's hue must be found from the latents), never on the full
evaluation probe. The numbers are `evaluation.metrics.selectivity`'s, so the delta ratio, the Δ at the
target and the worst far colour equal those in the evaluated seed's metrics.json and report.md.

The error ratio is the same definition over ERROR_CUBE (6,912 colours) instead of the HD cube (552,960), so
it is close to, not equal to, report.md's. Written per seed as `seed-<k>/selectivity.json`:

    {"cube": {"hues": 48, "saturations": 12, "values": 12},
     "interventions": {"suppression": {"delta_ratio": …, "target_delta": …, "target_color": "red",
                                       "worst_far": {"name": "black", "delta": …}, "error_ratio": …}, …}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ex_color import runs
from ex_color.data.colors import hue_name, named_colors, named_hue
from ex_color.data.cubes import ColorCube
from ex_color.errors import UserError
from ex_color.evaluation.metrics import per_color_error, selectivity

SELECTIVITY_FILE = "selectivity.json"
ERROR_CUBE = (48, 12, 12)  # hues, saturations, values of the error ratio's HSV cube
PREFIX = "selectivity"
# A seed's summary columns per intervention: `selectivity.<kind>.<field>`.
FIELDS = ("delta_ratio", "target_delta", "worst_far.delta", "error_ratio")
HIGHER_IS_BETTER = ("delta_ratio", "target_delta", "error_ratio")


def column(kind: str, field: str) -> str:
    return f"{PREFIX}.{kind}.{field}"


def parse_column(name: str) -> tuple[str, str] | None:
    """(kind, field) of a `selectivity.<kind>.<field>` column, None for any other column name."""
    if not name.startswith(PREFIX + "."):
        return None
    kind, _, field = name.removeprefix(PREFIX + ".").partition(".")
    return kind, field


def check_column(name: str, kinds: Sequence[str], key: str) -> None:
    """A `selectivity.<kind>.<field>` column names one of `kinds` (the redux's interventions but none) and one
    of FIELDS; anything else is a UserError naming `key`."""
    kind, field = parse_column(name) or ("", "")
    if not kind or kind not in kinds:
        known = ", ".join(kinds) or "none (the experiment evaluates no intervention but none)"
        raise UserError(f"{key}: {name!r} names no intervention of the experiment's `interventions`; kinds: {known}")
    if field not in FIELDS:
        raise UserError(f"{key}: {name!r}: unknown selectivity field {field!r}; fields: {', '.join(FIELDS)}")


def seed_record(selectivity: Mapping[str, Any]) -> dict[str, Any]:
    """The redux's record of one intervention on one seed, from `evaluation.metrics.selectivity`'s dict."""
    return {
        "delta_ratio": selectivity["delta_ratio"],
        "target_delta": selectivity["target_delta"],
        "target_color": selectivity["target_color"],
        "worst_far": {"name": selectivity["largest_far_delta_color"], "delta": selectivity["largest_far_delta"]},
        "error_ratio": selectivity["error_ratio"],
    }


def columns_of(records: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Flat summary columns (`selectivity.<kind>.<field>`) of one seed's records."""
    out = {}
    for kind, record in records.items():
        for field in FIELDS:
            value = record["worst_far"]["delta"] if field == "worst_far.delta" else record[field]
            out[column(kind, field)] = float(value) if value is not None else float("nan")
    return out


class SelectivityProbe:
    """The colours every seed is predicted on: the named colours and the error ratio's cube, and for a baseline
    whose concept hue must be found from the latents also the vivid colours of the run's HD cube (s and v
    above 0.9: the only ones `metrics.most_aligned_hue` looks at, in the HD cube's order, built on their own)."""

    def __init__(self, hd: tuple[int, int, int], cube: tuple[int, int, int] = ERROR_CUBE):

        self.named = named_colors()
        self.hd = hd
        self.cube_shape = cube
        error_cube = ColorCube.hsv(*cube)
        self.cube_rgb = error_cube.flat_rgb()
        self.cube_hsv = np.stack([error_cube.grid(a) for a in "hsv"], axis=-1).reshape(-1, 3)
        self.named_rgb = np.stack(list(self.named.values()))
        self.inputs = np.concatenate([self.named_rgb, self.cube_rgb]).astype(np.float32)
        self._vivid: tuple[np.ndarray, np.ndarray] | None = None

    def vivid(self) -> tuple[np.ndarray, np.ndarray]:
        """(hsv, rgb) of the HD cube's colours with s and v above 0.9, as `Probe.hd_hsv()` orders them."""
        if self._vivid is None:
            from ex_color.data.cubes import ColorCube, cyclic_range

            hues, saturations, values = self.hd
            s, v = np.linspace(0, 1, saturations), np.linspace(0, 1, values)
            cube = ColorCube.from_hsv(cyclic_range(hues), s[s > 0.9], v[v > 0.9])
            hsv = np.stack([cube.grid(a) for a in "hsv"], axis=-1).reshape(-1, 3)
            self._vivid = hsv, cube.flat_rgb()
        return self._vivid

    def errors(self, outputs: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
        """(named colour -> error, the cube's per-colour errors) from outputs over `inputs` (leading rows)."""
        n = len(self.named_rgb)
        named = dict(zip(self.named, per_color_error(outputs[:n], self.named_rgb).tolist()))
        return named, per_color_error(outputs[n : n + len(self.cube_rgb)], self.cube_rgb)


def build_interventions(configs: Mapping[str, Any], model) -> dict[str, tuple[Any, Any]]:
    """kind -> (the intervention, its configured `target_hue` or None) for every kind of `configs` but none,
    built once against `model`: a redux's seeds share one architecture, and a built intervention holds layer
    names and vectors, never the model it was checked against."""
    from ex_color.builders import build_intervention

    return {
        kind: (build_intervention(icfg.intervention, icfg.get("concepts") or {}, model), icfg.get("target_hue"))
        for kind, icfg in configs.items()
        if kind != "none"
    }


def needs_latents(intervention, given) -> bool:
    """Whether the target hue comes from the baseline's latents (`RunEvaluation.target_hue`'s last case)."""
    concept = intervention.concept
    return given is None and concept is not None and named_hue(concept[0]) is None


def measure_model(model, interventions: Mapping[str, tuple[Any, Any]], probe: SelectivityProbe) -> dict[str, dict]:
    """One model's record per intervention (`build_interventions`): the baseline predicted once, each
    intervention once, on the probe only."""
    from ex_color.evaluation.measure import RunEvaluation
    from ex_color.evaluation.predict import predict

    latents = any(needs_latents(intervention, given) for intervention, given in interventions.values())
    vivid_hsv, vivid_rgb = probe.vivid() if latents else (np.empty((0, 3)), np.empty((0, 3)))
    baseline = predict(model, np.concatenate([probe.inputs, vivid_rgb.astype(np.float32)]))
    named_before, cube_before = probe.errors(baseline.outputs)
    vivid_latents = baseline.latents[len(probe.inputs) :]
    records = {}
    for kind, (intervention, given) in interventions.items():
        hue = RunEvaluation.target_hue(intervention, given, vivid_hsv, vivid_latents)
        intervened, placements = intervention.applied_to(model)
        named_after, cube_after = probe.errors(predict(intervened, probe.inputs, placements).outputs)
        measured = selectivity(cube_before, cube_after, probe.cube_hsv, named_before, named_after, hue, hue_name(hue))
        records[kind] = seed_record(measured)
    return records


def measure_runs(
    run_dirs: Sequence[Path], configs: Mapping[str, Any], hd: tuple[int, int, int], models: Sequence | None = None
) -> list[Path]:
    """Every run's selectivity.json (`configs`: the redux's interventions; `hd`: the runs' `eval.hd` cube;
    `models`: the runs' models, each loaded here unless given)."""
    probe = SelectivityProbe(hd)
    interventions = None
    written = []
    for index, run_dir in enumerate(run_dirs):
        model = models[index] if models is not None else runs.load_model(run_dir)
        interventions = interventions if interventions is not None else build_interventions(configs, model)
        records = measure_model(model, interventions, probe)
        document = {"cube": dict(zip(("hues", "saturations", "values"), probe.cube_shape)), "interventions": records}
        written.append(runs.atomic_write_text(Path(run_dir) / SELECTIVITY_FILE, json.dumps(document, indent=2) + "\n"))
    return written


def read_selectivity(run_dir: Path) -> dict[str, dict[str, Any]]:
    """A run's records per intervention from its selectivity.json ({} without one)."""
    path = Path(run_dir) / SELECTIVITY_FILE
    if not path.is_file():
        return {}
    try:
        records = json.loads(path.read_text())["interventions"]
        columns_of(records)  # every field present
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"{path}: not a selectivity file (unreadable, not JSON, or a field missing)") from None
    return records
