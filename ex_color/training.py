"""The LightningModule: wires model, objective, regularizers and schedule; nothing else.

Batches are a pure function of the optimiser step (see `BatchSource`), so the module draws its own
batch from the step it is at; that keeps resumed runs on exactly the same random stream.
Per-step metrics stay on the device and reach the loggers every `log_every` steps, so the hot loop
never waits on the host.

Speed: a step of this tiny model costs what its number of small operations costs, so everything that
can be computed once is (the schedule, which terms are active, constant tensors), the regularizers run
fused (see `ex_color.losses`), Adam runs its fused kernel, and the step optimises itself instead of
going through Lightning's per-step closures and hooks (see `ColorTrainer`); `benchmarks/` measures it
against a bare PyTorch loop.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ex_color.data.sampling import BatchSource
from ex_color.errors import RunFailed
from ex_color.losses import RegularizerSet

log = logging.getLogger(__name__)


def schedule_weights(timeline, names: tuple[str, ...]) -> np.ndarray:
    """[length, n_terms] weight table; a term with no dopesheet column runs at weight 1.0."""
    columns = [timeline.values[name] if name in timeline.values else np.ones(timeline.length) for name in names]
    return np.stack(columns, axis=1) if columns else np.zeros((timeline.length, 0))


def active_patterns(active: np.ndarray, regularizers: RegularizerSet) -> tuple[list[int], list[tuple[int, ...]]]:
    """Which regularizers are active changes rarely: (the pattern id of each step, the active indices of
    each pattern) for the [length, n_terms] schedule mask `active`, so a step looks up one plan per pattern."""
    if active.shape[1]:
        patterns, pattern_at = np.unique(active, axis=0, return_inverse=True)
    else:
        patterns, pattern_at = np.zeros((1, 0), dtype=bool), np.zeros(len(active), dtype=np.int64)
    return np.asarray(pattern_at).reshape(-1).tolist(), [regularizers.active_indices(row) for row in patterns]


# Hooks Lightning's automatic loop calls around backward and the optimizer step (the step that
# optimises itself does not): a callback or module that uses one gets the automatic loop.
_OPTIMIZATION_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad")


def _needs_lightning_loop(trainer, module: L.LightningModule) -> bool:
    """Whether the Trainer was asked for something only Lightning's own optimisation loop does."""
    from lightning.pytorch.plugins.precision import Precision
    from lightning.pytorch.strategies import SingleDeviceStrategy
    from lightning.pytorch.utilities.model_helpers import is_overridden

    return bool(
        trainer.gradient_clip_val
        or trainer.accumulate_grad_batches != 1
        or type(trainer.precision_plugin) is not Precision
        or not isinstance(trainer.strategy, SingleDeviceStrategy)
        or any(is_overridden(hook, module, L.LightningModule) for hook in _OPTIMIZATION_HOOKS)
        or any(is_overridden(hook, callback, L.Callback) for callback in trainer.callbacks for hook in _OPTIMIZATION_HOOKS)
    )


