"""Figures: each plot draws with real matplotlib, saves a valid PNG with alt text, and shows its data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure
from matplotlib.image import imread

from ex_color.errors import UserError
from ex_color.plots import (
    Cone,
    color_grid_image,
    cone_rim,
    get_theme,
    plot_color_grid,
    plot_error_series,
    plot_error_similarity,
    plot_intervention_curve,
    plot_latent_views,
    plot_schedule,
    plot_seed_boxes,
    plot_stacked,
    plot_training,
    save_figure,
    stacked_value_rows,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_saved(fig, alt, path):
    """Save and check: a real PNG of a sensible size, and a non-empty alt text beside it."""
    assert isinstance(fig, Figure)
    assert isinstance(alt, str) and alt.strip()
    out = save_figure(fig, path, alt)
    assert out.exists() and out.suffix == ".png"
    assert out.read_bytes()[:8] == PNG_MAGIC
    img = imread(out)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert img.shape[1] >= 400 and img.shape[0] >= 150
    txt = out.with_suffix(".txt")
    assert txt.exists() and txt.read_text().strip() == " ".join(alt.split())
    return img


def hsv_cube(n_h, n_s, n_v, order="svh"):
    h = np.arange(n_h) / n_h
    s = np.linspace(0, 1, n_s)
    v = np.linspace(0, 1, n_v)
    axes = {"h": h, "s": s, "v": v}
    grids = np.meshgrid(*(axes[k] for k in order), indexing="ij")
    named = dict(zip(order, grids))
    return h, s, v, hsv_to_rgb(np.stack([named["h"], named["s"], named["v"]], axis=-1))


@pytest.fixture(scope="module")
def display():
    rng = np.random.default_rng(1)
    h, s, v, true = hsv_cube(24, 4, 8, "svh")
    pred = rng.random(true.shape)  # distinct from true everywhere, so a mix-up shows
    return h, s, v, pred, true


# --- theme and io ---------------------------------------------------------------------------------


def test_get_theme_and_unknown_theme():
    assert get_theme("light").background != get_theme("dark").background
    assert get_theme("DARK").name == "dark"
    with pytest.raises(UserError, match="unknown theme"):
        get_theme("sepia")


def test_unknown_theme_in_plot_raises_user_error(display):
    h, s, v, pred, true = display
    with pytest.raises(UserError):
        plot_color_grid(pred, true, s, v, h, theme="neon")


def test_save_figure_atomic_and_parents(tmp_path):
    fig = Figure(figsize=(6, 3), dpi=100)
    fig.add_subplot().plot([0, 1], [1, 0])
    out = save_figure(fig, tmp_path / "a" / "b" / "fig", "A line.\nGoing down.")
    assert out == tmp_path / "a" / "b" / "fig.png"
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "a" / "b" / "fig.txt").read_text() == "A line. Going down.\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["fig.png", "fig.txt"]  # no temp files left


def test_plots_import_neither_pyplot_nor_torch():
    code = (
        "import sys, ex_color.plots; "
        "bad = [m for m in ('matplotlib.pyplot', 'torch') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- colour grid ----------------------------------------------------------------------------------


def u8(x):
    return np.round(np.clip(x, 0, 1) * 255).astype(int)


def test_color_grid_image_cells(display):
    _, _, _, pred, true = display
    img = color_grid_image(pred[2], true[2], cell=10, inner=5)
    assert img.shape == (80, 240, 3) and img.dtype == np.uint8
    for r, c in [(0, 0), (3, 7), (7, 23), (5, 12)]:
        # Outer ring: corners and edges of the cell.
        for dy, dx in [(0, 0), (9, 9), (0, 9), (1, 5)]:
            assert np.abs(img[r * 10 + dy, c * 10 + dx].astype(int) - u8(pred[2, r, c])).max() <= 1
        # Inner square: offset (10 - 5) // 2 = 2, five pixels wide.
        for dy, dx in [(2, 2), (4, 4), (6, 6)]:
            assert np.abs(img[r * 10 + dy, c * 10 + dx].astype(int) - u8(true[2, r, c])).max() <= 1
    # Batched over leading dims.
    assert color_grid_image(pred, true).shape == (4, 80, 240, 3)
    with pytest.raises(ValueError):
        color_grid_image(pred, true[..., :2])


def test_color_grid_panels_show_composed_images(display):
    h, s, v, pred, true = display
    fig, alt = plot_color_grid(pred, true, s, v, h, title="test")
    panels = fig.axes
    assert len(panels) == 4
    for i, ax in enumerate(panels):
        shown = np.asarray(ax.images[0].get_array())
        # Brightest value on top: rows reversed relative to ascending v.
        np.testing.assert_array_equal(shown, color_grid_image(pred[i, ::-1], true[i, ::-1]))
    assert "saturation" in alt and "inner" in alt


def test_color_grid_saved_pixels_match_prediction(display, tmp_path):
    h, s, v, pred, true = display
    fig, alt = plot_color_grid(pred, true, s, v, h, title="pixels")
    FigureCanvasAgg(fig).draw()
    boxes = [ax.get_window_extent() for ax in fig.axes]
    img = check_saved(fig, alt, tmp_path / "grid.png")
    assert (img.shape[1], img.shape[0]) == tuple(np.round(fig.get_size_inches() * fig.dpi).astype(int))
    height = img.shape[0]
    n_s, n_v, n_h, _ = pred.shape
    for si, row, col in [(0, 0, 0), (1, 2, 5), (3, 7, 23), (2, 4, 11), (3, 0, 0)]:
        box = boxes[si]
        cw, ch = box.width / n_h, box.height / n_v
        v_idx = n_v - 1 - row  # row 0 on screen is the highest value

        def pixel(fx, fy):
            x = box.x0 + (col + fx) * cw
            y_top = height - (box.y1 - (row + fy) * ch)
            return u8(img[int(y_top), int(x), :3])

        assert np.abs(pixel(0.85, 0.85) - u8(pred[si, v_idx, col])).max() <= 2  # outer part: prediction
        assert np.abs(pixel(0.45, 0.45) - u8(true[si, v_idx, col])).max() <= 2  # inner square: truth


def test_dark_theme_changes_background(display, tmp_path):
    h, s, v, pred, true = display
    light = check_saved(*plot_color_grid(pred, true, s, v, h, theme="light"), tmp_path / "light.png")
    dark = check_saved(*plot_color_grid(pred, true, s, v, h, theme="dark"), tmp_path / "dark.png")
    assert light[1, 1, :3].mean() > 0.9
    assert dark[1, 1, :3].mean() < 0.2


# --- error series ---------------------------------------------------------------------------------


def test_error_series_alt_text_names_max_and_hue(tmp_path):
    h, s, v, _ = hsv_cube(240, 12, 12, "hsv")
    H, S, V = np.meshgrid(h, s, v, indexing="ij")
    dh = (H * 360 - 120 + 180) % 360 - 180
    err = 0.25 * np.exp(-((dh / 30) ** 2)) * S * V + 0.001
    base = np.full_like(err, 0.002)
    fig, alt = plot_error_series(err, h, s, v, title="peak at green", baseline=base)
    main = fig.axes[:3]
    assert {ax.get_ylim() for ax in main} == {main[0].get_ylim()}  # shared y limits
    assert main[0].get_ylim()[1] >= 0.251
    assert "0.251" in alt and "120°" in alt and "green" in alt and "baseline" in alt
    check_saved(fig, alt, tmp_path / "error.png")
    fig2, alt2 = plot_error_series(err, h * 360, s, v, theme="dark")  # degrees are accepted too
    assert "120°" in alt2
    check_saved(fig2, alt2, tmp_path / "error-dark.png")


def test_error_series_rejects_bad_shapes():
    with pytest.raises(ValueError):
        plot_error_series(np.zeros((10, 4)), np.arange(10) / 10, np.linspace(0, 1, 4), [1.0])
    with pytest.raises(ValueError):
        plot_error_series(
            np.zeros((10, 4, 3)),
            np.arange(10) / 10,
            np.linspace(0, 1, 4),
            np.linspace(0, 1, 3),
            baseline=np.zeros((10, 4, 2)),
        )


# --- latent views ---------------------------------------------------------------------------------


def fake_latents(n=10):
    g = np.linspace(0, 1, n)
    rgb = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    from matplotlib.colors import rgb_to_hsv

    hh, ss, vv = rgb_to_hsv(rgb).T
    a = 2 * np.pi * hh
    z = np.stack([ss * vv * np.cos(a), ss * vv * np.sin(a), 1 - vv, (1 - ss) * vv], 1)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return z, rgb


def test_latent_views_three_axes(tmp_path):
    z, rgb = fake_latents()
    cones = [Cone((1, 0, 0, 0), np.pi / 2, "dashed", "starts"), Cone((1, 0, 0, 0), np.pi / 3, "solid", "limit")]
    fig, alt = plot_latent_views(z, np.clip(rgb * 0.9, 0, 1), rgb, cones=cones, title="latents")
    assert len(fig.axes) == 3
    assert [ax.get_xlabel() for ax in fig.axes] == ["dim 1"] * 3
    assert [ax.get_ylabel() for ax in fig.axes] == ["dim 0", "dim 2", "dim 3"]
    for ax in fig.axes:
        assert ax.get_xlim() == pytest.approx((-1.15, 1.15))
    assert "1,000" in alt and "60°" in alt
    check_saved(fig, alt, tmp_path / "latents.png")
    fig, alt = plot_latent_views(z, rgb, rgb, theme="dark", occlusion_radius=None)
    check_saved(fig, alt, tmp_path / "latents-dark.png")


def test_cone_rim_geometry():
    d = np.array([1.0, 0, 0, 0])
    for angle in (np.pi / 3, np.pi / 2):
        rim = cone_rim(Cone(tuple(d), angle), (1, 0, 2))
        assert rim.shape == (200, 3)
        np.testing.assert_allclose(np.linalg.norm(rim, axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(rim[:, 1], np.cos(angle), atol=1e-12)  # dim 0 is the view's y
    assert cone_rim(Cone((0, 0, 0, 1.0), np.pi / 3), (1, 0, 2)) is None  # direction outside the view
    with pytest.raises(ValueError):
        Cone((1, 0, 0, 0), np.pi / 3, style="dotted")


def test_latent_views_validate_inputs():
    z, rgb = fake_latents(4)
    with pytest.raises(ValueError):
        plot_latent_views(z, rgb[:-1], rgb)
    with pytest.raises(ValueError):
        plot_latent_views(z, rgb, rgb, dims=((1, 0, 4),))


# --- training and schedule ------------------------------------------------------------------------


def test_training_curves(tmp_path):
    rng = np.random.default_rng(0)
    steps = np.arange(2001)
    series = {f"term-{i}": np.exp(-steps / 500) * rng.lognormal(0, 0.3, steps.size) for i in range(7)}
    series["term-0"][::3] = np.nan
    series["term-1"][:10] = 0.0  # skipped on the log axis
    series["never"] = np.zeros(steps.size)
    fig, alt = plot_training(steps, series, [(0, "Train"), (1000, "Tune")], {1000: ["checkpoint"]}, title="t")
    assert len(fig.axes) == 8
    assert fig.axes[0].get_yscale() == "log"
    assert "Tune" in alt and "checkpoint" in alt and "no positive values" in alt
    check_saved(fig, alt, tmp_path / "training.png")
    fig, alt = plot_training(steps, {"loss": series["term-2"]}, theme="dark")
    check_saved(fig, alt, tmp_path / "training-dark.png")


def test_schedule_rows_and_log_axes(tmp_path):
    length = 2001
    x = np.arange(length)
    lr = np.where(x < 10, 1e-8 * 1e6 ** (np.minimum(x, 10) / 10), 0.01)
    values = {"lr": lr, "reg-anchor": np.interp(x, [0, 1000, 2000], [0.02, 0.08, 0.02]), "w": np.full(length, 1.0)}
    keyframes = {"lr": [(0, 1e-8), (10, 0.01)], "reg-anchor": [(0, 0.02), (1000, 0.08), (2000, 0.02)], "w": [(0, 1.0)]}
    fig, alt = plot_schedule(length, values, keyframes, {"lr": "linear"}, [(0, "Train")], {1000: ["save"]}, title="s")
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "linear", "linear"]
    assert "lr" in alt and "3 keyframes" in alt
    check_saved(fig, alt, tmp_path / "schedule.png")
    fig, alt = plot_schedule(length, values, keyframes, {"reg-anchor": "log"}, theme="dark")
    assert fig.axes[1].get_yscale() == "log"
    check_saved(fig, alt, tmp_path / "schedule-dark.png")


# --- interventions --------------------------------------------------------------------------------


def test_intervention_curves(tmp_path):
    d = np.linspace(-1, 1, 201)
    dp = np.clip(d, 0, 1)
    sup = np.where(d > 0, d * (1 - dp**2), d)
    fig, alt = plot_intervention_curve(d, sup, "suppression", {"a": 0, "b": 1, "power": 2}, title="sup")
    assert len(fig.axes) == 2
    assert fig.axes[0].get_xlabel() == "alignment with concept (in)"
    assert fig.axes[0].get_ylabel() == "alignment with concept (out)"
    check_saved(fig, alt, tmp_path / "sup.png")

    rep = np.where(d > 0, 0.5 * np.sin(np.pi / 2 * dp), d)
    theta = np.linspace(-np.pi, np.pi, 100)
    lobe = np.column_stack([np.cos(theta), np.sin(theta)])
    fig, alt = plot_intervention_curve(d, rep, "repulsion", {"a": 0, "b": 0.5}, theme="dark", lobe_xy=lobe)
    check_saved(fig, alt, tmp_path / "rep.png")
    fig, alt = plot_intervention_curve(d, rep, "repulsion", {"a": 0, "b": 0.5})
    assert "60°" in alt  # derived lobe: nothing lands closer than arccos(0.5) to the concept
    with pytest.raises(UserError):
        plot_intervention_curve(d, rep, "attraction", {})


# --- stacked result, error against similarity, seeds ----------------------------------------------


def stacked_arrays(peak: float):
    """A condition of the stacked figure: latents, the colour rows at s = 1, and the error on the
    extended-hue loss cube at s = 1 (hues -30° to 390°), peaking at red with height `peak`."""
    z, rgb = fake_latents(6)
    h12 = np.arange(12) * 30.0
    v4 = np.array([0.25, 0.5, 0.75, 1.0])
    true = hsv_to_rgb(np.stack(np.broadcast_arrays(h12[None, :] / 360, 1.0, v4[:, None]), -1))
    lh = np.linspace(-30.0, 390.0, 150)
    lv = np.linspace(0, 1, 24)
    distance = np.abs((lh + 180.0) % 360.0 - 180.0)
    err = peak * np.exp(-((distance / 40.0) ** 2))[:, None] * lv[None, :] + 0.001
    return z, rgb, true, v4, h12, err, lh, lv


def test_stacked_figure_layout_limits_and_alt_text(tmp_path):
    z, rgb, true, v4, h12, err, lh, lv = stacked_arrays(0.3)
    pred = np.clip(true * 0.8, 0, 1)
    cones = [Cone((1, 0, 0, 0), np.pi / 3, "solid", "limit")]
    views = [(1, 0, 2), (1, 3, 0)]
    fig, alt = plot_stacked(z, rgb, rgb, views, pred, true, v4, h12, err, lh, lv, 0.5, cones, title="stacked")
    assert len(fig.axes) == 4  # two latent views, the colour rows, the error panel
    assert (fig.get_figwidth(), fig.get_figheight()) == (5.0, 5.3)
    error_ax = fig.axes[3]
    assert error_ax.get_ylim() == (0.0, 0.5)  # the y max given, shared with other conditions
    assert error_ax.get_xlim() == pytest.approx((-30.0, 390.0))  # red at both ends
    assert len(error_ax.collections) == len(stacked_value_rows(lv)) == 5
    assert "-30° to 390°" in alt and "from 0 to 0.5" in alt and "red" in alt and "1 circle" in alt
    assert "4 rows (value 1, 0.75, 0.5, 0.25" in alt
    check_saved(fig, alt, tmp_path / "stacked.png")
    fig, alt = plot_stacked(z, rgb, rgb, views, pred, true, v4, h12, err, lh, lv, theme="dark")
    assert fig.axes[3].get_ylim()[1] == pytest.approx(err[:, stacked_value_rows(lv)].max() * 1.05)
    check_saved(fig, alt, tmp_path / "stacked-dark.png")
    with pytest.raises(ValueError, match="view"):
        plot_stacked(z, rgb, rgb, [(1, 0, 4)], pred, true, v4, h12, err, lh, lv)
    with pytest.raises(ValueError, match="slice_pred"):
        plot_stacked(z, rgb, rgb, views, pred[:, :3], true, v4, h12, err, lh, lv)


def test_error_similarity_scatter_reports_the_pearson_fit(tmp_path):
    from ex_color.evaluation.similarity import hsv_similarity, pearson, rgb_to_hsv

    g = np.linspace(0, 1, 12)
    rgb = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    x = hsv_similarity(rgb_to_hsv(rgb), (0.0, 1.0, 1.0)) ** 2
    y = 0.3 * x + np.random.default_rng(0).uniform(0, 0.05, x.size)
    fig, alt = plot_error_similarity(x, y, rgb, xlabel="(similarity to red)²", title="scatter")
    fit = pearson(x, y)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [f"least squares, R² = {fit.r2:.3f}"]
    assert f"R² = {fit.r2:.3f}" in alt and f"r = {fit.r:.3f}" in alt and f"{x.size:,} colours" in alt
    dashed = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    np.testing.assert_allclose(dashed[0].get_ydata(), fit.intercept + fit.slope * dashed[0].get_xdata())
    colours = fig.axes[0].collections[0].get_facecolors()
    np.testing.assert_allclose(colours[:, 3], np.clip(0.1 + 0.9 * (x + y) / 2, 0, 1))  # opacity per the spec
    np.testing.assert_allclose(colours[:, :3], rgb)
    check_saved(fig, alt, tmp_path / "similarity.png")
    fig, alt = plot_error_similarity(x, y, rgb, theme="dark")
    check_saved(fig, alt, tmp_path / "similarity-dark.png")


def test_seed_boxes_sixty_seeds_best_marked_and_gaps_dropped(tmp_path):
    rng = np.random.default_rng(3)
    seeds = [f"seed-{k}" for k in range(60)]
    score = dict(zip(seeds, rng.uniform(0.2, 0.9, 60)))
    score["seed-7"] = 0.95
    score["seed-8"] = float("nan")
    recon = {seed: float(10 ** rng.uniform(-5, -3)) for seed in seeds[:55]}  # five seeds have no value
    recon["seed-9"] = 0.0  # not on a log axis
    anchor = {seed: float(10 ** rng.uniform(-4, -2)) for seed in seeds}
    values = {"score": score, "val/recon": recon, "val/anchor": anchor}
    scales = {"score": "unit", "val/recon": "log", "val/anchor": "log"}
    fig, alt = plot_seed_boxes(values, best="seed-7", scales=scales, title="60 seeds")
    assert len(fig.axes) == 3
    assert fig.axes[0].get_xlim() == (0.0, 1.0)
    assert [ax.get_xscale() for ax in fig.axes] == ["linear", "log", "log"]
    points = [ax.collections[0].get_offsets().shape[0] for ax in fig.axes]
    assert points == [59, 54, 60]  # NaN, missing and non-positive (on log) values left out
    labels = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert labels[0] == ["seed-7: 0.95"] and labels[1] and labels[1][0].startswith("seed-7: ")
    assert "59 seeds" in alt and "rank 59 of 59" in alt and "log scale" in alt
    assert fig.axes[1].get_title(loc="left") == "val/recon (1 ≤ 0 not shown)"  # never silently dropped
    assert "1 seed ≤ 0 left out of the log axis" in alt and fig.axes[2].get_title(loc="left") == "val/anchor"
    check_saved(fig, alt, tmp_path / "seeds.png")
    fig, alt = plot_seed_boxes({"score": {"a": float("nan")}, "x": {"a": 1.0, "b": 2.0}}, best="b", theme="dark")
    assert "score: no values" in alt
    check_saved(fig, alt, tmp_path / "seeds-dark.png")
    with pytest.raises(ValueError, match="scales"):
        plot_seed_boxes(values, scales={"score": "cubic"})
    # a score on the unit scale that falls below 0 (an R² worse than the mean) is kept in view
    fig, alt = plot_seed_boxes({"score": {"a": -0.3, "b": 0.5, "c": 0.9}}, best="c", scales={"score": "unit"})
    assert fig.axes[0].get_xlim() == pytest.approx((-0.35, 1.0))
    assert "score (linear, from -0.35 to 1): 3 seeds from -0.3" in alt
    check_saved(fig, alt, tmp_path / "seeds-negative.png")


# --- latent views of any width, projected axes, the six-view grid (issue 14) ----------------------


def wide_latents(width: int, n: int = 6):
    """`fake_latents`' colours in a latent of `width` dims (padded with a smooth extra coordinate, or cut)."""
    z, rgb = fake_latents(n)
    if width > 4:
        extra = np.stack([np.sin((d + 1) * z[:, 0] + z[:, 1]) for d in range(width - 4)], 1) * 0.3
        z = np.concatenate([z, extra], 1)
    z = z[:, :width]
    norm = np.linalg.norm(z, axis=1, keepdims=True)
    keep = norm[:, 0] > 1e-9  # (cut to 3 dims, black has no direction)
    return z[keep] / norm[keep], rgb[keep]


