"""The registry of intervention kinds: one small typed class per kind, knowing its config keys, how it
applies itself to a model (forward hooks, or surgery on a copy), its record in metrics.json and its figure
annotations. Adding a kind is one class here (decorated with `@register`) and one
`configs/intervention/<name>.yaml`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from ex_color.errors import UserError

from .axis_suppression import AxisSuppression
from .concept import concept_vector
from .hooks import Placement
from .repulsion import Repulsion, fallback_direction
from .suppression import Suppression
from .surgery import ablate, latent_pair, prune

LATENT = "latent"
"""The model's identity hook point at the latent (after the normalisation when there is one)."""

KINDS: dict[str, type[Intervention]] = {}


def register(cls: type[Intervention]) -> type[Intervention]:
    KINDS[cls.name] = cls
    return cls


class ConeMark(NamedTuple):
    """Where an intervention acts, for the latent figures: a rim `half_angle` radians around `direction`."""

    direction: tuple[float, ...]
    half_angle: float
    style: str  # "dashed": where it starts acting; "solid": where its mapper ends
    label: str


@dataclass(frozen=True)
class BuildContext:
    """What a kind may need to build itself: the named concepts, the width of every layer and the model."""

    concepts: Mapping[str, Any]
    widths: Mapping[str, int]
    instantiate: Callable[[Any, str], Any]
    model: nn.Module | None = None


class Intervention(ABC):
    """One kind of intervention, built from `configs/intervention/<name>.yaml` (key `kind: <name>`)."""

    name: ClassVar[str]
    keys: ClassVar[tuple[str, ...]] = ()  # config keys besides `kind`

    @classmethod
    @abstractmethod
    def from_config(cls, spec: Mapping[str, Any], node: Any, context: BuildContext) -> Intervention:
        """`spec`: the config as plain containers, already checked for unknown keys; `node`: the same
        config node (for `_target_` instantiation)."""

    def applied_to(self, model: nn.Module) -> tuple[nn.Module, list[Placement]]:
        """(model to evaluate, hooks to hold while evaluating it); `model` itself is never modified."""
        return model, []

    @abstractmethod
    def record(self) -> dict[str, Any]:
        """Plain, JSON-ready settings (metrics.json's `intervention`), starting with `kind`."""

    @property
    def changes_model(self) -> bool:
        return True

    @property
    def concept(self) -> tuple[str, Tensor] | None:
        """(name, unit vector) of the concept it acts along, if it has one."""
        return None

    def cones(self) -> list[ConeMark]:
        return []

    def transform(self) -> Callable[[Tensor], Tensor] | None:
        """The row-wise map it applies to a layer's output (hook kinds), for the response figure."""
        return None


@register
class NoIntervention(Intervention):
    """The trained model as it is, evaluated the same way as the interventions."""

    name = "none"

    @classmethod
    def from_config(cls, spec, node, context):
        return cls()

    @property
    def changes_model(self) -> bool:
        return False

    def record(self):
        return {"kind": self.name}


def hooked_layers(spec: Mapping[str, Any], context: BuildContext) -> list[str]:
    """The layers a hook kind acts on (`layers`; default the latent), each checked to exist."""
    layers = spec.get("layers") or [LATENT]
    layers = [layers] if isinstance(layers, str) else list(layers)
    for layer in layers:
        if layer not in context.widths:
            raise UserError(f"intervention.layers: no layer named {layer!r}; layers: {', '.join(context.widths)}")
    return layers


def _rim(cosine: float) -> float:
    """The angle of a cone whose rim sits at alignment `cosine` (kept off the exact poles)."""
    return math.acos(max(-0.999, min(0.999, float(cosine))))


def _located(path: Any) -> Any:
    """The object a dotted `_target_` path names, or None (quietly: Hydra's own lookup logs its failures)."""
    from ex_color.config import importable

    if not isinstance(path, str) or not path:
        return None
    try:
        return importable(path)
    except ImportError:
        return None


