"""Running a model, possibly under intervention hooks, over any number of colours in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ex_color.interventions import Placement, intervene
from ex_color.interventions.kinds import LATENT


@dataclass
class Predictions:
    outputs: np.ndarray  # [N, inputs] (3 for colours)
    latents: np.ndarray  # [N, width] at the latent layer, after any intervention


@torch.inference_mode()
def predict(
    model: nn.Module,
    rgb: np.ndarray,
    placements: Sequence[Placement] = (),
    chunk_size: int = 262_144,
    latent_layer: str = LATENT,
) -> Predictions:
    """One forward pass per chunk of `chunk_size` colours, with `placements` hooked in for the duration;
    memory beyond the results stays bounded."""
    model.eval()
    width = getattr(model, "inputs", 3)  # 3 for colours, 64 for digits
    inputs = torch.as_tensor(np.asarray(rgb, dtype=np.float32).reshape(-1, width))
    n = inputs.shape[0]
    outputs = np.empty((n, width), dtype=np.float32)
    latents: np.ndarray | None = None
    current: list[torch.Tensor] = []
    with intervene(model, placements):
        module = dict(model.named_modules())[latent_layer]
        handle = module.register_forward_hook(lambda m, i, o: current.append(o))
        try:
            for start in range(0, n, chunk_size):
                stop = min(start + chunk_size, n)
                current.clear()
                outputs[start:stop] = model(inputs[start:stop]).numpy()
                latent = current[-1]
                if latents is None:
                    latents = np.empty((n, latent.shape[-1]), dtype=np.float32)
                latents[start:stop] = latent.numpy()
        finally:
            handle.remove()
    if latents is None:
        latents = np.empty((0, 0), dtype=np.float32)
    return Predictions(outputs, latents)
