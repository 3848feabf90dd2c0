"""Concept vectors: the unit direction an intervention acts along (spec section 6).

``concept_vector`` validates user-supplied values against the layer width: fewer values extend with zeros
(red = (1, 0, 0, 0) is e_0 in a 5-dim latent too, as the terms' `for_width` extend their points), more
are an error. A non-unit vector is not an error: it is normalised and a warning is emitted through
``logging.getLogger(__name__)``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ex_color.errors import UserError

logger = logging.getLogger(__name__)

UNIT_TOLERANCE = 1e-6
"""A concept whose length differs from 1 by more than this is normalised with a warning."""


def concept_vector(values: Sequence[float] | Tensor, width: int, name: str) -> Tensor:
    """A float32 unit vector of length ``width`` from ``values`` (extended with zeros when shorter); UserError
    naming ``name`` if unusable."""
    try:
        vec = torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise UserError(f"concept {name!r}: values must be a list of numbers (got {values!r})") from None
    if vec.dim() != 1:
        raise UserError(f"concept {name!r}: values must be a flat list of numbers (got shape {list(vec.shape)})")
    if vec.numel() > width:
        raise UserError(f"concept {name!r} has {vec.numel()} values but the layer is {width} wide")
    vec = torch.cat([vec, vec.new_zeros(width - vec.numel())])
    if not bool(torch.isfinite(vec).all()):
        raise UserError(f"concept {name!r}: values must be finite (got {vec.tolist()})")
    norm = float(vec.norm())
    if norm == 0.0:
        raise UserError(f"concept {name!r} is the zero vector, which has no direction")
    if abs(norm - 1.0) > UNIT_TOLERANCE:
        logger.warning("concept %r has length %.6g; normalised to unit length", name, norm)
    return (vec / norm).to(torch.float32)


def unit_concept(concept: Tensor, owner: str) -> Tensor:
    """``concept`` as a detached 1-D unit tensor (normalised silently); UserError if it has no direction."""
    c = torch.as_tensor(concept).detach()
    if not c.is_floating_point():
        c = c.to(torch.get_default_dtype())
    if c.dim() != 1 or c.numel() == 0:
        raise UserError(f"{owner}: concept must be a 1-D vector (got shape {list(c.shape)})")
    norm = float(c.double().norm())
    if not math.isfinite(norm) or norm == 0.0:
        raise UserError(f"{owner}: concept must be finite and non-zero (got {c.tolist()})")
    return c / norm


def check_width(z: Tensor, c: Tensor, owner: str) -> None:
    """UserError if the layer output's last dimension does not match the concept."""
    if z.dim() == 0 or z.shape[-1] != c.numel():
        raise UserError(f"{owner}: concept has {c.numel()} dims but the layer output has shape {list(z.shape)}")
