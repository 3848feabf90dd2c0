"""Inference-time interventions on a layer's output (spec section 6), and latent weight surgery."""

from .concept import concept_vector
from .falloff import BoundedFalloff
from .hooks import Placement, capture, intervene, layer_names
from .mappers import BezierMapper, FastBezierMapper, LinearMapper, bezier_control_points
from .repulsion import Repulsion, fallback_direction
from .suppression import Suppression
from .surgery import ablate, prune

__all__ = [
    "BezierMapper",
    "BoundedFalloff",
    "FastBezierMapper",
    "LinearMapper",
    "Placement",
    "Repulsion",
    "Suppression",
    "ablate",
    "bezier_control_points",
    "capture",
    "concept_vector",
    "fallback_direction",
    "intervene",
    "layer_names",
    "prune",
]
