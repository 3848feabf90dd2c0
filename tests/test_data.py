import colorsys
import hashlib

import numpy as np
import pytest
import torch

from ex_color.builders import build_batches
from ex_color.config import compose
from ex_color.data import (
    BatchSource,
    ColorCube,
    EpochBatchSource,
    cyclic_range,
    hsv_to_rgb,
    label_probabilities,
    parse_labels,
    sampling_weights,
)
from ex_color.data.validation import ValidationSet
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
    with pytest.raises(UserError, match="data.labels.blue: names no label function"):
        BatchSource(ColorCube.hsv(4, 2, 2), 8, {"blue": 1.0})


def _digest(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# sha256 prefixes of (rgb, labels) of `experiment=smoke` batches, recorded with the code before labels had
# powers and data=rgb existed (commit 19da9b8): data=hsv must keep giving the same bits.
HSV_BATCHES = {
    ((), 0): [
        "6f12d0402be2c088",
        "680e0b31958e8f9c",
        "fa6d34da2dd09398",
        "462eea1efa441076",
        "98e81d6d7953d696",
        "b22bb07ea4177a01",
        "49c47c5591928e88",
    ],
    ((), 3): [
        "5ef3397fef0253a8",
        "7661d20bfa116356",
        "32eb2abff56d3b9e",
        "015f7843810415d6",
        "d2d8aaec46590b1f",
        "19cd4aebc27c3674",
        "247d96b731f3f8d1",
    ],
    (("data.hard_labels=false",), 0): [
        "e4e01047e5b24865",
        "4ec1e0febe6aadf2",
        "39d3f930a6ea3af6",
        "6146cfa0efc4ae7c",
        "722a6bd0e5d0cab5",
        "e2a619ef93017cd0",
        "6c41f167eb18348a",
    ],
}


@pytest.mark.parametrize("overrides,seed", list(HSV_BATCHES))
def test_hsv_batches_and_labels_are_the_same_bits_as_before(overrides, seed):
    source = build_batches(compose("train", ["experiment=smoke", *overrides]), seed)
    digests = [_digest(*source.batch(step)) for step in (0, 1, 255, 256, 300, 1000, 20000)]
    assert digests == HSV_BATCHES[(overrides, seed)]


def test_the_old_label_format_means_the_2_2_powers():
    old, new = (
        parse_labels({"red": 0.5, "vibrant": 0.5}),
        parse_labels({"red": {"power": 10, "scale": 0.5}, "vibrant": {"power": 100, "scale": 0.5}}),
    )
    assert old == new


def test_label_functions_by_hand():
    rgb = torch.tensor(
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 1.0], [0.0, 1.0, 1.0], [0.5, 0.5, 0.5], [1.0, 0.0, 0.5]]
    )
    specs = parse_labels(
        {
            "red": {"power": 1, "scale": 1},
            "vibrant": {"power": 2, "scale": 0.5},
            "desaturated": {"power": 1, "scale": 1},
            "blue": {"hue": 240, "power": 1, "scale": 1},
        }
    )
    p = label_probabilities(rgb, rgb.max(-1).values - rgb.min(-1).values, specs)
    torch.testing.assert_close(p[:, 0], torch.tensor([1.0, 0.0, 0.125, 0.0, 0.25, 0.75]))
    torch.testing.assert_close(p[:, 1], torch.tensor([1.0, 1.0, 0.25, 1.0, 0.0, 1.0]) * 0.5)
    torch.testing.assert_close(p[:, 2], torch.tensor([0.0, 0.0, 0.5, 0.0, 1.0, 0.0]))
    # blue: vibrancy · max(0, 1 − Δhue/120): blue 1; (0.5, 0.5, 1) is blue at half vibrancy; cyan (180°)
    # is 60° away; magenta-red (330°) is 90° away; red (0°) 120°.
    torch.testing.assert_close(p[:, 3], torch.tensor([0.0, 1.0, 0.5, 0.5, 0.0, 0.25]))


def test_a_hue_label_centred_on_red_is_redness_on_the_vivid_rim():
    hues = np.linspace(0, 1, 73)[:-1]
    rgb = torch.tensor(hsv_to_rgb(hues, 1.0, 1.0), dtype=torch.float64)
    specs = parse_labels({"red": {"power": 1, "scale": 1}, "hue-red": {"hue": 0, "power": 1, "scale": 1}})
    p = label_probabilities(rgb, torch.ones(len(hues), dtype=torch.float64), specs)
    torch.testing.assert_close(p[:, 0], p[:, 1])


