"""InterventionRecord: a plain, JSON-ready description of an intervention, saved beside results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ex_color.errors import UserError


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class InterventionRecord:
    """What was applied where: ``kind`` (e.g. "suppression"), the layer paths, and its parameters."""

    kind: str
    layers: list[str]
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tensors and tuples become lists), suitable for ``json.dumps``."""
        return {"kind": self.kind, "layers": list(self.layers), "params": _jsonable(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InterventionRecord:
        """Inverse of ``to_dict``; UserError naming the key on a missing, unknown or mistyped entry."""
        if not isinstance(data, Mapping):
            raise UserError(f"intervention record must be a mapping (got {type(data).__name__})")
        unknown = sorted(set(data) - {"kind", "layers", "params"})
        if unknown:
            raise UserError(f"intervention record: unknown key {unknown[0]!r}")
        for key in ("kind", "layers"):
            if key not in data:
                raise UserError(f"intervention record: missing key {key!r}")
        kind, layers, params = data["kind"], data["layers"], data.get("params", {})
        if not isinstance(kind, str) or not kind:
            raise UserError(f"intervention record: key 'kind' must be a non-empty string (got {kind!r})")
        if isinstance(layers, str) or not isinstance(layers, (list, tuple)) or not all(
            isinstance(x, str) for x in layers
        ):
            raise UserError(f"intervention record: key 'layers' must be a list of strings (got {layers!r})")
        if not isinstance(params, Mapping):
            raise UserError(f"intervention record: key 'params' must be a mapping (got {params!r})")
        return cls(kind=kind, layers=list(layers), params=dict(params))
