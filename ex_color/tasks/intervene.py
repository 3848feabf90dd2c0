"""`intervene(cfg, run_dir)`: evaluate a trained run with and without an intervention, and measure
what changed on-target and off-target."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from ex_color import runs
from ex_color.builders import build_intervention, plain
from ex_color.data.cubes import ColorCube
from ex_color.evaluation import (
    error_summary,
    most_aligned_hue,
    named_colors,
    named_hue,
    nearest_named_hue,
    per_color_error,
    predict,
    selectivity,
)
from ex_color.interventions import intervene as intervening

log = logging.getLogger(__name__)

DEFAULT_EVAL = {"display": {"hues": 24, "saturations": 4, "values": 8}, "hd": {"hues": 240, "saturations": 48, "values": 48}, "rgb": {"steps": 20}, "chunk_size": 262144}


def eval_settings(run_cfg: DictConfig) -> dict[str, Any]:
    settings = dict(DEFAULT_EVAL)
    settings.update(plain(run_cfg.get("eval") or {}))
    return settings


class Evaluator:
    """A model, possibly with hook interventions, evaluated on arrays of colours."""

    def __init__(self, model, placements, chunk_size: int):
        self.model = model
        self.placements = placements
        self.chunk_size = chunk_size

    def __call__(self, rgb: np.ndarray):
        with intervening(self.model, self.placements):
            return predict(self.model, rgb, self.model.latent_layer, self.chunk_size)


def prepare(cfg: DictConfig, run_dir: Path):
    """(baseline evaluator, intervened evaluator, record, eval settings) for a run and an intervention."""
    model = runs.load_model(run_dir)
    settings = eval_settings(runs.load_config(run_dir))
    edited, placements, record = build_intervention(cfg.intervention, cfg.get("concepts") or {}, model)
    chunk = int(settings["chunk_size"])
    return Evaluator(model, [], chunk), Evaluator(edited, placements, chunk), record, settings


def hd_cube(settings) -> ColorCube:
    hd = settings["hd"]
    return ColorCube.hsv(hd["hues"], hd["saturations"], hd["values"])


def cube_hsv(cube: ColorCube) -> np.ndarray:
    return np.stack([cube.grid("h"), cube.grid("s"), cube.grid("v")], axis=-1).reshape(-1, 3)


def target_of(cfg: DictConfig, record: dict, hsv: np.ndarray, baseline_latents: np.ndarray) -> tuple[float, str]:
    if cfg.get("target_hue") is not None:
        hue = float(cfg.target_hue) % 360.0
    elif named_hue(record.get("concept", "")) is not None:
        hue = named_hue(record["concept"])
    elif "concept_vector" in record:
        hue = most_aligned_hue(hsv, baseline_latents, record["concept_vector"])
    else:
        hue = 0.0  # surgery: dimension 0 carries red in the 2.2 layout
    return hue, nearest_named_hue(hue)


def measure(cfg: DictConfig, run_dir: Path, kind: str):
    """All the numbers of one intervention on one run (nothing written)."""
    baseline, intervened, record, settings = prepare(cfg, run_dir)
    cube = hd_cube(settings)
    inputs = cube.flat_rgb().astype(np.float32)
    hsv = cube_hsv(cube)
    before = baseline(inputs)
    after = intervened(inputs) if kind != "none" else before
    err_before = per_color_error(before.outputs, inputs)
    err_after = per_color_error(after.outputs, inputs)

    names = named_colors()
    named_rgb = np.stack(list(names.values())).astype(np.float32)
    named_before = dict(zip(names, per_color_error(baseline(named_rgb).outputs, named_rgb).tolist()))
    named_after = dict(zip(names, per_color_error(intervened(named_rgb).outputs, named_rgb).tolist()))
    hue, target_name = target_of(cfg, record, hsv, before.latents)
    metrics = {
        "run": str(run_dir),
        "intervention": record,
        "eval_cube": {"hues": int(cube.shape[0]), "saturations": int(cube.shape[1]), "values": int(cube.shape[2])},
        "baseline": error_summary(err_before),
        "intervened": error_summary(err_after),
        "named_colors": {
            name: {
                "rgb": [round(float(x), 4) for x in names[name]],
                "baseline": named_before[name],
                "intervened": named_after[name],
                "delta": named_after[name] - named_before[name],
            }
            for name in names
        },
        "selectivity": selectivity(err_before, err_after, hsv, named_before, named_after, hue, target_name),
    }
    arrays = {
        "inputs": inputs,
        "hsv": hsv.astype(np.float32),
        "outputs": after.outputs,
        "latents": after.latents,
        "baseline_outputs": before.outputs,
        "baseline_latents": before.latents,
        "cube_shape": np.array(cube.shape),
    }
    return metrics, arrays


def intervene(cfg: DictConfig, run_dir: str | Path | None = None, draw: bool = True) -> tuple[Path, dict]:
    """Evaluate `run_dir` (default outputs/latest) with `cfg.intervention`; write results beside the run."""
    run_dir = runs.resolve_run(run_dir)
    kind = str(cfg.intervention.kind)
    out_dir = run_dir / "interventions" / kind
    metrics, arrays = measure(cfg, run_dir, kind)

    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    runs.atomic_write_bytes(out_dir / "predictions.npz", buffer.getvalue())
    runs.atomic_write_text(out_dir / "intervention.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    runs.atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    if draw:
        from ex_color.tasks.plot import draw_intervention_figures

        draw_intervention_figures(run_dir, kind, cfg)
    log.info("intervention %s on %s: results in %s", kind, run_dir, out_dir)
    return out_dir, metrics
