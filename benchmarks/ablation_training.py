"""What each speed trick of the training loop is worth: the loop with one of them undone at a time.

Each variant builds the real `TrainLoop` (`training_setup.build_loop`) for an ex-2.2-shaped sheet and times
its steps in-process (no start-up, no files); variants alternate over several rounds, and the table gives
the fastest round of each and its difference from "all on". One row adds a feature instead: the latent
history (`history.snapshots=120`: a forward pass of the 8³ grid at 120 steps, the arrays taken once). `--seeds S` prices the same tricks for S
seeds trained together (plus the one that only they have: vmap over the regularizer terms). Not part of
`make bench` (it measures the parts, not a target).

    python benchmarks/ablation_training.py [--steps N] [--rounds R] [--seeds S]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ex22_like_sheet, machine_header, table, write  # noqa: E402


@contextlib.contextmanager
def patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def variants(seeds: int):
    """name -> (context manager factory undoing one trick, log_every)."""
    import torch

    from ex_color.training import loop as loop_module
    from ex_color import losses

    def plain_adam(factory, params, lr):
        return factory(list(params), lr=lr)

    original_block = loop_module.TrainLoop._block

    def per_step_weights(self, block_index, pattern):  # label weights made at every step, not once per block
        rgb, labels, weights = original_block(self, block_index, pattern)
        return rgb, labels, None if weights is None else _PerStep(self, labels, pattern)

    class _PerStep:
        def __init__(self, loop, labels, pattern):
            self.loop, self.labels, self.active = loop, labels, loop.patterns[pattern]

        def __getitem__(self, offset):
            return self.loop.regularizers.sample_weights(self.labels[offset], self.active)

    original_init = losses._Pattern.__init__

    def unshared_init(self, *args, **kwargs):  # every regularizer computes its own term, equal or not
        original_init(self, *args, **kwargs)
        self.unique = [self.unique[u] for u in self.column_term]
        self.column_term = list(range(len(self.unique)))
        self.gather = False

    def columns_one_by_one(self, activations, weights, stacked):  # a weighted mean per column
        zs = [activations[layer] for layer in self.layers]
        per_sample = self.stacked_per_sample(*zs) if stacked else self.per_sample(*zs)
        columns = [(per_sample[..., u] * weights[..., c]).sum(-1) for c, u in enumerate(self.column_term)]
        values = torch.stack(columns, dim=-1)
        if self.several_layers:
            owners = torch.tensor(self.owners, device=values.device)
            values = values.new_zeros(*values.shape[:-1], len(self.active)).index_add(-1, owners, values)
        return values

    class PlainFabric:  # what Fabric's autocast and backward cost over plain PyTorch
        def __init__(self, fabric):
            self.fabric = fabric
            self.device = fabric.device

        def autocast(self):
            return contextlib.nullcontext()

        def backward(self, loss):
            loss.backward()

        def setup_optimizers(self, optimizer):
            return optimizer

    original_loop_init = loop_module.TrainLoop.__init__

    def without_fabric(self, model, regularizers, timeline, sources, optimizer, fabric, *args, **kwargs):
        original_loop_init(
            self, model, regularizers, timeline, sources, optimizer, PlainFabric(fabric), *args, **kwargs
        )

    def one_member_at_a_time(self, *zs):
        return torch.stack([self.per_sample(*member) for member in zip(*zs)])

    found = {
        "all on": (contextlib.nullcontext, 100),
        "Adam without fused=True": (lambda: patched(loop_module, "make_optimizer", plain_adam), 100),
        "label weights per step (not per block)": (
            lambda: patched(loop_module.TrainLoop, "_block", per_step_weights),
            100,
        ),
        "equal terms computed per regularizer": (lambda: patched(losses._Pattern, "__init__", unshared_init), 100),
        "weighted means one column at a time": (lambda: patched(losses._Pattern, "__call__", columns_one_by_one), 100),
        "Separate's whole power through pow": (lambda: patched(losses, "power", lambda x, p: x.pow(p)), 100),
        "metrics taken from the device every step": (contextlib.nullcontext, 1),
        "plain backward (no Fabric)": (lambda: patched(loop_module.TrainLoop, "__init__", without_fabric), 100),
    }
    found["latent history on (120 snapshots; not a trick: a feature's price)"] = (contextlib.nullcontext, 100)
    if seeds > 1:
        found["terms one member at a time (no vmap)"] = (
            lambda: patched(losses._Pattern, "stacked_per_sample", one_member_at_a_time),
            100,
        )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=1, help="members trained together (default 1: a single run)")
    args = parser.parse_args(argv)

    import dataclasses

    import torch

    from ex_color.config import compose
    from ex_color.training.setup import build_loop, trainer_settings

    torch.set_num_threads(1)
    print(
        machine_header(f"ablation_training: the loop with one speed trick undone at a time ({args.seeds} seed(s))"),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="excolor-ablation-") as tmp:
        sheet = write(Path(tmp) / "sheet.csv", ex22_like_sheet(args.steps))
        cfg = compose("train", ["experiment=ex-2.2", f"dopesheet={sheet}"])
        with_history = compose("train", ["experiment=ex-2.2", f"dopesheet={sheet}", "history.snapshots=120"])
        found = variants(args.seeds)
        best = {name: float("inf") for name in found}
        for round_ in range(args.rounds + 1):  # round 0 warms up
            for name, (undo, log_every) in found.items():
                trainer = dataclasses.replace(trainer_settings(cfg), log_every=log_every)
                chosen = with_history if name.startswith("latent history") else cfg
                with undo():
                    loop, _ = build_loop(chosen, list(range(args.seeds)), trainer, warn=False)
                    start = time.perf_counter()
                    # the history's arrays are taken from the device at each checkpoint: here once, at the end
                    loop.run(lambda first, rows: None, lambda: loop.history and loop.history.arrays())
                    elapsed = time.perf_counter() - start
                    loop.close()
                if round_:
                    best[name] = min(best[name], elapsed / args.steps * 1e6)
            print(f"  round {round_}/{args.rounds} done", flush=True)
    base = best["all on"]
    rows = [
        [name, f"{us:.0f}", "" if name == "all on" else f"{us - base:+.0f}", f"{us / base:.2f}"]
        for name, us in best.items()
    ]
    print(f"\n## Loop µs/step, {args.seeds} seed(s), {args.steps:,} steps, fastest of {args.rounds} rounds\n")
    print(table(["variant", "µs/step", "cost of undoing", "ratio"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