class ConceptHook(Intervention):
    """A row-wise map of the named layers' outputs along a concept, held as forward hooks."""

    shaper_key: ClassVar[str]  # "falloff" or "mapper": the config key of the callable shaping it
    shipped_shapers: ClassVar[tuple[str, ...]]  # the `_target_`s ex-color ships for it
    keys = ("concept", "layers")

    def __init__(self, concept_name: str, vector: Tensor, layers: list[str], shaper: Any, params: dict[str, Any]):
        self.concept_name = concept_name
        self.vector = vector
        self.layers = layers
        self.shaper = shaper
        self.params = params
        self.fn = self.make_transform(vector, shaper)

    @staticmethod
    @abstractmethod
    def make_transform(vector: Tensor, shaper: Any) -> nn.Module: ...

    @classmethod
    def from_config(cls, spec, node, context):
        layers = hooked_layers(spec, context)
        name = spec.get("concept")
        if name not in context.concepts:
            known = ", ".join(context.concepts) or "none"
            raise UserError(f"intervention.concept: unknown concept {name!r}; concepts: {known}")
        vector = concept_vector(list(context.concepts[name]), context.widths[layers[0]], name)
        if not isinstance(spec.get(cls.shaper_key), Mapping):
            raise UserError(f"intervention.{cls.shaper_key}: required for {cls.name}")
        cls.check_shaper_target(spec[cls.shaper_key].get("_target_"))
        shaper = context.instantiate(node[cls.shaper_key], f"intervention.{cls.shaper_key}")
        params = {k: v for k, v in spec[cls.shaper_key].items() if k != "_target_"}
        return cls(name, vector, layers, shaper, params)

    @classmethod
    def check_shaper_target(cls, target: Any) -> None:
        """UserError naming `<shaper>._target_` and the shipped shapers unless `target` names a callable."""
        if not callable(_located(target)):
            raise UserError(
                f"intervention.{cls.shaper_key}._target_: {target!r} names no {cls.shaper_key}; "
                f"{cls.shaper_key}s: {', '.join(cls.shipped_shapers)} (or a class of your own)"
            )

    def applied_to(self, model):
        return model, [Placement(self.fn, self.layers)]

    @property
    def concept(self):
        return self.concept_name, self.vector

    def transform(self):
        return self.fn

    def record(self):
        return {
            "kind": self.name,
            "concept": self.concept_name,
            "concept_vector": self.vector.tolist(),
            "layers": list(self.layers),
            self.shaper_key: {"type": type(self.shaper).__name__, **self.params},
        }

    def starts_at(self) -> ConeMark:
        direction = tuple(self.vector.tolist())
        return ConeMark(direction, _rim(self.params.get("a", 0.0)), "dashed", "starts acting")


@register
class SuppressionKind(ConceptHook):
    """Suppression (spec §6): remove the concept component, gated by a falloff of the alignment."""

    name = "suppression"
    shaper_key = "falloff"
    shipped_shapers = ("ex_color.interventions.BoundedFalloff",)
    keys = (*ConceptHook.keys, "falloff")

    @staticmethod
    def make_transform(vector, shaper):
        return Suppression(vector, shaper)

    def cones(self):
        return [self.starts_at()]


@register
class RepulsionKind(ConceptHook):
    """Repulsion (spec §6): rotate rows towards the concept to a mapped alignment."""

    name = "repulsion"
    shaper_key = "mapper"
    shipped_shapers = (
        "ex_color.interventions.FastBezierMapper",
        "ex_color.interventions.BezierMapper",
        "ex_color.interventions.LinearMapper",
    )
    keys = (*ConceptHook.keys, "mapper")

    @staticmethod
    def make_transform(vector, shaper):
        return Repulsion(vector, shaper)

    def cones(self):
        direction = tuple(self.vector.tolist())
        return [self.starts_at(), ConeMark(direction, _rim(self.params["b"]), "solid", "mapper ends")]