class ColorTrainer(L.LightningModule):
    """Experiment training as a LightningModule.

    The step optimises itself (Lightning's manual optimisation, with the plain torch optimizer): the
    same zero_grad / backward / step as Lightning's automatic loop, without its per-step closures and
    optimisation hooks, which cost as much as the tiny model's maths. Where the run asks for something
    only the automatic loop does (gradient clipping or accumulation, mixed precision, several devices,
    a callback on `on_before_backward`, `on_after_backward`, `on_before_optimizer_step` or
    `on_before_zero_grad`) the module uses that loop instead; both give bit-identical results.
    """

    def __init__(
        self,
        model: nn.Module,
        regularizers: RegularizerSet,
        timeline,
        batches: BatchSource,
        optimizer: Callable[..., torch.optim.Optimizer],
        log_every: int = 100,
        model_config: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.model = model
        self.regularizers = regularizers
        self.timeline = timeline
        self.batches = batches
        self.optimizer_factory = optimizer
        self.log_every = max(1, int(log_every))
        self.model_config = dict(model_config or {})
        self.lr = np.asarray(timeline.values["lr"], dtype=np.float64)
        self.weights = schedule_weights(timeline, regularizers.names)
        self.active = self.weights != 0
        self.metric_names = ("train/loss", "train/recon", *(f"train/{n}" for n in regularizers.names))
        self._activations: dict[str, torch.Tensor] = {}
        self._hooks: list = []
        self._pending: list[tuple] = []  # (loss, recon, values, active) of steps not yet flushed
        self._buffer_start = 0  # the step of self._pending[0]
        self._self_optimizing = True
        self._mode_for: object = None  # the Trainer `_automatic` was decided for
        self._automatic = True
        self._block_key: tuple | None = None
        self._precompute_schedule()
        self._capture_layers()

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets `_current_fx_name` (a string) around every hook call, about 20 times a step;
        # `nn.Module.__setattr__` would check it against parameters, buffers and submodules each time.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # -- per-step lookups, computed once -------------------------------------------------------
    def _precompute_schedule(self) -> None:
        self._length = self.timeline.length
        self._lr_at = self.lr.tolist()
        self._pattern_at, self._patterns = active_patterns(self.active, self.regularizers)
        self._schedule_tables: dict[tuple[int, torch.device], torch.Tensor] = {}
        self._phase_starts: dict[int, list[str]] = {}
        for phase_step, phase in self.timeline.phases:
            self._phase_starts.setdefault(phase_step, []).append(phase)

    def _schedule_table(self, pattern: int, device: torch.device) -> torch.Tensor:
        """[length, n_active] float32 schedule weights of the regularizers active in `pattern`."""
        key = (pattern, device)
        table = self._schedule_tables.get(key)
        if table is None:
            columns = list(self._patterns[pattern])
            table = torch.tensor(self.weights[:, columns], dtype=torch.float32, device=device)
            self._schedule_tables[key] = table
        return table

    # -- optimisation mode ---------------------------------------------------------------------
    @property
    def automatic_optimization(self) -> bool:
        trainer = self._trainer
        if trainer is not self._mode_for:
            object.__setattr__(self, "_mode_for", trainer)
            automatic = not self._self_optimizing or trainer is None or _needs_lightning_loop(trainer, self)
            object.__setattr__(self, "_automatic", automatic)
        return self._automatic

    @automatic_optimization.setter
    def automatic_optimization(self, value: bool) -> None:
        object.__setattr__(self, "_self_optimizing", not value)
        object.__setattr__(self, "_mode_for", None)

    # -- activations ---------------------------------------------------------------------------
    def _capture_layers(self) -> None:
        modules = dict(self.model.named_modules())
        for layer in self.regularizers.layers:
            self._hooks.append(modules[layer].register_forward_hook(self._make_capture(layer)))

    def _make_capture(self, layer: str):
        def capture(module, inputs, output):
            self._activations[layer] = output

        return capture

    # -- training ------------------------------------------------------------------------------
    def configure_optimizers(self):
        return make_optimizer(self.optimizer_factory, self.model.parameters(), lr=float(self.lr[0]))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.model(rgb)

    def on_train_start(self) -> None:
        self._optimizer = self.trainer.optimizers[0]
        self._param_groups = self._optimizer.param_groups
        self._optimized = [p for group in self._param_groups for p in group["params"]]
        # In manual optimisation Lightning's global step is this counter (see `training_step`).
        self._step_progress = self.trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
        self._block_key: tuple | None = None

    def _block(self, block_index: int, pattern: int):
        """This block of batches on the module's device, the regularizers' label weights for it, and the
        schedule's weight table of the regularizers active in `pattern`."""
        key = (block_index, pattern)
        if key != self._block_key:
            rgb, labels = self.batches.block(block_index)
            rgb, labels = rgb.to(self.device), labels.to(self.device)
            active = self._patterns[pattern]
            weights = self.regularizers.sample_weights(labels, active) if active else None
            self._block_data = (rgb, labels, weights, self._schedule_table(pattern, self.device))
            self._block_key = key
        return self._block_data

    def training_step(self, batch, batch_idx):
        automatic = self.automatic_optimization
        step = self.global_step if automatic else self._step_progress.total.completed
        at = step if step < self._length else self._length - 1
        if step in self._phase_starts:
            for phase in self._phase_starts[step]:
                log.info("step %d: starting phase %s", step, phase)
        pattern = self._pattern_at[at]
        active = self._patterns[pattern]
        block_index, offset = divmod(step, self.batches.block_steps)
        rgb, labels, weights, schedule = self._block(block_index, pattern)
        rgb, labels = rgb[offset], labels[offset]
        lr = self._lr_at[at]
        for group in self._param_groups:
            group["lr"] = lr

        output = self.model(rgb)
        recon = F.mse_loss(output, rgb)
        if active:
            values = self.regularizers.evaluate(self._activations, labels, active, weights[offset])
            # Not `values @ schedule[at]`: a stack of these rows (`ex_color.ensemble`) sums the same way.
            loss = recon + (values * schedule[at]).sum(-1)
        else:
            values, loss = None, recon

        if not automatic:
            # What Lightning's manual loop does around `optimizer.step()`: count the step.
            progress = self._step_progress
            progress.increment_ready()
            for parameter in self._optimized:  # = optimizer.zero_grad(set_to_none=True)
                parameter.grad = None
            loss.backward()
            self._optimizer.step()
            progress.increment_completed()
        self._record(step, loss, recon, values, active)
        if step in self.timeline.events:
            log.info("step %d: %s", step, ", ".join(self.timeline.events[step]))
        return loss if automatic else None

    # -- metrics -------------------------------------------------------------------------------
    def _record(self, step: int, loss: torch.Tensor, recon: torch.Tensor, values, active: tuple[int, ...]) -> None:
        if not self._pending:
            self._buffer_start = step
        self._pending.append((loss.detach(), recon.detach(), None if values is None else values.detach(), active))
        if len(self._pending) == self.log_every or step + 1 >= self._length:
            self.flush_metrics(step)

    def _metrics_table(self, rows: list[tuple]) -> np.ndarray:
        """[len(rows), n_metrics] on the host; NaN for terms not computed at a step."""
        losses = torch.stack([row[0] for row in rows])
        recons = torch.stack([row[1] for row in rows])
        n_terms = len(self.regularizers.names)
        if n_terms and all(row[2] is not None and len(row[3]) == n_terms for row in rows):
            table = torch.cat((losses[:, None], recons[:, None], torch.stack([row[2] for row in rows])), dim=1)
        else:
            table = torch.full((len(rows), 2 + n_terms), float("nan"), device=losses.device)
            table[:, 0], table[:, 1] = losses, recons
            for index, (_, _, values, active) in enumerate(rows):
                if values is not None:
                    table[index, [2 + a for a in active]] = values
        return table.cpu().numpy()

    def flush_metrics(self, last_step: int) -> None:
        """Send buffered rows to the loggers; stop if any computed term went non-finite."""
        if not self._pending or last_step < self._buffer_start:
            return
        n = last_step - self._buffer_start + 1
        rows, self._pending = self._pending[:n], self._pending[n:]
        values = self._metrics_table(rows)
        first = self._buffer_start
        self._buffer_start = last_step + 1
        problem = non_finite_problem(values, first, self.active, self.regularizers)
        if problem is not None:
            raise RunFailed(f"{problem[1]}; stopped (the last good checkpoint is kept)")
        log_metric_rows(self.loggers, self.metric_names, first, values, self._lr_at)

    # -- checkpoints ---------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.flush_metrics(self.global_step - 1)
        checkpoint["excolor"] = {
            "model": self.model_config,
            "schedule_step": int(self.global_step),
            "schedule_length": int(self.timeline.length),
            "regularizers": list(self.regularizers.names),
        }

    def teardown(self, stage: str) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()


def log_metric_rows(loggers, names, first: int, values: np.ndarray, lr_at: list[float]) -> None:
    """Rows of metrics (steps `first`…, NaN: not computed), with each step's learning rate, to `loggers`."""
    last = len(lr_at) - 1
    for offset, row in enumerate(values.tolist()):
        step = first + offset
        metrics = {name: v for name, v in zip(names, row) if v == v}
        metrics["train/lr"] = lr_at[step if step < last else last]
        for logger in loggers:
            logger.log_metrics(metrics, step=step)
    for logger in loggers:
        logger.save()


def non_finite_problem(
    values: np.ndarray, first: int, active: np.ndarray, regularizers: RegularizerSet
) -> tuple[int, str] | None:
    """(step, what) of the first non-finite value in metric rows [steps, 2 + n_terms] (loss, recon, terms)
    from step `first`, among the terms computed there (`active`: the [length, n_terms] schedule mask)."""
    computed = np.ones_like(values, dtype=bool)
    steps = np.minimum(np.arange(first, first + len(values)), len(active) - 1)
    computed[:, 2:] = active[steps]
    bad = computed & ~np.isfinite(values)
    if not bad.any():
        return None
    row = int(np.argmax(bad.any(axis=1)))
    # Name the most specific culprit: a term before the reconstruction loss before the total.
    col = max(np.flatnonzero(bad[row]))
    if col >= 2:
        reg = regularizers.regularizers[col - 2]
        what = f"regularizer {reg.name!r} on layer {', '.join(reg.layers)}"
    elif col == 1:
        what = "the reconstruction loss"
    else:
        what = "the total loss"
    return first + row, f"{what} became non-finite at step {first + row}"


# Lightning inspects `training_step`'s signature at every step (to pass `batch_idx`); a stated
# signature makes that a lookup instead of a parse.
ColorTrainer.training_step.__signature__ = inspect.signature(ColorTrainer.training_step)  # type: ignore[attr-defined]


def make_optimizer(factory: Callable[..., torch.optim.Optimizer], params, lr: float) -> torch.optim.Optimizer:
    """The configured optimizer; Adam and AdamW run their fused kernel unless the config picks an
    implementation (`fused`, `foreach`, `differentiable`) or the parameters' device has none.

    The fused kernel does one pass over every parameter instead of about ten small operations per
    parameter tensor; it is deterministic, and agrees with the default to rounding.
    """
    params = list(params)
    target = getattr(factory, "func", factory)
    chosen = set(getattr(factory, "keywords", None) or ()) & {"fused", "foreach", "differentiable"}
    if target in (torch.optim.Adam, torch.optim.AdamW) and not chosen:
        try:
            return factory(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel for these parameters
            pass
    return factory(params, lr=lr)


class QuietProfiler(L.pytorch.profilers.PassThroughProfiler):
    """Lightning's default no-op profiler, minus its cost: the Trainer enters `profile()` about twenty
    times a step, and the default builds a generator-based context manager each time."""

    _nothing = contextlib.nullcontext()

    def profile(self, action_name: str):
        return self._nothing


class StepIndices:
    """The 'data loader' Lightning iterates: batches themselves come from `BatchSource.batch(step)`."""

    def __iter__(self):
        step = 0
        while True:
            yield step
            step += 1


class CheckpointSaving(L.Callback):
    """Saves `last.ckpt` every `every` steps and at the end, with metrics flushed first."""

    def __init__(self, path, every: int = 0):
        self.path = str(path)
        self.every = every

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if self.every > 0 and step % self.every == 0 and step < trainer.max_steps:
            trainer.save_checkpoint(self.path, weights_only=False)

    def on_train_end(self, trainer, pl_module):
        trainer.save_checkpoint(self.path, weights_only=False)


def atomic_checkpoint_io():
    """Lightning's checkpoint IO, writing through a temporary file and a rename."""
    import io

    from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

    from ex_color.runs import atomic_write_bytes

    class AtomicCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint, path, storage_options=None):
            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            atomic_write_bytes(path, buffer.getvalue())

    return AtomicCheckpointIO()
