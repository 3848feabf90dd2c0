"""What an evaluation looks at: the run's `eval` settings (configs/eval/default.yaml is the only default)
and the probe, every colour an evaluation predicts, held as one array so each model runs once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ex_color.data.colors import named_colors
from ex_color.data.cubes import ColorCube, CubeKeys
from ex_color.errors import UserError
from ex_color.evaluation.similarity import HUE_MODES, hsv_similarity, rgb_to_hsv
from ex_color.paths import config_dir
from ex_color.settings import read_settings, setting

CORRELATION_AGAINST = ("similarity", "vibrancy")

# A latent view: the dims drawn across, up and towards the viewer; None projects that axis to 0.
View = tuple[int | None, int | None, int | None]
# The keys of `eval` that hold latent views, by the figure that draws them.
VIEW_KEYS = {"stacked": "latent_views", "latents": "latents_figure_views", "latents-grid": "latents_grid_views"}


@dataclass(frozen=True)
class LossCube:
    """The extended-hue loss cube (later-experiments §0.8): `hues` hues from −margin to 1 + margin turns
    (wrapped mod 1 for the colours, so red appears at both ends) × saturation, value `linspace(0, 1, n)`."""

    hues: int
    saturations: int
    values: int
    margin: float  # turns beyond each end of the wheel (1/12 = 30°)

    def cube(self) -> ColorCube:
        """coords['h'] keeps the unwrapped positions (turns, from −margin to 1 + margin); the colours wrap."""
        h = np.linspace(-self.margin, 1.0 + self.margin, self.hues)
        return ColorCube.from_hsv(h, np.linspace(0, 1, self.saturations), np.linspace(0, 1, self.values))


@dataclass(frozen=True)
class CorrelationSettings:
    """What the per-colour error is correlated with (§0.8): `similarity` to the concept colour (hue mode
    `mode`) or `vibrancy` (S·V), raised to `power`."""

    against: str = "similarity"
    power: float = 2.0
    mode: str = "angular"

    def predictor(self, rgb: np.ndarray, anchor_hue: float = 0.0) -> np.ndarray:
        """x of every colour `rgb` [N, 3]: sim(c, (anchor_hue turns, 1, 1))^p, or (S·V)^p."""
        hsv = rgb_to_hsv(rgb)
        if self.against == "vibrancy":
            base = hsv[..., 1] * hsv[..., 2]
        else:
            base = hsv_similarity(hsv, self.anchor(anchor_hue), self.mode)
        return np.clip(base, 0.0, None) ** self.power

    def anchor(self, anchor_hue: float) -> list[float] | None:
        """The concept colour (HSV, hue in turns) the similarity is measured to; None for vibrancy."""
        return None if self.against == "vibrancy" else [float(anchor_hue) % 1.0, 1.0, 1.0]

    def label(self, colour: str = "red") -> str:
        """The predictor in words, e.g. `(similarity to red)², angular hue` or `(S·V)^2.3`."""
        power = {1.0: "", 2.0: "²", 3.0: "³"}.get(self.power, f"^{self.power:g}")
        if self.against == "vibrancy":
            return f"(S·V){power}" if power else "S·V"
        return (f"(similarity to {colour}){power}" if power else f"similarity to {colour}") + f", {self.mode} hue"


@dataclass(frozen=True)
class EvalSettings:
    display: tuple[int, int, int]  # hues, saturations, values of the predicted-vs-true colour grid
    hd: tuple[int, int, int]  # the per-colour error cube
    rgb_steps: int  # the RGB grid of the latent figures (and the error correlation)
    chunk_size: int  # colours per forward pass
    loss_cube: LossCube = LossCube(150, 24, 24, 1 / 12)  # the stacked figure's error panel
    slices: tuple[int, int, int] = (12, 4, 5)  # the colour-slice cube: the stacked figure's colour rows
    latent_views: tuple[View, ...] = ((1, 0, 2), (1, 3, 0))  # the stacked figure's views
    correlation: CorrelationSettings = CorrelationSettings()
    latents_figure_views: tuple[View, ...] = ((1, 0, 2), (1, 2, 0), (1, 3, 0))  # the `latents` figure's
    latents_grid_views: tuple[View, ...] = ((1, 0, 2), (2, 0, 1), (3, 0, 1), (4, 1, 2), (3, 2, 4), (4, 3, 0))
    # the view keys left at configs/eval/default.yaml's values (fitted to a narrower latent, never refused)
    default_views: frozenset[str] = frozenset(VIEW_KEYS.values())

    def views(self, figure: str) -> tuple[str, tuple[View, ...]]:
        """(the `eval` key, its views) of a figure: stacked, latents or latents-grid."""
        key = VIEW_KEYS[figure]
        return key, getattr(self, key)

    @classmethod
    def from_config(cls, eval_cfg: Any) -> EvalSettings:
        """From a run's `eval` node (or the shipped default when the run has none)."""
        from omegaconf import OmegaConf

        default = OmegaConf.load(config_dir() / "eval" / "default.yaml")
        merged = OmegaConf.to_container(OmegaConf.merge(default, eval_cfg or {}), resolve=True)
        keys = read_settings(EvalKeys, merged, "eval")

        def size(key: str) -> tuple[int, int, int]:
            cube = read_settings(CubeKeys, getattr(keys, key), f"eval.{key}")
            return cube.hues, cube.saturations, cube.values

        loss = read_settings(LossCubeKeys, keys.loss_cube, "eval.loss_cube")
        views = {key: latent_views(merged.get(key), key) for key in VIEW_KEYS.values()}
        defaults = frozenset(key for key in VIEW_KEYS.values() if views[key] == latent_views(default.get(key), key))
        return cls(
            size("display"),
            size("hd"),
            read_settings(StepsKeys, keys.rgb, "eval.rgb").steps,
            keys.chunk_size,
            LossCube(loss.hues, loss.saturations, loss.values, loss.margin),
            size("slice_cube"),
            views["latent_views"],
            correlation_settings(keys.correlation),
            views["latents_figure_views"],
            views["latents_grid_views"],
            defaults,
        )

    def probe(self) -> Probe:
        return Probe(
            hd=ColorCube.hsv(*self.hd),
            display=ColorCube.hsv(*self.display).permute("svh"),
            rgb=ColorCube.rgb_grid(self.rgb_steps),
            named=named_colors(),
            loss=self.loss_cube.cube(),
            slices=ColorCube.hsv(*self.slices),
        )


