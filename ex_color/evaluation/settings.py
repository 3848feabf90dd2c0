"""What an evaluation looks at: the run's `eval` settings (configs/eval/default.yaml is the only default)
and the probe, every colour an evaluation predicts, held as one array so each model runs once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ex_color.data.colors import named_colors
from ex_color.data.cubes import ColorCube
from ex_color.errors import UserError


@dataclass(frozen=True)
class EvalSettings:
    display: tuple[int, int, int]  # hues, saturations, values of the predicted-vs-true colour grid
    hd: tuple[int, int, int]  # the per-colour error cube
    rgb_steps: int  # the RGB grid of the latent figures
    chunk_size: int  # colours per forward pass

    @classmethod
    def from_config(cls, eval_cfg: Any) -> EvalSettings:
        """From a run's `eval` node (or the shipped default when the run has none)."""
        from omegaconf import OmegaConf

        from ex_color.paths import config_dir

        default = OmegaConf.load(config_dir() / "eval" / "default.yaml")
        merged = OmegaConf.to_container(OmegaConf.merge(default, eval_cfg or {}), resolve=True)

        def size(key: str, *names: str) -> tuple[int, ...]:
            node = merged.get(key)
            values = tuple(node.get(name) if isinstance(node, dict) else None for name in names)
            for name, value in zip(names, values):
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise UserError(f"eval.{key}.{name} must be a positive integer (got {value!r})")
            return values

        chunk = merged.get("chunk_size")
        if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
            raise UserError(f"eval.chunk_size must be a positive integer (got {chunk!r})")
        cube = ("hues", "saturations", "values")
        return cls(size("display", *cube), size("hd", *cube), size("rgb", "steps")[0], chunk)

    def probe(self) -> Probe:
        return Probe(
            hd=ColorCube.hsv(*self.hd),
            display=ColorCube.hsv(*self.display).permute("svh"),
            rgb=ColorCube.rgb_grid(self.rgb_steps),
            named=named_colors(),
        )


@dataclass(frozen=True)
class Probe:
    """The HD cube (error), the display cube (colour grid), the RGB grid (latents) and the named colours."""

    hd: ColorCube
    display: ColorCube
    rgb: ColorCube
    named: dict[str, np.ndarray]

    def parts(self) -> dict[str, np.ndarray]:
        return {
            "hd": self.hd.flat_rgb(),
            "display": self.display.flat_rgb(),
            "rgb": self.rgb.flat_rgb(),
            "named": np.stack(list(self.named.values())),
        }

    def inputs(self) -> np.ndarray:
        return np.concatenate(list(self.parts().values())).astype(np.float32)

    def split(self, array: np.ndarray) -> dict[str, np.ndarray]:
        """Rows of an array over `inputs()`, cut back into the parts."""
        sizes = [len(part) for part in self.parts().values()]
        return dict(zip(self.parts(), np.split(array, np.cumsum(sizes)[:-1])))

    def hd_hsv(self) -> np.ndarray:
        cube = self.hd
        return np.stack([cube.grid("h"), cube.grid("s"), cube.grid("v")], axis=-1).reshape(-1, 3)
