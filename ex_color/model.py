"""ColorMLP: the RGB -> RGB autoencoder with a small bottleneck (spec section 2)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


class Linear(nn.Linear):
    """`nn.Linear` that also runs S stacked layers at once: weight [S, out, in] and bias [S, out] applied to
    inputs [S, B, in], one product for all (seeds trained together, see `stack_models`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight.dim() == 2:
            return F.linear(x, self.weight, self.bias)
        return torch.baddbmm(self.bias.unsqueeze(-2), x, self.weight.mT)


class L2Normalize(nn.Module):
    """Scales each row to unit length (the explicit-normalisation variant's `bottleneck`)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z / z.norm(dim=-1, keepdim=True).clamp_min(self.eps)


class HookPoint(nn.Module):
    """Identity: a stable, meaningful name to hook (TransformerLens' HookPoint), whatever surrounds it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class ColorMLP(nn.Module):
    """RGB -> `bottleneck` dims -> RGB.

    encoder: Linear(3, hidden) -> GELU -> [Linear(hidden, hidden) -> GELU] x (N - 1) -> Linear(hidden, bottleneck)
    decoder: Linear(bottleneck, hidden) -> GELU -> [Linear(hidden, hidden) -> GELU] x (N - 1) -> Linear(hidden, 3)
             [-> Sigmoid]

    N = ``nonlinear_layers`` (1, the default, is the original model; 2 is experiments 2.9 - 2.10.1's "extra
    nonlinearity"). The latent is the output of the encoder's last Linear (`latent_producer`, ``encoder.2N``)
    and the input of the decoder's first (`latent_consumer`, ``decoder.0``): what weight surgery edits.

    With ``normalize=True`` (experiments 2.3 on) an L2-normalising module named ``bottleneck`` follows
    the encoder. ``sigmoid`` ends the decoder with a Sigmoid; None (the default) means "iff not
    normalize" (experiment 2.3's sigmoid variant has both). Outside training, outputs are clamped to
    [0, 1] (a no-op after a sigmoid).

    ``inputs`` is the width of the input and output (3: RGB; 64: the 8×8 digits of `data=digits`).

    ``latent`` is an identity module at the latent the concepts live in (after the normalisation when
    there is one): regularizers and interventions name it to act there whatever the variant.
    """

    def __init__(
        self,
        bottleneck: int = 4,
        hidden: int = 16,
        normalize: bool = False,
        sigmoid: bool | None = None,
        nonlinear_layers: int = 1,
        inputs: int = 3,
    ):
        super().__init__()
        if isinstance(nonlinear_layers, bool) or not isinstance(nonlinear_layers, int) or nonlinear_layers < 1:
            raise ValueError(f"nonlinear_layers must be an integer >= 1 (got {nonlinear_layers!r})")
        self.bottleneck_dim = bottleneck
        self.hidden = hidden
        self.normalize = normalize
        self.sigmoid = (not normalize) if sigmoid is None else sigmoid
        self.nonlinear_layers = nonlinear_layers
        self.inputs = inputs
        extra = [module for _ in range(nonlinear_layers - 1) for module in (Linear(hidden, hidden), nn.GELU())]
        self.encoder = nn.Sequential(Linear(inputs, hidden), nn.GELU(), *extra, Linear(hidden, bottleneck))
        if normalize:
            self.bottleneck = L2Normalize()
        extra = [module for _ in range(nonlinear_layers - 1) for module in (Linear(hidden, hidden), nn.GELU())]
        decoder = [Linear(bottleneck, hidden), nn.GELU(), *extra, Linear(hidden, inputs)]
        self.decoder = nn.Sequential(*decoder, *([nn.Sigmoid()] if self.sigmoid else []))
        self.latent = HookPoint()

    @property
    def latent_producer(self) -> str:
        """The name of the Linear whose output is the latent: the encoder's last Linear (``encoder.2N``)."""
        return latent_linears(self)[0]

    @property
    def latent_consumer(self) -> str:
        """The name of the Linear whose input is the latent: the decoder's first Linear (``decoder.0``)."""
        return latent_linears(self)[1]

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        z = self.encoder(rgb)
        if self.normalize:
            z = self.bottleneck(z)
        out = self.decoder(self.latent(z))
        if not self.training:
            out = out.clamp(0.0, 1.0)
        return out


def latent_linears(model: nn.Module) -> tuple[str, str]:
    """(producer, consumer): the names of the last Linear of `model.encoder` and the first of `model.decoder`
    (a pruned copy's narrower layers included); ValueError when the model has no such pair."""
    encoder, decoder = getattr(model, "encoder", None), getattr(model, "decoder", None)
    if not isinstance(encoder, nn.Sequential) or not isinstance(decoder, nn.Sequential):
        raise ValueError(f"{type(model).__name__} has no encoder and decoder to find the latent between")
    produced = [name for name, module in encoder.named_children() if isinstance(module, nn.Linear)]
    consumed = [name for name, module in decoder.named_children() if isinstance(module, nn.Linear)]
    if not produced or not consumed:
        raise ValueError(f"{type(model).__name__} has no Linear on both sides of its latent")
    return f"encoder.{produced[-1]}", f"decoder.{consumed[0]}"


def stack_models(models: Sequence[nn.Module]) -> nn.Module:
    """S models of one shape as one module whose parameters are stacked [S, ...] (`torch.func.stack_module_state`);
    its own forward then maps inputs [S, B, 3] to outputs [S, B, 3], member by member. One model is returned as it is."""
    if len(models) == 1:
        return models[0]
    stacked = copy.deepcopy(models[0])
    parameters, _ = torch.func.stack_module_state(list(models))
    for name, value in parameters.items():
        owner, _, attribute = name.rpartition(".")
        setattr(stacked.get_submodule(owner), attribute, nn.Parameter(value.detach().clone()))
    return stacked


def member_state(model: nn.Module, index: int, members: int) -> dict[str, torch.Tensor]:
    """Member `index`'s parameters (as a plain model's state dict, on the CPU) of a model from `stack_models`."""
    return {
        name: (value[index] if members > 1 else value).detach().cpu().clone()
        for name, value in model.state_dict().items()
    }
