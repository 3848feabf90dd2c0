"""The training loop: one step function for S ≥ 1 members, a single run (S = 1) or seeds trained together.

Each step: look up the schedule (learning rate, which regularizers are active and their weights), run
the model (forward hooks capture the regularized layers), compute each member's reconstruction loss and
regularizers and its weighted total, back-propagate the members' sum (their gradients stay apart),
step the optimizer, and record one metrics row per member. Rows stay on the device and reach the
caller every `log_every` steps, where each member's are checked for non-finite values. The rows also
carry each member's label counts so far, counted on the host from the blocks of labels as they are made.

Seeds trained together are one model whose parameters are stacked [S, ...] (`model.stack_models`) run
on stacked batches [S, B, 3]; regularizer terms see each member's batch alone (`torch.vmap`). The
optimizer must be elementwise, so stacking cannot mix members. A member of an ensemble agrees with its
single run to rounding; with S = 1 the loop is exactly the single run.

Lightning Fabric supplies the device, precision (the weights' dtype for *-true, autocast for *-mixed) and
backward; the loop is ours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from torch import nn

from ex_color.data.sampling import BatchSource
from ex_color.losses import RegularizerSet
from ex_color.training.checkpoints import MemberCheckpoints
from ex_color.training.optimizers import check_elementwise, make_optimizer
from ex_color.training.rows import MetricRows, label_counts
from ex_color.training.routing import Router
from ex_color.training.validation import ValidationPass

log = logging.getLogger(__name__)


def schedule_weights(timeline, names: Sequence[str]) -> np.ndarray:
    """[length, n_terms] weight table; a term with no dopesheet column runs at weight 1.0."""
    columns = [timeline.values[name] if name in timeline.values else np.ones(timeline.length) for name in names]
    return np.stack(columns, axis=1) if columns else np.zeros((timeline.length, 0))


class TrainLoop(MemberCheckpoints):
    """Trains `model` (S members: a plain model for S = 1, else one from `stack_models`) through the
    timeline; `sources` holds each member's batch stream (all of one data config, so that their blocks
    have the same shapes). With a `validation` set, every `validation.every` steps it also measures
    val/recon and val/<name> of each regularizer flagged `validate` (`validate`). With `history`
    (HistorySettings with snapshots), it records the latents of its colour set at the planned steps. With
    `routing` (RoutingSettings), the training forward pass routes gradients by the batch's labels."""

    def __init__(
        self,
        model: nn.Module,
        regularizers: RegularizerSet,
        timeline,
        sources: Sequence[BatchSource],
        optimizer: Callable[..., torch.optim.Optimizer],
        fabric,
        log_every: int = 100,
        validation=None,
        history=None,
        routing=None,
    ):
        self.members = len(sources)
        if self.members > 1:
            check_elementwise(optimizer)
        self.fabric = fabric
        self.device = fabric.device
        # A *-true precision trains (and saves) the weights in its dtype; inputs follow (`self.dtype`).
        self.model = fabric.strategy.precision.convert_module(model).to(self.device).train()
        self.dtype = next(self.model.parameters()).dtype
        self.regularizers = regularizers
        self.timeline = timeline
        self.sources = list(sources)
        self._locate = self.sources[0].locate
        self.log_every = max(1, int(log_every))
        self.length = timeline.length
        self.lr = [float(v) for v in np.asarray(timeline.values["lr"], dtype=np.float64)]
        self.weights = schedule_weights(timeline, regularizers.names)
        self.active = self.weights != 0
        if self.active.shape[1]:
            patterns, pattern_at = np.unique(self.active, axis=0, return_inverse=True)
        else:
            patterns, pattern_at = np.zeros((1, 0), dtype=bool), np.zeros(self.length, dtype=np.int64)
        self.pattern_at = np.asarray(pattern_at).reshape(-1).tolist()  # which regularizers are active changes rarely
        self.patterns = [regularizers.active_indices(row) for row in patterns]
        self.tables = [
            torch.tensor(self.weights[:, list(p)], dtype=torch.float32, device=self.device) for p in self.patterns
        ]
        self.metric_names = ("train/loss", "train/recon", *(f"train/{name}" for name in regularizers.names))
        self.count_names = (
            *(f"labels/n/{name}" for name in self.sources[0].label_names),
            "labels/n/_any",
            "labels/n_total",
        )
        self.metric_names += self.count_names
        self.validation = None
        if validation is not None and validation.every > 0:
            self.validation = ValidationPass(validation, regularizers, self.members, self.device, self.dtype)
            self.metric_names += self.validation.names
        self.history = None  # a history.LatentRecorder: the latents of a colour set at its planned steps
        if history is not None and history.enabled:
            from ex_color.training.recorder import LatentRecorder

            self.history = LatentRecorder(history, self.length, self.members, self.device, self.dtype)
        self.optimizer = make_optimizer(optimizer, self.model.parameters(), lr=self.lr[0])
        # Fabric's wrapper steps through the precision plugin (a gradient scaler, for 16-bit); the state lives
        # in the optimizer itself, which is what checkpoints save and load.
        self._stepper = fabric.setup_optimizers(self.optimizer)
        self._parameters = list(self.model.parameters())
        self._groups = self.optimizer.param_groups
        self._phase_starts: dict[int, list[str]] = {}
        for phase_step, phase in timeline.phases:
            self._phase_starts.setdefault(phase_step, []).append(phase)
        self._activations: dict[str, torch.Tensor] = {}
        modules = dict(self.model.named_modules())
        self._hooks = [modules[layer].register_forward_hook(self._capture(layer)) for layer in regularizers.layers]
        # Gradient routing (training/routing.py): its hook after the captures, which so see the raw code.
        self.router = None if routing is None else Router(routing, self.model, self.sources[0].label_names)
        self._routed = nullcontext if self.router is None else self.router.routed
        self._block_key: tuple | None = None
        self.rows = MetricRows(
            self.members,
            len(regularizers.names),
            len(self.count_names),
            len(self.metric_names),
            self.patterns,
            self.device,
        )
        self.step = 0  # steps done

    def _capture(self, layer: str):
        def hook(module, inputs, output):
            self._activations[layer] = output

        return hook

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        if self.router is not None:
            self.router.close()

    # -- one step -----------------------------------------------------------------------------
    def _block(self, block_key, pattern: int):
        """A block of every member's batches on the device ([block_steps, (S,) B, ...]; the sources' block
        `block_key`) and the label weights of the regularizers active in `pattern`."""
        key = (block_key, pattern)
        if key != self._block_key:
            rgb, labels = self._host_block(block_key)
            self._block_counts = label_counts(labels, self.members)
            rgb, labels = rgb.to(self.device, self.dtype), labels.to(self.device)
            active = self.patterns[pattern]
            weights = self.regularizers.sample_weights(labels, active) if active else None
            self._block_data = (rgb, labels, weights)
            self._block_key = key
        return self._block_data

    def _host_block(self, block_key) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's block `block_key` as the sources make it (on the host), stacked on dim 1 for S > 1."""
        blocks = [source.block(block_key) for source in self.sources]
        if self.members == 1:
            return blocks[0]
        return torch.stack([rgb for rgb, _ in blocks], dim=1), torch.stack([labels for _, labels in blocks], dim=1)

    def recount_labels(self, steps: int) -> torch.Tensor:
        """The label counts [S, n_counts] of steps 0 … steps − 1, from their batches regenerated (batches are
        a pure function of seed and step), as a resumed run needs them."""
        rows_of: dict[Any, list[int]] = {}
        for step in range(steps):
            block_key, offset = self._locate(step)
            rows_of.setdefault(block_key, []).append(offset)
        total = torch.zeros(self.members, len(self.count_names), dtype=torch.int64)
        for block_key, rows in rows_of.items():
            total += label_counts(self._host_block(block_key)[1], self.members)[rows].sum(0)
        return total

    def train_step(self) -> None:
        """Step `self.step` of the timeline, for every member."""
        step = self.step
        at = step if step < self.length else self.length - 1
        for phase in self._phase_starts.get(step, ()):
            log.info("step %d: starting phase %s", step, phase)
        pattern = self.pattern_at[at]
        active = self.patterns[pattern]
        block_key, offset = self._locate(step)
        rgb, labels, weights = self._block(block_key, pattern)
        rgb, labels = rgb[offset], labels[offset]
        for group in self._groups:
            group["lr"] = self.lr[at]

        with self.fabric.autocast():
            with self._routed(labels):
                output = self.model(rgb)
            recon = (output - rgb).square().mean((-2, -1))  # per member
            if active:
                values = self.regularizers.evaluate(
                    self._activations, labels, active, weights[offset], stacked=self.members > 1
                )
                loss = recon + (values * self.tables[pattern][at]).sum(-1)
                parts = (loss.unsqueeze(-1), recon.unsqueeze(-1), values)
            else:
                loss = recon
                parts = (loss.unsqueeze(-1), recon.unsqueeze(-1))
        for parameter in self._parameters:
            parameter.grad = None
        self.fabric.backward(loss.sum())
        self._stepper.step()
        rows = torch.cat(parts, dim=-1).detach().reshape(self.members, -1).float()  # a no-op at 32-true
        self.rows.add(pattern, rows, self._block_counts[offset])
        if step in self.timeline.events:
            log.info("step %d: %s", step, ", ".join(self.timeline.events[step]))
        self.step = step + 1

    def validate(self) -> None:
        """Measure the validation set with the weights after `self.step` steps; the values join the
        metrics row of the last step trained."""
        self.model.eval()
        try:
            with torch.no_grad(), self.fabric.autocast():
                output = self.model(self.validation.rgb)
                values = self.validation.measure(output, self._activations)
        finally:
            self.model.train()
        self.rows.add_validation(self.step - 1, values.float())

    def take_rows(self) -> tuple[int, np.ndarray]:
        """(first step, [steps, S, len(metric_names)]) of the steps recorded and not yet taken (`MetricRows.take`)."""
        return self.rows.take(self.step)

    def run(
        self,
        on_rows: Callable[[int, np.ndarray], None],
        on_checkpoint: Callable[[], None],
        checkpoint_every: int = 0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> bool:
        """Train from `self.step` to the end; `on_rows(first_step, rows)` gets the metrics every `log_every`
        steps, `on_checkpoint()` is called (after the rows) every `checkpoint_every` steps, at the end, and
        when `should_stop()` says so between steps. Returns True when it trained to the end."""
        every = self.validation.every if self.validation is not None else 0
        history = self.history
        snapshot = history.next_step if history is not None else -1  # planned: one comparison per step
        if snapshot == self.step:  # the initial weights (or a resumed run's first step, if not yet taken)
            history.capture(self.model, self.step)
            snapshot = history.next_step
        while self.step < self.length:
            self.train_step()
            done = self.step
            if done == snapshot:
                history.capture(self.model, done)
                snapshot = history.next_step
            if every and done % every == 0:
                self.validate()
            at_checkpoint = checkpoint_every > 0 and done % checkpoint_every == 0
            stopping = should_stop()
            if len(self.rows) >= self.log_every or done == self.length or at_checkpoint or stopping:
                on_rows(*self.take_rows())
            if stopping and done < self.length:
                on_checkpoint()
                return False
            if at_checkpoint or done == self.length:
                on_checkpoint()
        return True
