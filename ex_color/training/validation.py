"""Validation during training: the validation set on the device, measured for S ≥ 1 members at once
(`loop.TrainLoop` calls it at its cadence)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import torch

from ex_color.losses import RegularizerSet

log = logging.getLogger(__name__)


class ValidationPass:
    """The validation set on the device, batched once: val/recon (the MSE over the whole set, which is the
    mean of the batch MSEs weighted by batch size) and, per regularizer flagged `validate`, its
    label-weighted value per batch, averaged over the batches weighted by batch size (spec §0.5).
    The model runs on the whole set in one pass (it treats samples independently); the terms see one
    batch at a time, all batches at once through `torch.vmap`."""

    def __init__(self, validation, regularizers: RegularizerSet, members: int, device: torch.device, dtype=None):
        self.every = int(validation.every)
        self.members = members
        # A term of labels the set does not carry is skipped (spec §Q2), as a batch without its label key is.
        self.indices = tuple(
            index
            for index in regularizers.validated
            if regularizers.regularizers[index].labels is None
            or set(regularizers.regularizers[index].labels) & set(validation.carried)
        )
        for index in sorted(set(regularizers.validated) - set(self.indices)):
            log.info(
                "validation carries no label of regularizer %r (only %s): it is not validated",
                regularizers.names[index],
                ", ".join(validation.carried) or "none",
            )
        self.names = ("val/recon", *(f"val/{regularizers.names[index]}" for index in self.indices))
        rgb = validation.rgb.to(device, dtype)  # dtype: the weights' (trainer.precision)
        self.rgb = rgb if members == 1 else rgb.expand(members, *rgb.shape)
        self.count = len(rgb)
        size = min(validation.batch_size, self.count)
        self.full_batches, self.short = divmod(self.count, size)
        self.batch_size = size
        self.pattern = regularizers.pattern(self.indices) if self.indices else None
        if self.pattern is not None:
            labels = validation.labels.to(device)
            cut = self.full_batches * size
            self.full_weights = self.pattern.sample_weights(labels[:cut].reshape(self.full_batches, size, -1))
            self.short_weights = self.pattern.sample_weights(labels[cut:].unsqueeze(0)) if self.short else None
            if members > 1:  # one row of batches per member: [S · batches, B, C]
                self.full_weights = self.full_weights.repeat(members, 1, 1)
                if self.short_weights is not None:
                    self.short_weights = self.short_weights.repeat(members, 1, 1)

    def measure(self, output: torch.Tensor, activations: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """[S, 1 + n_validated] from the model's output on the set and its captured layers."""
        recon = (output - self.rgb).square().mean((-2, -1)).reshape(self.members, 1)
        if self.pattern is None:
            return recon
        cut = self.full_batches * self.batch_size
        zs = [activations[layer].reshape(self.members, self.count, -1) for layer in self.pattern.layers]
        full = [z[:, :cut].reshape(self.members * self.full_batches, self.batch_size, -1) for z in zs]
        total = self.pattern(dict(zip(self.pattern.layers, full)), self.full_weights, stacked=True)
        total = total.reshape(self.members, self.full_batches, -1).sum(1) * self.batch_size
        if self.short:
            short = [z[:, cut:] for z in zs]
            total = (
                total
                + self.pattern(dict(zip(self.pattern.layers, short)), self.short_weights, stacked=True) * self.short
            )
        return torch.cat([recon, total / self.count], dim=-1)
