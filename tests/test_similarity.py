"""Similarity to a concept colour and the error correlations (later-experiments §0.8)."""

import numpy as np
import pytest

from ex_color.data.colors import named_colors
from ex_color.errors import UserError
from ex_color.evaluation.similarity import HUE_MODES, hsv_similarity, pearson, pearson_rows, rgb_to_hsv

RED = (0.0, 1.0, 1.0)


def test_rgb_to_hsv_round_trips_the_named_colours():
    from ex_color.data.cubes import hsv_to_rgb

    rng = np.random.default_rng(0)
    hsv = rng.uniform(0, 1, (500, 3))
    hsv[:, 1:] = np.clip(hsv[:, 1:], 0.05, 1)
    back = rgb_to_hsv(hsv_to_rgb(hsv[:, 0], hsv[:, 1], hsv[:, 2]))
    np.testing.assert_allclose(back, hsv, atol=1e-12)
    grey = rgb_to_hsv(np.array([[0.5, 0.5, 0.5], [0.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(grey, [[0, 0, 0.5], [0, 0, 0]])


def test_similarity_to_red_matches_the_spec_values():
    colours = named_colors()
    sim = {name: float(hsv_similarity(rgb_to_hsv(rgb), RED)) for name, rgb in colours.items()}
    assert sim["red"] == pytest.approx(1.0)
    assert sim["orange"] == pytest.approx(2 / 3)
    assert sim["yellow"] == pytest.approx(1 / 3)
    for far in ("lime", "green", "teal", "cyan", "azure", "blue", "purple"):
        assert sim[far] == 0.0, far
    for grey in ("black", "dark gray", "gray", "light gray", "white"):
        assert sim[grey] == 0.0, grey
    # The closed form for red: s·v·[(1 + s·v)/2 · max(0, 1 − θ/90) + (1 − s·v)/2].
    hsv = np.array([[20 / 360, 0.5, 0.8]])
    sv = 0.4
    expected = sv * ((1 + sv) / 2 * (1 - 20 / 90) + (1 - sv) / 2)
    assert float(hsv_similarity(hsv, RED)[0]) == pytest.approx(expected)


def test_hue_modes_differ_and_unknown_mode_is_named():
    hsv = np.array([[120 / 360, 1.0, 1.0]])  # green: 120° from red
    values = {mode: float(hsv_similarity(hsv, RED, mode)[0]) for mode in HUE_MODES}
    assert values["angular"] == 0.0 and values["cosine"] == 0.0
    assert values["angular-full"] == pytest.approx(1 / 3)
    assert values["cosine-full"] == pytest.approx(0.25)
    with pytest.raises(UserError, match="unknown mode 'hemi'"):
        hsv_similarity(hsv, RED, "hemi")


def test_pearson_r_and_the_fitted_line():
    x = np.linspace(0, 1, 50)
    fit = pearson(x, 3 * x + 1)
    assert fit.r == pytest.approx(1.0) and fit.r2 == pytest.approx(1.0)
    assert (fit.slope, fit.intercept) == pytest.approx((3.0, 1.0))
    assert pearson(x, -x).r == pytest.approx(-1.0)
    assert pearson(x, np.ones_like(x)).r == 0.0
    rng = np.random.default_rng(1)
    y = rng.normal(size=(4, 50)) + x
    np.testing.assert_allclose(pearson_rows(x, y), [np.corrcoef(x, row)[0, 1] for row in y], atol=1e-12)
