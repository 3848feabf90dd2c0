"""`excolor plot` on a real smoke run: every figure, valid PNGs with alt text, and pixels that show the
model's predictions where the figure says they are."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imread

from ex_color import runs
from ex_color.data.cubes import ColorCube
from ex_color.evaluation.predict import predict
from ex_color.evaluation.settings import EvalSettings
from ex_color.plots import plot_color_grid

from conftest import excolor

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_png(path):
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    assert image.shape[1] >= 600 and image.shape[0] >= 200
    alt = path.with_suffix(".txt").read_text().strip()
    assert len(alt) > 80 and "\n" not in alt
    return image


def test_plot_all_draws_every_run_figure(smoke_run):
    result = excolor("plot", "all", "--run", str(smoke_run), cwd=smoke_run)
    names = sorted(p.name for p in (smoke_run / "figures").glob("*.png"))
    assert names == ["colors.png", "error.png", "latents.png", "schedule.png", "stacked.png", "training.png"]
    assert len(result.stdout.strip().splitlines()) == 6
    for name in names:
        check_png(smoke_run / "figures" / name)


@pytest.mark.parametrize("what", ["colors", "error", "latents", "stacked", "similarity", "intervention"])
def test_plot_with_kind_goes_beside_the_intervention(smoke_run, what):
    excolor("plot", what, "--run", str(smoke_run), "--kind", "repulsion", "--theme", "dark", cwd=smoke_run)
    path = smoke_run / "interventions" / "repulsion" / "figures" / f"{what}-dark.png"
    image = check_png(path)
    assert image[2, 2, :3].mean() < 0.3  # dark background


def test_plot_schedule_from_a_csv_alone(tmp_path):
    excolor("plot", "schedule", "--dopesheet", "dopesheets/ex-2.2.csv", "--out", str(tmp_path / "f"), cwd=tmp_path)
    check_png(tmp_path / "f" / "schedule-ex-2.2.png")
    alt = (tmp_path / "f" / "schedule-ex-2.2.txt").read_text()
    assert "lr" in alt and "reg-anchor" in alt


def test_colors_figure_pixels_show_the_real_predictions(smoke_run, tmp_path):
    excolor("plot", "colors", "--run", str(smoke_run), cwd=smoke_run)
    saved = imread(smoke_run / "figures" / "colors.png")
    display = EvalSettings.from_config(runs.load_config(smoke_run).eval).display
    cube = ColorCube.hsv(*display).permute("svh")
    pred = predict(runs.load_model(smoke_run), cube.flat_rgb()).outputs.reshape(cube.rgb.shape)
    # The same figure drawn here tells where each panel sits in the saved image.
    fig, _ = plot_color_grid(
        pred,
        cube.rgb,
        cube.coords["s"],
        cube.coords["v"],
        cube.coords["h"],
        title="Predicted colours · no intervention",
    )
    FigureCanvasAgg(fig).draw()
    boxes = [ax.get_window_extent() for ax in fig.axes]
    assert saved.shape[:2] == (int(round(fig.get_figheight() * fig.dpi)), int(round(fig.get_figwidth() * fig.dpi)))
    n_s, n_v, n_h, _ = pred.shape
    height = saved.shape[0]
    checked = 0
    for s_index in range(n_s):
        box = boxes[s_index]
        for row, col in [(0, 0), (n_v - 1, n_h - 1), (1, n_h // 2)]:
            width_cell, height_cell = box.width / n_h, box.height / n_v
            v_index = n_v - 1 - row

            def pixel(fx, fy):
                x = box.x0 + (col + fx) * width_cell
                y = height - (box.y1 - (row + fy) * height_cell)
                return np.round(saved[int(y), int(x), :3] * 255)

            assert np.abs(pixel(0.85, 0.85) - np.round(pred[s_index, v_index, col] * 255)).max() <= 2
            assert np.abs(pixel(0.5, 0.5) - np.round(cube.rgb[s_index, v_index, col] * 255)).max() <= 2
            checked += 1
    assert checked == 3 * n_s


@pytest.mark.parametrize(
    "args,message",
    [
        (["plot", "nosuch"], "unknown figure 'nosuch'"),
        (["plot", "colors", "--theme", "neon"], "neon"),
        (["plot", "intervention"], "needs --kind suppression or repulsion"),
        (["plot", "similarity"], "needs --kind of an intervention that changes the model"),
        (["plot", "training", "--kind", "repulsion"], "drop --kind"),
    ],
)
def test_plot_mistakes_are_one_line(smoke_run, args, message):
    result = excolor(*args, "--run", str(smoke_run), cwd=smoke_run, check=False)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_similarity_figure_and_metrics_hold_pearson_of_the_measured_arrays(smoke_run, tmp_path):
    from ex_color.builders import build_intervention
    from ex_color.evaluation.measure import RunEvaluation
    from ex_color.evaluation.metrics import per_color_error
    from ex_color.evaluation.similarity import hsv_similarity, pearson, rgb_to_hsv
    from ex_color.figures.writer import FigureWriter
    from ex_color.tasks.plot import intervention_config

    evaluation = RunEvaluation(smoke_run)
    cfg = intervention_config(smoke_run, "suppression")
    result = evaluation.measure(build_intervention(cfg.intervention, cfg.get("concepts") or {}, evaluation.model))
    x, y = result.correlation_arrays()
    rgb = result.probe.rgb.flat_rgb()
    np.testing.assert_allclose(x, hsv_similarity(rgb_to_hsv(rgb), (0.0, 1.0, 1.0)) ** 2)  # red, p = 2
    np.testing.assert_allclose(y, per_color_error(result.intervened.rgb.outputs, rgb))
    fit = pearson(x, y)
    assert (result.metrics.correlation.r, result.metrics.correlation.r2) == (fit.r, fit.r2)
    writer = FigureWriter(smoke_run, out_dir=tmp_path, error_top=0.75)
    alt = writer.similarity(result).with_suffix(".txt").read_text()
    assert f"R² = {fit.r2:.3f}" in alt and f"{len(rgb):,} colours" in alt
    alt = writer.stacked(result).with_suffix(".txt").read_text()
    assert "the y axis runs from 0 to 0.75" in alt and "Stacked result · suppression" in alt
    check_png(tmp_path / "similarity.png")
    check_png(tmp_path / "stacked.png")
