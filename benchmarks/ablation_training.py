"""What each speed-up of the training step is worth: the training loop with one of them undone at a time.

Each variant trains an ex-2.2-shaped sheet in-process through the real `train()` (Lightning included)
and reports the loop's µs/step (on_train_start to on_train_end); variants alternate, several rounds,
and the table gives the fastest round of each and its difference from "all on". Not part of
`make bench` (it measures the parts, not a target).

    python benchmarks/ablation_training.py [--steps N] [--rounds R]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ex22_like_sheet, machine_header, table, write  # noqa: E402


@contextlib.contextmanager
def patched(obj, name, value):
    missing = object()
    old = obj.__dict__.get(name, missing)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if old is missing:
            delattr(obj, name)
        else:
            setattr(obj, name, old)


def variants():
    """name -> context manager factory that undoes one optimisation."""
    import lightning as L

    from ex_color import losses, training

    original_plan_init = losses._Plan.__init__

    def unfused_plan_init(self, *args, **kwargs):
        original_plan_init(self, *args, **kwargs)
        self.fused = False

    def plain_adam(factory, params, lr):
        return factory(list(params), lr=lr)

    def per_step_weights(block):
        def wrapped(self, block_index, pattern):
            rgb, labels, weights, schedule = block(self, block_index, pattern)
            return rgb, labels, _PerStep(self, labels, pattern), schedule

        return wrapped

    class _PerStep:  # label weights made at every step from the step's labels, not once per block
        def __init__(self, module, labels, pattern):
            self.module, self.labels, self.active = module, labels, module._patterns[pattern]

        def __getitem__(self, offset):
            return self.module.regularizers.sample_weights(self.labels[offset], self.active)

    def automatic_init(init):
        def wrapped(self, *args, **kwargs):
            init(self, *args, **kwargs)
            self.automatic_optimization = True

        return wrapped

    def plain_evaluate(self, activations, labels, active, weights=None):
        import torch

        from bare_training import bare_regularizers

        values = bare_regularizers(activations["encoder"], labels)
        return torch.stack([values[self.names[index]] for index in active])

    signature = training.ColorTrainer.training_step.__signature__
    return {
        "all on": lambda: contextlib.nullcontext(),
        "Lightning's automatic loop (closure + hooks)": lambda: patched(
            training.ColorTrainer, "__init__", automatic_init(training.ColorTrainer.__init__)
        ),
        "Adam without fused=True": lambda: patched(training, "make_optimizer", plain_adam),
        "regularizers through autograd (not fused)": lambda: patched(losses._Plan, "__init__", unfused_plan_init),
        "regularizers as the bare loop writes them": lambda: patched(losses.RegularizerSet, "evaluate", plain_evaluate),
        "label weights per step (not per block)": lambda: patched(
            training.ColorTrainer, "_block", per_step_weights(training.ColorTrainer._block)
        ),
        "Lightning's default profiler": lambda: patched(training, "QuietProfiler", L.pytorch.profilers.PassThroughProfiler),
        "nn.Module.__setattr__ for _current_fx_name": lambda: patched(
            training.ColorTrainer, "__setattr__", L.LightningModule.__setattr__
        ),
        "training_step signature parsed each step": lambda: patched(
            training.ColorTrainer.training_step, "__signature__", None
        ),
    }, signature


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from ex_color import training
    from ex_color.config import compose
    from ex_color.tasks.train import train

    print(machine_header("ablation_training: the training loop with one speed-up undone at a time"), flush=True)
    marks: dict[str, float] = {}
    start, end = training.ColorTrainer.on_train_start, training.ColorTrainer.on_train_end
    training.ColorTrainer.on_train_start = lambda self: (marks.__setitem__("start", time.perf_counter()), start(self))[1]
    training.ColorTrainer.on_train_end = lambda self: (end(self), marks.__setitem__("end", time.perf_counter()))[0]

    with tempfile.TemporaryDirectory(prefix="excolor-ablation-") as tmp:
        sheet = write(Path(tmp) / "sheet.csv", ex22_like_sheet(args.steps))
        cfg = compose("train", ["experiment=ex-2.2", f"dopesheet={sheet}"])
        found, _ = variants()
        best = {name: float("inf") for name in found}
        for round_ in range(args.rounds + 1):  # round 0 warms up
            for name, undo in found.items():
                run_dir = Path(tmp) / "run"
                shutil.rmtree(run_dir, ignore_errors=True)
                with undo():
                    train(cfg, run_dir=run_dir)
                if round_:
                    best[name] = min(best[name], (marks["end"] - marks["start"]) / args.steps * 1e6)
            print(f"  round {round_}/{args.rounds} done", flush=True)
    base = best["all on"]
    rows = [[name, f"{us:.0f}", "" if name == "all on" else f"+{us - base:.0f}", f"{us / base:.2f}"] for name, us in best.items()]
    print(f"\n## Loop µs/step, {args.steps:,} steps, fastest of {args.rounds} rounds\n")
    print(table(["variant", "µs/step", "cost of undoing", "ratio"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
