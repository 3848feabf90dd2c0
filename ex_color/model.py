"""ColorMLP: the RGB -> RGB autoencoder with a small bottleneck (spec section 2)."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from ex_color.settings import read_settings, setting


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

    Stack-aware (`stack_aware`): its Linears are ex-color's and its forward works on any leading dims, so
    seeds trained together run its own forward on stacked parameters (`stack_models`).
    """

    stack_aware = True

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
        return encoder_decoder_linears(self)[0]

    @property
    def latent_consumer(self) -> str:
        """The name of the Linear whose input is the latent: the decoder's first Linear (``decoder.0``)."""
        return encoder_decoder_linears(self)[1]

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        z = self.encoder(rgb)
        if self.normalize:
            z = self.bottleneck(z)
        out = self.decoder(self.latent(z))
        if not self.training:
            out = out.clamp(0.0, 1.0)
        return out


@dataclass(frozen=True)
class ColorMLPSettings:
    """`cfg.model` of a ColorMLP: its keyword arguments, each checked (ex_color.settings)."""

    bottleneck: int = setting(4, least=1)
    hidden: int = setting(16, least=1)
    normalize: bool = False
    sigmoid: bool | None = None
    nonlinear_layers: int = setting(1, least=1, hint="the Linear + GELU pairs on each side")  # runs before it: 1
    inputs: int = setting(3, least=1, hint="the width of the input and output: 3 for RGB, 64 for digits")


def color_mlp_settings(settings: dict[str, Any], key: str = "model") -> dict[str, Any]:
    """ColorMLP's keyword arguments from its config keys, checked; UserError naming `key`.<name> otherwise.
    `sigmoid` null is resolved (iff not normalised), so that the checkpoint says which."""
    checked = read_settings(ColorMLPSettings, settings, key)
    sigmoid = (not checked.normalize) if checked.sigmoid is None else checked.sigmoid
    return {**asdict(checked), "sigmoid": sigmoid}


def encoder_decoder_linears(model: nn.Module) -> tuple[str, str]:
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
    """S models of one shape as one module whose parameters (and buffers) are stacked [S, ...]
    (`torch.func.stack_module_state`), keeping their names; it maps inputs [S, B, 3] to outputs [S, B, 3],
    member by member. A stack-aware model (`stack_aware = True`, as ColorMLP: ex-color's `Linear` and
    elementwise modules, its forward written for any leading dims) runs its own forward on the stack, one
    batched product per layer; any other model runs through `torch.func.functional_call` under `torch.vmap`
    (PyTorch's model-ensembling recipe), its forward hooks seeing the members' outputs stacked. One model is
    returned as it is."""
    if len(models) == 1:
        return models[0]
    stacked = copy.deepcopy(models[0])
    parameters, buffers = torch.func.stack_module_state(list(models))
    for name, value in parameters.items():
        owner, _, attribute = name.rpartition(".")
        setattr(stacked.get_submodule(owner), attribute, nn.Parameter(value.detach().clone()))
    if getattr(stacked, "stack_aware", False):
        return stacked
    for name, value in buffers.items():
        owner, _, attribute = name.rpartition(".")
        setattr(stacked.get_submodule(owner), attribute, value.detach().clone())
    stacked.__class__ = _vmapped_class(type(models[0]))
    return stacked


_VMAPPED: dict[type, type] = {}


def _vmapped_class(cls: type) -> type:
    """`cls` with a forward that runs each member's slice of the stacked parameters through `cls.forward`."""
    if cls not in _VMAPPED:
        _VMAPPED[cls] = type(cls.__name__, (cls,), {"forward": _vmapped_forward, "__module__": cls.__module__})
    return _VMAPPED[cls]


def _vmapped_forward(self: nn.Module, rgb: torch.Tensor) -> torch.Tensor:
    """The members' outputs [S, B, ...] for inputs [S, B, 3]. Inside `torch.vmap` the modules' hooks are held
    back (they would see one member's tensors, which must not leave vmap); the outputs of every hooked
    submodule are returned from vmap instead and given to its forward hooks, stacked."""
    own = type(self).__mro__[1]
    modules = dict(self.named_modules())
    hooked = [name for name, module in modules.items() if name and module._forward_hooks]
    held = {name: (module._forward_hooks, module._forward_pre_hooks) for name, module in modules.items()}
    captured: dict[str, torch.Tensor] = {}

    def member(parameters, buffers, x):
        output = functional_call(self, (parameters, buffers), (x,))
        return output, tuple(captured.pop(name) for name in hooked)

    for name, module in modules.items():
        module._forward_hooks, module._forward_pre_hooks = OrderedDict(), OrderedDict()
        if name in hooked:
            module.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o))
    self.__class__ = own  # functional_call calls the model: its own forward, for one member
    try:
        output, layers = torch.vmap(member, randomness="different")(
            dict(self.named_parameters()), dict(self.named_buffers()), rgb
        )
    finally:
        self.__class__ = _vmapped_class(own)
        for name, module in modules.items():
            module._forward_hooks, module._forward_pre_hooks = held[name]
    for name, value in zip(hooked, layers):
        module = modules[name]
        for hook in list(module._forward_hooks.values()):
            hook(module, (), value)
    return output


def member_state(model: nn.Module, index: int, members: int) -> dict[str, torch.Tensor]:
    """Member `index`'s parameters (as a plain model's state dict, on the CPU) of a model from `stack_models`."""
    return {
        name: (value[index] if members > 1 else value).detach().cpu().clone()
        for name, value in model.state_dict().items()
    }