def drawn_points(ax):
    """The centres of a view's balls: each point is drawn twice (disc, then dot), in depth order."""
    offsets = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    return offsets[0::2]


@pytest.mark.parametrize("width", [3, 4, 5])
def test_latent_views_of_any_width_with_projected_axes(tmp_path, width):
    z, rgb = wide_latents(width)
    views = [(1, 0, 2), (2, None, 0), (None, 1, None)]
    cones = [Cone(tuple(np.eye(width)[0]), np.pi / 3, "solid", "limit")]
    fig, alt = plot_latent_views(z, rgb, rgb, dims=views, cones=cones, title=f"{width}-D")
    assert len(fig.axes) == 3
    assert [ax.get_xlabel() for ax in fig.axes] == ["dim 1", "dim 2", "0 (projected)"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["dim 0", "0 (projected)", "dim 1"]
    assert fig.axes[1].get_title() == "dims (2, –, 0)  ·  depth: dim 0"
    assert fig.axes[2].get_title() == "dims (–, 1, –)  ·  depth: none (projected)"
    # A projected axis puts every point at 0 along it, and hides none (no occlusion in such views).
    across = drawn_points(fig.axes[1])
    assert len(across) == len(z) and np.all(across[:, 1] == 0.0)
    np.testing.assert_allclose(np.sort(across[:, 0]), np.sort(z[:, 2]))
    up = drawn_points(fig.axes[2])
    assert len(up) == len(z) and np.all(up[:, 0] == 0.0)
    np.testing.assert_allclose(np.sort(up[:, 1]), np.sort(z[:, 1]))
    # No cone rim where an axis is projected (the rim needs three real dims).
    assert cone_rim(cones[0], (2, None, 0)) is None
    assert not [line for line in fig.axes[1].lines if line.get_linestyle() == "-"]
    assert f"{width}-dimensional latent" in alt
    assert "view 2 plots dim 2 across, nothing up (projected to 0), with dim 0 towards the viewer" in alt
    assert "draws every point at 0 along that axis" in alt
    check_saved(fig, alt, tmp_path / f"latents-{width}d.png")


def test_latent_views_refuse_a_dim_outside_the_latent_or_no_dim():
    z, rgb = wide_latents(3)
    for bad in ((1, 0, 3), (None, None, None), (1, 1, None)):
        with pytest.raises(ValueError, match="3 distinct dims below 3 or None"):
            plot_latent_views(z, rgb, rgb, dims=(bad,))


def test_latent_grid_has_six_panels_in_two_rows(tmp_path):
    z, rgb = wide_latents(5)
    views = ((1, 0, 2), (2, 0, 1), (3, 0, 1), (4, 1, 2), (3, 2, 4), (4, 3, 0))
    for theme in ("light", "dark"):
        fig, alt = plot_latent_views(z, rgb, rgb, dims=views, title="grid", theme=theme, columns=3)
        FigureCanvasAgg(fig).draw()
        shown = [ax for ax in fig.axes if ax.get_visible()]
        assert len(shown) == 6
        rows = sorted({round(ax.get_position().y0, 3) for ax in shown})
        cols = sorted({round(ax.get_position().x0, 3) for ax in shown})
        assert len(rows) == 2 and len(cols) == 3
        assert [ax.get_title().split("  ·")[0] for ax in shown] == [f"dims {v}" for v in views]
        assert "6 orthographic views in 2 rows of 3 of a 5-dimensional latent" in alt
        check_saved(fig, alt, tmp_path / f"grid-{theme}.png")
    fig, _ = plot_latent_views(z, rgb, rgb, dims=views[:5], columns=3)  # five views: one cell left empty
    assert sum(ax.get_visible() for ax in fig.axes) == 5


def test_stacked_views_may_project_an_axis(tmp_path):
    z, rgb = wide_latents(4)
    _, _, _, cube = hsv_cube(12, 4, 5, order="vhs")
    slices = cube[1:, :, -1]
    err = np.random.default_rng(1).uniform(0, 0.1, (30, 8))
    fig, alt = plot_stacked(
        z, rgb, rgb, [(2, None, 0), (1, 0, 2)], slices, slices, np.linspace(0.25, 1, 4), np.arange(12) * 30.0,
        err, np.linspace(-30, 390, 30), np.linspace(0, 1, 8),
    )  # fmt: skip
    assert fig.axes[0].get_title() == "dim 2 →, – ↑, depth dim 0"
    points = drawn_points(fig.axes[0])
    assert np.all(points[:, 1] == 0.0) and len(points) == len(z)
    assert "dim 2 across, nothing up (projected to 0)" in alt
    check_saved(fig, alt, tmp_path / "stacked-projected.png")


# --- the RGB cube along its grey axis (§B.11) --------------------------------------------------------


def test_rgb_cube_front_and_back_views(tmp_path):
    from matplotlib.collections import PolyCollection

    from ex_color.plots import plot_rgb_cube
    from ex_color.plots.rgb_cube import CORNERS, SIDES, cube_projection, visible_faces

    # Black at the bottom, white on top; primaries a third of the way up, secondaries two thirds.
    for towards in SIDES.values():
        heights = {name: cube_projection(np.array(rgb, float), towards)[1] for name, rgb in CORNERS.items()}
        top = np.sqrt(3)
        assert heights["black"] == pytest.approx(0) and heights["white"] == pytest.approx(top)
        for name in ("red", "green", "blue"):
            assert heights[name] == pytest.approx(top / 3)
        for name in ("yellow", "cyan", "magenta"):
            assert heights[name] == pytest.approx(2 * top / 3)
    assert visible_faces(SIDES["front"]) == [(0, 1.0), (1, 0.0), (2, 0.0)]  # the faces around red
    assert visible_faces(SIDES["back"]) == [(0, 0.0), (1, 1.0), (2, 1.0)]  # the faces around cyan
    # The corner facing the viewer sits on the axis: red in front, cyan behind.
    assert cube_projection(np.array([1.0, 0, 0]), SIDES["front"])[0] == pytest.approx(0)
    for theme in ("light", "dark"):
        fig, alt = plot_rgb_cube(theme=theme)
        assert [ax.get_title() for ax in fig.axes] == ["front: red towards you", "back: cyan towards you"]
        for ax, side in zip(fig.axes, SIDES):
            faces = [c for c in ax.collections if isinstance(c, PolyCollection)]
            assert len(faces) == 3
            colours = np.concatenate([f.get_facecolor()[:, :3] for f in faces])
            # front: every cell has r = 1, g = 0 or b = 0 (up to the cell centre's half step)
            near = (colours[:, 0] > 0.98) | (colours[:, 1] < 0.02) | (colours[:, 2] < 0.02)
            far = (colours[:, 0] < 0.02) | (colours[:, 1] > 0.98) | (colours[:, 2] > 0.98)
            assert (near if side == "front" else far).all()
        assert "primaries" in alt and "one third of the way up" in alt and "secondaries" in alt
        check_saved(fig, alt, tmp_path / f"rgb-cube-{theme}.png")