def latent_dims(value: Any, width: int, key: str = "intervention.dims", whole: bool = True) -> list[int]:
    """`value` checked as distinct latent dimensions of a `width`-dim latent (sorted); UserError naming `key`.
    `whole`: naming every dimension is allowed (not for surgery, which would leave no latent)."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in value)
    ):
        raise UserError(f"{key}: a non-empty list of latent dimension indices (got {value!r})")
    outside = [d for d in value if not 0 <= d < width]
    if outside:
        raise UserError(f"{key}: dim {outside[0]} is outside the {width}-dim latent (dims 0..{width - 1})")
    if len(set(value)) != len(value):
        raise UserError(f"{key}: dims must not repeat (got {value!r})")
    if not whole and len(value) == width:
        raise UserError(f"{key}: {value!r} names all {width} latent dimensions; at least one must stay")
    return sorted(value)


class Surgery(Intervention):
    """Weight surgery on latent dimensions, on a deep copy of the model (spec §0.7). `producer`/`consumer`
    null (the default) take the model's own (`ColorMLP.latent_producer`/`latent_consumer`)."""

    keys = ("dims", "producer", "consumer")
    operation: ClassVar[Callable[..., nn.Module]]

    def __init__(self, dims: list[int], producer: str, consumer: str):
        self.dims = dims
        self.producer = producer
        self.consumer = consumer

    @classmethod
    def from_config(cls, spec, node, context):
        for key in ("producer", "consumer"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise UserError(
                    f"intervention.{key}: the name of a Linear layer, or null for the model's own (got {spec[key]!r})"
                )
        if context.model is None:
            raise UserError(f"intervention: {cls.name} needs the model to find its latent")
        try:
            producer, consumer = latent_pair(context.model, spec.get("producer"), spec.get("consumer"))
        except UserError as error:
            raise UserError(f"intervention.producer: {error}") from None
        modules = dict(context.model.named_modules())
        linears = [name for name, module in modules.items() if isinstance(module, nn.Linear)]
        for key, name in (("producer", producer), ("consumer", consumer)):
            if not isinstance(modules.get(name), nn.Linear):
                raise UserError(
                    f"intervention.{key}: {name!r} names no Linear layer; Linear layers: {', '.join(linears)}"
                )
        width = modules[producer].out_features
        if modules[consumer].in_features != width:
            raise UserError(
                f"intervention.consumer: {consumer!r} takes {modules[consumer].in_features} dims but the producer "
                f"{producer!r} outputs {width}"
            )
        return cls(latent_dims(spec.get("dims"), width, whole=False), producer, consumer)

    def applied_to(self, model):
        return type(self).operation(model, self.dims, producer=self.producer, consumer=self.consumer), []

    def record(self):
        return {"kind": self.name, "dims": list(self.dims), "producer": self.producer, "consumer": self.consumer}


@register
class AblationKind(Surgery):
    """Zero the latent dimensions' producer rows and consumer columns (shapes unchanged)."""

    name = "ablation"
    operation = staticmethod(ablate)


@register
class PruneKind(Surgery):
    """Remove the latent dimensions (the latent narrows)."""

    name = "prune"
    operation = staticmethod(prune)


@register
class AxisSuppressionKind(Intervention):
    """Zero chosen latent dimensions at the latent (after the normalisation), without renormalising (§0.6)."""

    name = "axis-suppression"
    keys = ("dims", "layers")

    def __init__(self, dims: list[int], layers: list[str]):
        self.dims = dims
        self.layers = layers
        self.fn = AxisSuppression(dims)

    @classmethod
    def from_config(cls, spec, node, context):
        layers = hooked_layers(spec, context)
        widths = {context.widths[layer] for layer in layers}
        if len(widths) > 1:
            raise UserError(f"intervention.layers: layers of different widths ({', '.join(layers)})")
        return cls(latent_dims(spec.get("dims"), widths.pop()), layers)

    def applied_to(self, model):
        return model, [Placement(self.fn, self.layers)]

    def record(self):
        return {"kind": self.name, "dims": list(self.dims), "layers": list(self.layers)}


def response_curve(fn: Callable[[Tensor], Tensor], concept: Tensor):
    """How a hook transform treats unit vectors, in the plane of the concept and a direction orthogonal
    to it: (alignment in [401], alignment out [401], the lobe traced by unit inputs [721, 2])."""
    perp = fallback_direction(concept)
    theta = torch.linspace(-math.pi, math.pi, 721)
    unit = torch.cos(theta)[:, None] * concept + torch.sin(theta)[:, None] * perp
    align_in = np.linspace(-1, 1, 401)
    sweep = torch.tensor(align_in, dtype=torch.float32)
    probe = sweep[:, None] * concept + torch.sqrt(1 - sweep**2)[:, None] * perp
    with torch.no_grad():
        out = fn(unit)
        align_out = (fn(probe) @ concept).numpy()
    lobe = torch.stack([out @ concept, out @ perp], dim=1).numpy()
    return align_in, align_out, lobe
