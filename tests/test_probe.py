"""The probe's redux parts (later-experiments §0.8): the extended-hue loss cube and the colour-slice cube, their
settings from `eval`, and the error-correlation predictor."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from ex_color.data.cubes import hsv_to_rgb
from ex_color.errors import UserError
from ex_color.evaluation.settings import CorrelationSettings, EvalSettings
from ex_color.evaluation.similarity import hsv_similarity, rgb_to_hsv


def test_default_probe_parts_and_sizes():
    settings = EvalSettings.from_config(None)
    probe = settings.probe()
    sizes = {name: len(part) for name, part in probe.parts().items()}
    assert sizes == {
        "hd": 240 * 48 * 48,
        "display": 24 * 4 * 8,
        "rgb": 20**3,
        "named": 17,
        "loss": 150 * 24 * 24,  # 86,400
        "slices": 12 * 4 * 5,
    }
    inputs = probe.inputs()
    assert inputs.shape == (sum(sizes.values()), 3) and inputs.dtype == np.float32
    split = probe.split(np.arange(len(inputs)))
    assert {name: len(rows) for name, rows in split.items()} == sizes
    np.testing.assert_array_equal(inputs[split["loss"]], probe.loss.flat_rgb().astype(np.float32))
    assert settings.latent_views == ((1, 0, 2), (1, 3, 0))
    assert settings.correlation == CorrelationSettings("similarity", 2.0, "angular")


def test_loss_cube_hues_run_past_both_ends_and_wrap():
    cube = EvalSettings.from_config(None).probe().loss
    h, s, v = cube.coords["h"], cube.coords["s"], cube.coords["v"]
    assert cube.shape == (150, 24, 24) and cube.axes == ("h", "s", "v")
    assert h[0] == pytest.approx(-1 / 12, abs=1e-6) and h[-1] == pytest.approx(1 + 1 / 12, abs=1e-6)
    np.testing.assert_allclose(np.diff(h), (1 + 2 / 12) / 149, atol=1e-8)
    np.testing.assert_array_equal(s, np.linspace(0, 1, 24))
    np.testing.assert_array_equal(v, np.linspace(0, 1, 24))
    # The colours are those of the hues mod 1: the ends show the wheel's far side, red sits near both 0 and 1.
    np.testing.assert_allclose(cube.rgb[:, -1, -1], hsv_to_rgb(h % 1.0, 1.0, 1.0), atol=1e-12)
    np.testing.assert_allclose(cube.rgb[0, -1, -1], hsv_to_rgb(11 / 12, 1.0, 1.0), atol=1e-5)  # pink, 330°
    np.testing.assert_allclose(cube.rgb[-1, -1, -1], hsv_to_rgb(1 / 12, 1.0, 1.0), atol=1e-5)  # orange, 30°
    near_red = [int(np.argmin(np.abs(h - edge))) for edge in (0.0, 1.0)]
    for i in near_red:
        assert np.argmax(cube.rgb[i, -1, -1]) == 0 and cube.rgb[i, -1, -1, 0] == 1.0


def test_colour_slice_cube_is_twelve_hues_at_30_degrees():
    cube = EvalSettings.from_config(None).probe().slices
    assert cube.shape == (12, 4, 5)
    np.testing.assert_allclose(cube.coords["h"] * 360, np.arange(0, 360, 30))
    np.testing.assert_array_equal(cube.coords["s"], np.linspace(0, 1, 4))
    np.testing.assert_array_equal(cube.coords["v"], np.linspace(0, 1, 5))
    np.testing.assert_allclose(cube.rgb[0, -1, -1], [1, 0, 0])  # red at s = v = 1


def test_sizes_views_and_correlation_from_config():
    cfg = OmegaConf.create(
        {
            "loss_cube": {"hues": 30, "saturations": 3, "values": 4, "margin": 0},
            "slice_cube": {"hues": 6},
            "latent_views": [[0, 1, 2]],
            "correlation": {"against": "vibrancy", "power": 2.3},
        }
    )
    settings = EvalSettings.from_config(cfg)
    probe = settings.probe()
    assert probe.loss.shape == (30, 3, 4) and probe.loss.coords["h"][[0, -1]].tolist() == [0.0, 1.0]
    assert probe.slices.shape == (6, 4, 5)
    assert settings.latent_views == ((0, 1, 2),)
    assert settings.correlation == CorrelationSettings("vibrancy", 2.3, "angular")


@pytest.mark.parametrize(
    "node,message",
    [
        ({"loss_cube": {"margin": 0.5}}, "eval.loss_cube.margin"),
        ({"loss_cube": {"hues": 0}}, "eval.loss_cube.hues must be a positive integer"),
        ({"slice_cube": {"values": "five"}}, "eval.slice_cube.values"),
        ({"latent_views": [[1, 1, 2]]}, "eval.latent_views"),
        ({"latent_views": []}, "eval.latent_views"),
        ({"correlation": {"against": "hue"}}, "eval.correlation.against"),
        ({"correlation": {"power": 0}}, "eval.correlation.power"),
        ({"correlation": {"mode": "hemi"}}, "eval.correlation.mode"),
    ],
)
def test_config_mistakes_are_named(node, message):
    with pytest.raises(UserError, match=message):
        EvalSettings.from_config(OmegaConf.create(node))


def test_predictor_is_similarity_or_vibrancy_to_a_power():
    rgb = np.random.default_rng(0).uniform(0, 1, (300, 3))
    hsv = rgb_to_hsv(rgb)
    similarity = CorrelationSettings("similarity", 2.0, "angular")
    np.testing.assert_allclose(similarity.predictor(rgb), hsv_similarity(hsv, (0, 1, 1)) ** 2)
    np.testing.assert_allclose(similarity.predictor(rgb, 1 / 3), hsv_similarity(hsv, (1 / 3, 1, 1)) ** 2)
    assert similarity.anchor(1 / 3) == [1 / 3, 1.0, 1.0]
    vibrancy = CorrelationSettings("vibrancy", 2.3, "angular")
    np.testing.assert_allclose(vibrancy.predictor(rgb), (hsv[:, 1] * hsv[:, 2]) ** 2.3)
    assert vibrancy.anchor(0.0) is None
    assert similarity.label("green") == "(similarity to green)², angular hue" and vibrancy.label() == "(S·V)^2.3"


def test_latent_views_take_null_axes_and_each_figure_has_its_key():
    settings = EvalSettings.from_config(
        OmegaConf.create({"latent_views": [[2, None, 0], [None, None, 1]], "latents_grid_views": [[4, 3, 0]]})
    )
    assert settings.latent_views == ((2, None, 0), (None, None, 1))
    assert settings.views("stacked") == ("latent_views", ((2, None, 0), (None, None, 1)))
    assert settings.views("latents") == ("latents_figure_views", ((1, 0, 2), (1, 2, 0), (1, 3, 0)))
    assert settings.views("latents-grid") == ("latents_grid_views", ((4, 3, 0),))
    assert settings.default_views == {"latents_figure_views"}
    for key in ("latents_figure_views", "latents_grid_views"):
        for bad in ([[None, None, None]], [[1, 1, None]], [[1, 0]], [[-1, 0, 2]]):
            with pytest.raises(UserError, match=f"eval.{key} must be a list of views"):
                EvalSettings.from_config(OmegaConf.create({key: bad}))


def test_views_are_checked_against_the_latent_fitted_when_default_and_mapped_through_a_prune():
    from ex_color.figures.views import check_views, fitted_views, pruned_views

    settings = EvalSettings.from_config(OmegaConf.create({"latent_views": [[3, 0, 1], [3, 2, 4]]}))
    check_views(settings, 5)
    with pytest.raises(UserError) as error:
        check_views(settings, 4)
    assert str(error.value) == (
        "eval.latent_views: view [3, 2, 4] names dim 4, but the latent has 4 dims (0–3; null projects an axis to 0)"
    )
    check_views(settings, 3, ("latents", "latents-grid"))  # the shipped defaults are fitted, never refused
    # Defaults on a narrower latent: a missing dim becomes the lowest the view lacks, else a projected axis.
    assert fitted_views(settings.latents_grid_views, 4) == [
        (1, 0, 2),
        (2, 0, 1),
        (3, 0, 1),
        (0, 1, 2),
        (3, 2, 0),
        (1, 3, 0),
    ]
    assert fitted_views([(1, 0, 2)], 2) == [(1, 0, None)]
    # Through a prune, as the original's 2.10.1 (prune {0}: (3, 0, 1) -> (2, None, 0)) and 2.7.1 (prune {0, 1}).
    assert pruned_views([(3, 0, 1), (3, 2, 4)], 5, [0]) == [(2, None, 0), (2, 1, 3)]
    assert pruned_views([(0, 1, 2), (2, 3, 0)], 4, [0, 1]) == [(None, None, 0), (0, 1, None)]
    assert pruned_views([(0, 1, None)], 4, [0, 1]) == []  # nothing left to draw
