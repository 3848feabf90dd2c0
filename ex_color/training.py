"""The LightningModule: wires model, objective, regularizers and schedule; nothing else.

Batches are a pure function of the optimiser step (see `BatchSource`), so the module draws its own
batch from the step it is at; that keeps resumed runs on exactly the same random stream.
Per-step metrics go into a small on-device buffer and reach the loggers every `log_every` steps, so
the hot loop never waits on the host.
"""

from __future__ import annotations

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


class ColorTrainer(L.LightningModule):
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
        self._buffer: torch.Tensor | None = None
        self._buffer_start = 0
        self._capture_layers()

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
        return self.optimizer_factory(self.model.parameters(), lr=float(self.lr[0]))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.model(rgb)

    def training_step(self, batch, batch_idx):
        step = self.global_step
        at = min(step, self.timeline.length - 1)
        rgb, labels = self.batches.batch(step)
        rgb, labels = rgb.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)
        for group in self.trainer.optimizers[0].param_groups:
            group["lr"] = float(self.lr[at])

        output = self.model(rgb)
        recon = F.mse_loss(output, rgb)
        active = self.active[at]
        terms = self.regularizers(self._activations, labels, active)
        loss = recon
        for index, name in enumerate(self.regularizers.names):
            if active[index]:
                loss = loss + self.weights[at, index] * terms[name]

        nan = recon.new_tensor(float("nan"))
        row = torch.stack([loss.detach(), recon.detach(), *(terms[n].detach() if n in terms else nan for n in self.regularizers.names)])
        self._record(step, row)
        if step in self.timeline.events:
            log.info("step %d: %s", step, ", ".join(self.timeline.events[step]))
        return loss

    def on_train_batch_start(self, batch, batch_idx):
        step = self.global_step
        for phase_step, phase in self.timeline.phases:
            if phase_step == step:
                log.info("step %d: starting phase %s", step, phase)

    # -- metrics -------------------------------------------------------------------------------
    def _record(self, step: int, row: torch.Tensor) -> None:
        if self._buffer is None or self._buffer.device != row.device:
            self._buffer = torch.full((self.log_every, row.numel()), float("nan"), device=row.device)
            self._buffer_start = step
        self._buffer[step - self._buffer_start] = row
        if step - self._buffer_start + 1 == self.log_every or step + 1 >= self.timeline.length:
            self.flush_metrics(step)

    def flush_metrics(self, last_step: int) -> None:
        """Send buffered rows to the loggers; stop if any computed term went non-finite."""
        if self._buffer is None or last_step < self._buffer_start:
            return
        n = last_step - self._buffer_start + 1
        values = self._buffer[:n].cpu().numpy()
        first = self._buffer_start
        self._buffer_start = last_step + 1
        self._check_finite(first, values)
        lr = self.lr
        for offset, row in enumerate(values):
            step = first + offset
            metrics = {name: float(v) for name, v in zip(self.metric_names, row) if not np.isnan(v)}
            metrics["train/lr"] = float(lr[min(step, len(lr) - 1)])
            for logger in self.loggers:
                logger.log_metrics(metrics, step=step)
        for logger in self.loggers:
            logger.save()

    def _check_finite(self, first: int, values: np.ndarray) -> None:
        computed = np.ones_like(values, dtype=bool)
        steps = np.minimum(np.arange(first, first + len(values)), self.timeline.length - 1)
        computed[:, 2:] = self.active[steps]
        bad = computed & ~np.isfinite(values)
        if not bad.any():
            return
        row, col = np.argwhere(bad)[0]
        step = first + int(row)
        if col >= 2:
            reg = self.regularizers.regularizers[col - 2]
            what = f"regularizer {reg.name!r} on layer {', '.join(reg.layers)}"
        elif col == 1:
            what = "the reconstruction loss"
        else:
            what = "the total loss"
        raise RunFailed(f"{what} became non-finite at step {step}; stopped (the last good checkpoint is kept)")

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