@pytest.mark.parametrize(
    "labels,message",
    [
        ({"xyz": {"power": 1, "scale": 1}}, "data.labels.xyz: names no label function"),
        (
            {"red": {"function": "redd", "power": 1, "scale": 1}},
            "data.labels.red.function: names no label function ('redd')",
        ),
        ({"red": {"power": -1, "scale": 0.1}}, "data.labels.red.power: must be ≥ 0"),
        ({"red": {"power": 8, "scale": 1.5}}, "data.labels.red.scale: must be in [0, 1]"),
        ({"red": {"power": 8, "scale": -0.1}}, "data.labels.red.scale: must be in [0, 1]"),
        ({"red": {"power": 8}}, "data.labels.red.scale: required"),
        ({"red": {"power": 8, "scale": 0.1, "colour": 3}}, "data.labels.red.colour: unknown key"),
        ({"blue": {"hue": "blue", "power": 8, "scale": 0.1}}, "data.labels.blue.hue: a hue in degrees"),
    ],
)
def test_label_mistakes_name_the_key(labels, message):
    with pytest.raises(UserError) as caught:
        parse_labels(labels)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def _rgb_source(m: int, seed: int = 0, batch_size: int = 64, **labels) -> EpochBatchSource:
    return EpochBatchSource(
        ColorCube.rgb_grid(m).flat_rgb(), batch_size, labels or {"red": {"power": 8, "scale": 0.08}}, seed=seed
    )


def test_rgb_epochs_have_a_short_last_batch():
    source = _rgb_source(10)  # 1,000 = 15 · 64 + 40
    sizes = [len(source.batch(step)[0]) for step in range(40)]
    assert sizes == ([64] * 15 + [40]) * 2 + [64] * 8
    epoch = torch.cat([source.batch(step)[0] for step in range(16)])
    assert epoch.shape == (1000, 3)
    # Uniform with replacement over the grid: some colours twice, every draw a grid colour.
    grid = torch.tensor(ColorCube.rgb_grid(10).flat_rgb(), dtype=torch.float32)
    assert (epoch[:, None] == grid[None]).all(-1).any(-1).all()
    assert len(torch.unique(epoch, dim=0)) < 1000


def test_rgb_batches_are_a_pure_function_of_seed_and_step():
    a, b, c = _rgb_source(10), _rgb_source(10), _rgb_source(10, seed=1)
    wanted = [a.batch(step) for step in (0, 15, 16, 31, 500, 511)]
    for step in (511, 31, 0, 500, 16, 15):  # any order: blocks are regenerated, never carried over
        b.batch(step)
    for (rgb, labels), step in zip(wanted, (0, 15, 16, 31, 500, 511)):
        assert torch.equal(b.batch(step)[0], rgb) and torch.equal(b.batch(step)[1], labels)
        assert not torch.equal(c.batch(step)[0], rgb)


def test_rgb_epochs_without_a_short_batch_group_into_blocks():
    source = _rgb_source(8)  # 512 = 8 · 64: every batch full
    assert source.steps_per_epoch == 8 and source.epochs_per_block == 32
    key, row = source.locate(8 * 33 + 3)
    assert key == (1, 0) and row == 8 + 3
    rgb, labels = source.block(key)
    assert rgb.shape == (256, 64, 3) and labels.shape == (256, 64, 1)


def test_rgb_label_rate_follows_the_probabilities():
    source = _rgb_source(8, red={"power": 1, "scale": 1.0})
    rgb, labels = (torch.cat(parts) for parts in zip(*(source.batch(step) for step in range(2000))))
    r, g, b = rgb.unbind(-1)
    expected = (r * (1 - g / 2 - b / 2)).mean()
    assert abs(labels.mean() - expected) < 0.01


def test_validation_set_centres_then_corners_with_exact_labels():
    specs = parse_labels(
        {
            "red": {"power": 8, "scale": 0.08},
            "vibrant": {"power": 10, "scale": 0.01},
            "blue": {"hue": 240, "power": 8, "scale": 0.08},
            "desaturated": {"power": 1, "scale": 1},
        }
    )
    val = ValidationSet.build("centres", 4, specs, batch_size=64, every=150)
    assert val.rgb.shape == (351, 3) and val.labels.shape == (351, 4)
    torch.testing.assert_close(val.rgb[0], torch.tensor([1 / 16, 1 / 16, 1 / 16]))
    torch.testing.assert_close(val.rgb[342], torch.tensor([15 / 16] * 3))
    corners = val.rgb[343:]
    assert set(map(tuple, corners.tolist())) == {(r, g, b) for r in (0.0, 1.0) for g in (0.0, 1.0) for b in (0.0, 1.0)}
    red, vibrant, blue, grey = val.labels.unbind(-1)
    assert val.rgb[red == 1].tolist() == [[1.0, 0.0, 0.0]]
    assert val.rgb[blue == 1].tolist() == [[0.0, 0.0, 1.0]]
    assert int(vibrant.sum()) == 6 and (vibrant[:343] == 0).all()
    assert int(grey.sum()) == 7 + 2  # the grey centres, black and white
    grid = ValidationSet.build("grid", 4, specs, batch_size=1, every=160)
    assert grid.rgb.shape == (64, 3) and int(grid.labels[:, 0].sum()) == 1
    only_red = ValidationSet.build("centres", 4, specs, batch_size=64, every=150, carried=("red",))
    assert only_red.carried == ("red",) and torch.equal(only_red.labels[:, 0], red)
    assert (only_red.labels[:, 1:] == 0).all()  # the other labels' columns: carried by no colour
