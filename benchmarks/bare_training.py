"""The bare baseline: experiment 2.2's training as a plain eager PyTorch loop — no Lightning, no logging.

It does the same work per step as `excolor train experiment=ex-2.2`, written the straightforward way:

* data: reuses `ex_color.data` (`ColorCube.hsv(36, 10, 10)`, `BatchSource`): the same weighted
  sampling, the same hard labels, the same batch at every step;
* model: reuses `ex_color.model.ColorMLP(bottleneck=4, hidden=16)`, called as encoder then decoder;
* schedule: reuses `ex_color.schedule` (dopesheet parsing and the precomputed per-step values);
* regularizers: written out plainly below from the spec (NOT `ex_color.losses`): anchor, separate,
  planar, unit-v and unit on the encoder output, each a label-weighted batch mean
  ``Σ α_i l_i / (Σ α_i + 1e-8)`` with ``α = clamp(labels @ affinities, 0, 1)`` (the plain mean for a
  term without labels), weighted by the schedule and added to the reconstruction MSE;
* optimiser: `torch.optim.Adam` with its defaults (on CPU: the per-parameter implementation); the
  learning rate is set from the schedule every step; then zero_grad, backward, step.

Run as a script it trains once and prints one JSON line: `steps`, `seconds` (the loop alone) and the
final losses (`--save PATH` also writes the final state dict):

    python benchmarks/bare_training.py [--dopesheet PATH] [--steps N] [--threads T] [--seed S] [--device cuda]

Import `train_bare` to run it in-process, or `bare_regularizers` for the plain objective.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHEET = ROOT / "dopesheets" / "ex-2.2.csv"

# configs/regularizers/ex-2.2.yaml, in config order (the order of the loss sum).
NAMES = ("reg-anchor", "reg-separate", "reg-planar", "reg-unit-v", "reg-unit")
LABEL_NAMES = ("red", "vibrant")  # configs/data/hsv.yaml
AFFINITIES = {  # label affinities per regularizer; None: every sample counts equally
    "reg-anchor": {"red": 1.0},
    "reg-separate": None,
    "reg-planar": {"vibrant": 1.0},
    "reg-unit-v": {"vibrant": 1.0},
    "reg-unit": None,
}


def bare_regularizers(z, labels):
    """{name: value} of the five regularizers on latents z [B, 4] with labels [B, 2], plainly."""
    import torch

    anchor = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=z.dtype, device=z.device)
    unit = z / (z.norm(dim=-1, keepdim=True) + 1e-8)
    cos = unit @ unit.T
    cos = cos.masked_fill(cos >= 1 - 1e-5, 0.0)  # the diagonal and duplicates are not repelled
    per_sample = {
        "reg-anchor": (z - anchor).square().sum(-1),
        "reg-separate": cos.pow(10.0).sum(-1),
        "reg-planar": z[:, 2:].square().sum(-1),
        "reg-unit-v": (z.norm(dim=-1) - 1).square(),
        "reg-unit": (z.norm(dim=-1) - 1).square(),
    }
    values = {}
    for name in NAMES:
        affinities = AFFINITIES[name]
        if affinities is None:
            values[name] = per_sample[name].mean()
        else:
            weights = torch.tensor(
                [affinities.get(label, 0.0) for label in LABEL_NAMES], dtype=labels.dtype, device=labels.device
            )
            alpha = (labels @ weights).clamp(0.0, 1.0)
            values[name] = (alpha * per_sample[name]).sum() / (alpha.sum() + 1e-8)
    return values


def train_bare(
    dopesheet: str | Path = DEFAULT_SHEET,
    seed: int = 0,
    threads: int = 1,
    steps: int | None = None,
    device: str = "cpu",
):
    """Train as experiment 2.2 does; returns (model, {'steps', 'seconds', 'loss', 'recon', <terms>})."""
    import torch
    from torch.nn import functional as F

    from ex_color.data import BatchSource, ColorCube
    from ex_color.model import ColorMLP
    from ex_color.schedule import Timeline, load_dopesheet

    torch.set_num_threads(threads)
    timeline = Timeline.from_dopesheet(load_dopesheet(dopesheet))
    length = timeline.length if steps is None else min(steps, timeline.length)
    lr = timeline.values["lr"]
    weights = {name: timeline.values[name] for name in NAMES}

    torch.manual_seed(seed)
    model = ColorMLP(bottleneck=4, hidden=16).to(device)
    batches = BatchSource(ColorCube.hsv(36, 10, 10), batch_size=64, labels={"red": 0.5, "vibrant": 0.5}, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(lr[0]))

    start = time.perf_counter()
    for step in range(length):
        rgb, labels = batches.batch(step)
        rgb, labels = rgb.to(device), labels.to(device)
        for group in optimizer.param_groups:
            group["lr"] = float(lr[step])

        z = model.encoder(rgb)
        output = model.decoder(z)
        recon = F.mse_loss(output, rgb)
        terms = bare_regularizers(z, labels)
        loss = recon
        for name in NAMES:
            loss = loss + float(weights[name][step]) * terms[name]

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if device != "cpu":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    result = {"steps": length, "seconds": seconds, "loss": loss.item(), "recon": recon.item()}
    result.update({name: value.item() for name, value in terms.items()})
    return model, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dopesheet", default=str(DEFAULT_SHEET))
    parser.add_argument("--steps", type=int, default=None, help="stop early (default: the sheet's length)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the trainer's config)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device (default cpu; e.g. cuda)")
    parser.add_argument("--save", default=None, help="write the final state dict here")
    args = parser.parse_args(argv)
    model, result = train_bare(
        args.dopesheet, seed=args.seed, threads=args.threads, steps=args.steps, device=args.device
    )
    if args.save:
        import torch

        torch.save(model.state_dict(), args.save)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
