"""The model contract: what any model ex-color trains, intervenes on and evaluates must offer, checked when
the model is built; and the model's spec (`_target_` and its keys), from config or from a checkpoint.

A model is any `torch.nn.Module` that `model._target_` names, built with the config's other keys as its
keyword arguments (`ex_color.model.ColorMLP` is one). It must offer:

1. **`latent`**: a submodule at the layer the concepts live in (an identity is enough: `nn.Identity()` or
   `ex_color.model.HookPoint()`, the latent passed through it in `forward`). Its output [B, n] is what a
   regularizer on layer `latent` sees, what hook interventions edit, and what the latent figures and the
   history draw.
2. **The Linear producing the latent and the Linear consuming it** (what weight surgery edits: ablation,
   prune): declared as the model's `latent_producer` and `latent_consumer` (names of `nn.Linear`
   submodules), or found by one forward pass: the last `nn.Linear` to run before `latent`, the first to
   run after it. The producer's outputs are the consumer's inputs.
3. **Inputs and outputs in the data's space**: RGB [B, 3] in, RGB [B, 3] out (the reconstruction loss
   compares them; evaluation clamps nothing for you, so return [0, 1] outside training if you can).

`check_contract` runs the model once on two colours and raises UserError naming what is missing.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ex_color.errors import UserError
from ex_color.model import ColorMLP, ColorMLPSettings, color_mlp_settings, stack_models

COLOR_MLP = "ex_color.model.ColorMLP"
COLOR_MLP_KEYS = tuple(field.name for field in dataclasses.fields(ColorMLPSettings))
DOCS = "docs/your-own-model.md"


@dataclass(frozen=True)
class ModelSpec:
    """A model's `_target_` and keyword arguments: what the config says, and what a checkpoint saves so
    that `intervene`, `infer`, `plot` and `report` rebuild the same model."""

    target: str = COLOR_MLP
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.target.rpartition(".")[2]

    def saved(self) -> dict[str, Any]:
        return {"_target_": self.target, **self.kwargs}

    def build(self, key: str = "model") -> nn.Module:
        """The model (not yet checked against the contract); UserError naming `key` if it cannot be built."""
        if self.target == COLOR_MLP:
            return ColorMLP(**self.kwargs)
        from hydra.utils import instantiate

        model_class(self.target, key)
        try:
            model = instantiate({"_target_": self.target, **self.kwargs}, _convert_="all")
        except Exception as error:  # Hydra wraps the constructor's own error; name the model and the cause
            cause = error.__cause__ or error
            text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
            raise UserError(f"{key}: cannot build {self.name}: {text}") from None
        if not isinstance(model, nn.Module):
            raise UserError(f"{key}._target_: {self.target} made a {type(model).__name__}, not a torch.nn.Module")
        return model


def model_class(target: str, key: str = "model") -> type:
    """The class `target` names (`package.module.Class`), imported; UserError naming `key` otherwise."""
    parts = target.split(".")
    found: Any = None
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name is None or not module.startswith(error.name):
                raise UserError(f"{key}._target_: importing {module} failed: {error}") from None
            continue
        except Exception as error:  # the researcher's module itself raised
            raise UserError(f"{key}._target_: importing {module} failed: {type(error).__name__}: {error}") from None
        for attribute in parts[cut:]:
            found = getattr(found, attribute, None)
        break
    if found is None:
        raise UserError(
            f"{key}._target_: cannot import {target!r} (a module on the Python path or in the directory you run "
            "excolor from, e.g. my_model.MyAutoencoder)"
        )
    if not (isinstance(found, type) and issubclass(found, nn.Module)):
        raise UserError(f"{key}._target_: {target} is not a torch.nn.Module class")
    return found


def model_spec(cfg_model: Mapping | None, key: str = "model") -> ModelSpec:
    """The spec of `cfg.model` (or of a checkpoint's saved model), its keys checked: ColorMLP's by their
    types and ranges; another model's against its constructor's parameters. No `_target_` means ColorMLP
    (runs made before own models existed)."""
    from omegaconf import OmegaConf

    settings = OmegaConf.to_container(cfg_model, resolve=True) if OmegaConf.is_config(cfg_model) else cfg_model
    settings = dict(settings or {})
    target = settings.pop("_target_", None) or COLOR_MLP
    if not isinstance(target, str):
        raise UserError(f"{key}._target_: the dotted name of a torch.nn.Module class (got {target!r})")
    if target == COLOR_MLP:
        return ModelSpec(COLOR_MLP, color_mlp_settings(settings, key))
    parameters = inspect.signature(model_class(target, key)).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        accepted = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for name in settings:
            if name not in accepted:
                known = ", ".join(accepted) or "none"
                hint = " (ColorMLP's keys stay unless '~model' drops them first)" if name in COLOR_MLP_KEYS else ""
                raise UserError(f"{key}.{name}: unknown key for {target}; known keys: {known}{hint}")
    return ModelSpec(target, settings)


def build_checked(cfg_model: Mapping | None, key: str = "model") -> nn.Module:
    """The model `cfg.model` describes, checked against the contract."""
    model = model_spec(cfg_model, key).build(key)
    check_contract(model, key)
    return model


def input_width(model: nn.Module) -> int:
    """The width of the data a model takes and returns: its `inputs` (64 for the digits' ColorMLP), else 3 (RGB)."""
    width = getattr(model, "inputs", 3)
    return width if isinstance(width, int) and not isinstance(width, bool) and width > 0 else 3


def _probe(model: nn.Module) -> tuple[torch.Tensor, list[str]]:
    """(the output on two colours, the names of the Linears and `latent` in the order they ran)."""
    order: list[str] = []
    watched = {name: m for name, m in model.named_modules() if name == "latent" or isinstance(m, nn.Linear)}
    hooks = [m.register_forward_hook(lambda *_, name=name: order.append(name)) for name, m in watched.items()]
    rgb = torch.tensor([[0.9, 0.1, 0.1], [0.2, 0.6, 0.8]])
    if input_width(model) != 3:
        rgb = torch.rand(2, input_width(model), generator=torch.Generator().manual_seed(0))
    parameter = next(model.parameters(), None)
    if parameter is not None:
        rgb = rgb.to(parameter.device, parameter.dtype)
    training = model.training
    try:
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            output = model(rgb)
    finally:
        model.train(training)
        for hook in hooks:
            hook.remove()
    return output, order


def latent_linears(model: nn.Module) -> tuple[str, str]:
    """(producer, consumer): the names of the Linears on each side of the model's latent, as the model declares
    them (`latent_producer`, `latent_consumer`; ColorMLP: `encoder.2N`, `decoder.0`) or else as one forward
    pass finds them (`traced_latent_linears`); ValueError when there is no such pair."""
    declared = getattr(model, "latent_producer", None), getattr(model, "latent_consumer", None)
    if all(isinstance(name, str) for name in declared):
        return declared
    return traced_latent_linears(model)


def traced_latent_linears(model: nn.Module) -> tuple[str, str]:
    """(producer, consumer) found by one forward pass: the last `nn.Linear` to run before `latent`, the first
    after it; ValueError when there is no such pair."""
    _, order = _probe(model)
    if "latent" not in order:
        raise ValueError(f"{type(model).__name__} never runs its `latent` module")
    at = order.index("latent")
    before, after = order[:at], [name for name in order[at + 1 :] if name != "latent"]
    if not before or not after:
        raise ValueError(
            f"{type(model).__name__} has no Linear {'before' if not before else 'after'} its latent; "
            "declare latent_producer and latent_consumer"
        )
    return before[-1], after[0]


def check_contract(model: nn.Module, key: str = "model") -> None:
    """UserError, in one line naming what is missing, unless `model` meets the contract (module docstring)."""
    name = type(model).__name__
    modules = dict(model.named_modules())
    if "latent" not in modules:
        raise UserError(
            f"{key}: {name} has no `latent` module (the layer the concepts live in: add self.latent = nn.Identity() "
            f"and pass the latent through it; {DOCS})"
        )
    width = input_width(model)
    try:
        output, order = _probe(model)
    except Exception as error:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{key}: {name} fails on RGB colours [2, {width}]: {text}") from None
    if not isinstance(output, torch.Tensor) or tuple(output.shape) != (2, width):
        got = list(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise UserError(
            f"{key}: {name} maps RGB [2, {width}] to {got}; it must return RGB [B, {width}] (the data's space)"
        )
    if "latent" not in order:
        raise UserError(f"{key}: {name} never runs its `latent` module in forward; pass the latent through it")
    try:
        producer, consumer = latent_linears(model)
    except ValueError as error:
        raise UserError(f"{key}: {error} ({DOCS})") from None
    for role, layer in (("latent_producer", producer), ("latent_consumer", consumer)):
        if not isinstance(modules.get(layer), nn.Linear):
            raise UserError(f"{key}: {name}.{role} {layer!r} names no nn.Linear submodule")
    if modules[producer].out_features != modules[consumer].in_features:
        raise UserError(
            f"{key}: {name}'s latent producer {producer!r} outputs {modules[producer].out_features} dims but its "
            f"consumer {consumer!r} takes {modules[consumer].in_features}"
        )


def check_stacking(cfg_model: Mapping | None, key: str = "model") -> None:
    """UserError, in one line, unless two members of the model stacked (`model.stack_models`, as `--seeds`
    trains them) map RGB [2, B, 3] to [2, B, 3]."""
    spec = model_spec(cfg_model, key)
    with torch.random.fork_rng(devices=[]):
        members = [spec.build(key), spec.build(key)]
        stacked = stack_models(members)
    width = input_width(members[0])
    try:
        with torch.no_grad():
            output = stacked(torch.rand(2, 2, width, generator=torch.Generator().manual_seed(0)))
    except Exception as error:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        # PyTorch's advice for errors inside its own internals: here the code at fault is the model's
        text = text.split(" If error is occurring somewhere inside PyTorch internals")[0]
        raise UserError(f"{key}: {spec.name} cannot train seeds together (stacked under torch.vmap): {text}") from None
    if not isinstance(output, torch.Tensor) or tuple(output.shape) != (2, 2, width):
        raise UserError(f"{key}: {spec.name} stacked maps RGB [2, 2, {width}] to {getattr(output, 'shape', output)}")
