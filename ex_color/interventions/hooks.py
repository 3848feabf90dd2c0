"""Forward hooks that replace (``intervene``) or record (``capture``) named layers' outputs.

Layers are addressed by ``model.named_modules()`` paths (``encoder``, ``decoder.0``, ...). Hooks run in
registration order, each seeing the previous one's output, so stacked interventions compose in the order
given and a ``capture`` opened inside an ``intervene`` block records the intervened output. All hooks are
removed when the block exits, also when it exits through an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ex_color.errors import UserError

Transform = Callable[[Tensor], Tensor]


@dataclass(frozen=True, init=False)
class Placement:
    """An intervention ``fn`` (e.g. a Suppression) applied to the output of each layer in ``layers``."""

    fn: Transform
    layers: tuple[str, ...]

    def __init__(self, fn: Transform, layers: str | Sequence[str]):
        names = (layers,) if isinstance(layers, str) else tuple(layers)
        if not names:
            raise UserError("intervention: layers must name at least one layer")
        if not all(isinstance(name, str) for name in names):
            raise UserError(f"intervention: layers must be layer names (got {list(names)!r})")
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "layers", names)


def layer_names(model: nn.Module) -> list[str]:
    """Every addressable layer path of ``model`` (the root module itself excluded)."""
    return [name for name, _ in model.named_modules() if name]


def resolve_layers(model: nn.Module, names: Iterable[str]) -> list[nn.Module]:
    """The submodules for ``names``; UserError listing the valid names on the first unknown one."""
    modules = dict(model.named_modules())
    resolved = []
    for name in names:
        if not name or name not in modules:
            valid = ", ".join(layer_names(model))
            raise UserError(f"unknown layer {name!r}; valid layers: {valid}")
        resolved.append(modules[name])
    return resolved


def _as_placement(item: Placement | tuple[Transform, str | Sequence[str]]) -> Placement:
    if isinstance(item, Placement):
        return item
    try:
        fn, layers = item
    except (TypeError, ValueError):
        raise UserError(f"intervention: expected a (fn, layers) pair (got {item!r})") from None
    return Placement(fn, layers)


def _replacing_hook(fn: Transform, name: str) -> Callable[[nn.Module, object, object], Tensor]:
    def hook(_module: nn.Module, _inputs: object, output: object) -> Tensor:
        if not isinstance(output, Tensor):
            raise UserError(f"layer {name!r} does not output a single tensor; it cannot be intervened on")
        return fn(output)

    return hook


def _recording_hook(store: list[Tensor]) -> Callable[[nn.Module, object, object], None]:
    def hook(_module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, Tensor):
            store.append(output.detach().clone())

    return hook


@contextmanager
def _hooks_removed_on_exit(handles: list[RemovableHandle]) -> Iterator[None]:
    try:
        yield
    finally:
        for handle in reversed(handles):
            handle.remove()


@contextmanager
def intervene(
    model: nn.Module, interventions: Iterable[Placement | tuple[Transform, str | Sequence[str]]]
) -> Iterator[nn.Module]:
    """Within the block, each named layer's output is replaced by ``fn(output)``; yields ``model``.

    ``interventions`` holds ``Placement``s or ``(fn, layers)`` pairs, applied in order. Every layer name is
    checked before any hook is registered.
    """
    placements = [_as_placement(item) for item in interventions]
    targets = [(p, resolve_layers(model, p.layers)) for p in placements]
    handles: list[RemovableHandle] = []
    with _hooks_removed_on_exit(handles):
        for placement, modules in targets:
            for name, module in zip(placement.layers, modules):
                handles.append(module.register_forward_hook(_replacing_hook(placement.fn, name)))
        yield model


@contextmanager
def capture(model: nn.Module, layers: str | Sequence[str]) -> Iterator[dict[str, list[Tensor]]]:
    """Yields ``{layer: [output per forward call, ...]}`` (detached copies), filled as the model runs.

    Registered after any active interventions, so it records their (intervened) outputs.
    Join the calls of one layer with ``torch.cat(records[layer])``.
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = resolve_layers(model, names)
    records: dict[str, list[Tensor]] = {name: [] for name in names}
    handles: list[RemovableHandle] = []
    with _hooks_removed_on_exit(handles):
        for name, module in zip(names, modules):
            handles.append(module.register_forward_hook(_recording_hook(records[name])))
        yield records
