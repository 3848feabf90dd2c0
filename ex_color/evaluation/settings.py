"""What an evaluation looks at: the run's `eval` settings (configs/eval/default.yaml is the only default)
and the probe, every colour an evaluation predicts, held as one array so each model runs once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ex_color.data.colors import named_colors
from ex_color.data.cubes import ColorCube
from ex_color.errors import UserError


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
        from ex_color.evaluation.similarity import hsv_similarity, rgb_to_hsv

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
        loss = merged.get("loss_cube") or {}
        margin = loss.get("margin") if isinstance(loss, dict) else None
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 0.5:
            raise UserError(f"eval.loss_cube.margin must be a number of turns in [0, 0.5) (got {margin!r})")
        views = {key: latent_views(merged.get(key), key) for key in VIEW_KEYS.values()}
        defaults = frozenset(key for key in VIEW_KEYS.values() if views[key] == latent_views(default.get(key), key))
        return cls(
            size("display", *cube),
            size("hd", *cube),
            size("rgb", "steps")[0],
            chunk,
            LossCube(*size("loss_cube", *cube), float(margin)),
            size("slice_cube", *cube),
            views["latent_views"],
            correlation_settings(merged.get("correlation")),
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
    from ex_color.evaluation.similarity import HUE_MODES

    node = node if isinstance(node, dict) else {}
    against, power, mode = node.get("against"), node.get("power"), node.get("mode")
    if against not in CORRELATION_AGAINST:
        raise UserError(f"eval.correlation.against must be one of {', '.join(CORRELATION_AGAINST)} (got {against!r})")
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not power > 0:
        raise UserError(f"eval.correlation.power must be a positive number (got {power!r})")
    if mode not in HUE_MODES:
        raise UserError(f"eval.correlation.mode must be one of {', '.join(HUE_MODES)} (got {mode!r})")
    return CorrelationSettings(str(against), float(power), str(mode))


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
