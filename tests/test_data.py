import colorsys

import numpy as np
import pytest
import torch

from ex_color.data import BatchSource, ColorCube, cyclic_range, hsv_to_rgb, label_probabilities, sampling_weights
from ex_color.errors import UserError


def test_hsv_to_rgb_matches_the_standard_formula():
    rng = np.random.default_rng(0)
    h, s, v = rng.random((3, 500))
    expected = np.array([colorsys.hsv_to_rgb(*x) for x in zip(h, s, v)])
    np.testing.assert_allclose(hsv_to_rgb(h, s, v), expected, atol=1e-12)


def test_training_cube_has_36_hues_and_3600_colours():
    cube = ColorCube.hsv(36, 10, 10)
    assert cube.shape == (36, 10, 10) and len(cube) == 3600
    np.testing.assert_allclose(cube.coords["h"][1], 10 / 360)
    assert cube.coords["h"][-1] < 1.0
    np.testing.assert_allclose(cube.rgb[0, -1, -1], [1, 0, 0])  # h=0, s=1, v=1 is red
    np.testing.assert_allclose(cube.rgb[:, :, 0], 0)  # v=0 is black


def test_cube_permute_moves_axes_and_colours_together():
    cube = ColorCube.hsv(24, 4, 8)
    svh = cube.permute("svh")
    assert svh.shape == (4, 8, 24)
    np.testing.assert_array_equal(svh.rgb[3, 7, 5], cube.rgb[5, 3, 7])
    assert svh.grid("h")[0, 0, 5] == cyclic_range(24)[5]


def test_rgb_grid_cube():
    cube = ColorCube.rgb_grid(20)
    assert len(cube) == 8000
    np.testing.assert_allclose(cube.rgb[19, 0, 0], [1, 0, 0])


def test_sampling_weights_by_hand():
    # n_h = 36, n_s = 10: w = (1-v)/360 + (1-s)v/36 + sv
    assert sampling_weights(0.0, 0.0, 36, 10) == pytest.approx(1 / 360)
    assert sampling_weights(1.0, 1.0, 36, 10) == pytest.approx(1.0)
    assert sampling_weights(0.0, 1.0, 36, 10) == pytest.approx(1 / 36)
    assert sampling_weights(0.5, 0.5, 36, 10) == pytest.approx(0.5 / 360 + 0.25 / 36 + 0.25)


def test_label_probabilities_by_hand():
    rgb = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.5, 0.2, 0.2], [0.0, 0.0, 1.0]])
    vib = torch.tensor([1.0, 1.0, 0.5, 0.9])
    p = label_probabilities(rgb, vib, {"red": 0.5, "vibrant": 0.5})
    expected_red = torch.tensor([1.0, 0.5**10, (0.5 * 0.8) ** 10, 0.0]) * 0.5
    expected_vibrant = vib**100 * 0.5
    torch.testing.assert_close(p[:, 0], expected_red)
    torch.testing.assert_close(p[:, 1], expected_vibrant)


def test_batches_are_a_pure_function_of_the_step():
    cube = ColorCube.hsv(36, 10, 10)
    a = BatchSource(cube, 64, {"red": 0.5, "vibrant": 0.5}, seed=0)
    b = BatchSource(cube, 64, {"red": 0.5, "vibrant": 0.5}, seed=0)
    c = BatchSource(cube, 64, {"red": 0.5, "vibrant": 0.5}, seed=1)
    rgb, labels = a.batch(1000)
    assert rgb.shape == (64, 3) and labels.shape == (64, 2)
    b.batch(5)  # a different block first: must not disturb step 1000
    torch.testing.assert_close(b.batch(1000)[0], rgb)
    torch.testing.assert_close(b.batch(1000)[1], labels)
    assert not torch.equal(c.batch(1000)[0], rgb)
    assert set(labels.unique().tolist()) <= {0.0, 1.0}


def test_weighted_sampling_favours_vibrant_colours():
    cube = ColorCube.hsv(36, 10, 10)
    source = BatchSource(cube, 64, {"red": 0.5, "vibrant": 0.5}, seed=0)
    rgb = torch.cat([source.batch(step)[0] for step in range(200)])
    sat = (rgb.max(1).values - rgb.min(1).values) / rgb.max(1).values.clamp_min(1e-9)
    # Uniform sampling would give mean saturation 0.5; the weights pull it up towards vivid colours.
    assert sat.mean() > 0.6


def test_soft_labels_are_probabilities():
    cube = ColorCube.hsv(36, 10, 10)
    source = BatchSource(cube, 64, {"red": 0.5, "vibrant": 0.5}, hard_labels=False)
    rgb, labels = source.batch(0)
    assert labels.max() <= 0.5 and not set(labels.unique().tolist()) <= {0.0, 0.5}


def test_unknown_label_is_a_user_error():
    with pytest.raises(UserError, match="unknown label 'blue'"):
        BatchSource(ColorCube.hsv(4, 2, 2), 8, {"blue": 1.0})