def latent_views(node: Any, key: str = "latent_views") -> tuple[View, ...]:
    """`eval.<key>`: a list of views, each three dims (x, y, depth) of the latent, distinct, or null for an
    axis projected to 0 (e.g. [[1, 0, 2], [2, null, 0]]); at least one dim per view."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(node):
        node = OmegaConf.to_container(node, resolve=True)
    ok = isinstance(node, list) and len(node) > 0
    views = []
    for view in node if ok else ():
        dims = [d for d in view if d is not None] if isinstance(view, (list, tuple)) and len(view) == 3 else []
        if not dims or len(set(dims)) != len(dims):
            ok = False
            break
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims):
            ok = False
            break
        views.append(tuple(view))
    if not ok:
        raise UserError(
            f"eval.{key} must be a list of views, each three distinct dims or null (an axis projected to 0), "
            f"e.g. [[1, 0, 2], [2, null, 0]] (got {node!r})"
        )
    return tuple(views)


def correlation_settings(node: Any) -> CorrelationSettings:
    """`eval.correlation`: {against: similarity | vibrancy, power: p > 0, mode: a hue mode}."""
    keys = read_settings(CorrelationKeys, node, "eval.correlation")
    return CorrelationSettings(keys.against, keys.power, keys.mode)


@dataclass(frozen=True, kw_only=True)
class EvalKeys:
    """`eval:` as the config gives it, over configs/eval/default.yaml (ex_color.settings checks it)."""

    display: dict  # CubeKeys
    hd: dict  # CubeKeys
    rgb: dict  # StepsKeys
    loss_cube: dict  # LossCubeKeys
    slice_cube: dict  # CubeKeys
    latent_views: Any  # latent_views()
    latents_figure_views: Any
    latents_grid_views: Any
    correlation: dict  # CorrelationKeys
    chunk_size: int = setting(dataclasses.MISSING, least=1, hint="colours per forward pass")


@dataclass(frozen=True)
class StepsKeys:
    steps: int = setting(dataclasses.MISSING, least=1)


@dataclass(frozen=True, kw_only=True)
class LossCubeKeys(CubeKeys):
    margin: float = setting(dataclasses.MISSING, least=0, below=0.5, hint="turns beyond each end of the wheel")


@dataclass(frozen=True)
class CorrelationKeys:
    against: str = setting(dataclasses.MISSING, choices=CORRELATION_AGAINST)
    power: float = setting(dataclasses.MISSING, greater=0)
    mode: str = setting(dataclasses.MISSING, choices=HUE_MODES)


@dataclass(frozen=True)
class Probe:
    """The HD cube (error), the display cube (colour grid), the RGB grid (latents, error correlation), the
    named colours, and the redux test set's loss cube (extended hues) and colour-slice cube (stacked figure)."""

    hd: ColorCube
    display: ColorCube
    rgb: ColorCube
    named: dict[str, np.ndarray]
    loss: ColorCube
    slices: ColorCube

    def parts(self) -> dict[str, np.ndarray]:
        return {
            "hd": self.hd.flat_rgb(),
            "display": self.display.flat_rgb(),
            "rgb": self.rgb.flat_rgb(),
            "named": np.stack(list(self.named.values())),
            "loss": self.loss.flat_rgb(),
            "slices": self.slices.flat_rgb(),
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
