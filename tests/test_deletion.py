"""Deleting a subspace end to end (issue 14): a real small run of a 5-D normalised model with the hue plane
(dims 0, 1) ablated and pruned — the six-view grid, views with projected axes mapped through the prune, the
RGB cube beside the deletions, and the hue/grey selectivity in metrics.json, report.md, `excolor report` and
the redux summary's best-seed table."""

import json
import shutil

import pytest
from matplotlib.image import imread

from ex_color.data.colors import GRAY_NAMES, HUE_NAMES
from ex_color.evaluation.metrics import DELTA_FLOOR
from ex_color.evaluation.schema import InterventionMetrics

from conftest import excolor

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GRID_VIEWS = "[[1,0,2],[2,null,0],[3,0,1],[4,1,2],[3,2,4],[4,3,0]]"


def check_png(path) -> str:
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    assert image.shape[1] >= 600 and image.shape[0] >= 300
    alt = path.with_suffix(".txt").read_text().strip()
    assert len(alt) > 80 and "\n" not in alt
    return alt


@pytest.fixture(scope="module")
def deletion_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("deletion")
    excolor(
        "run", "experiment=smoke", "model=color-mlp-norm", "model.bottleneck=5",
        "eval.latent_views=[[3,0,1],[3,2,4]]", f"eval.latents_grid_views={GRID_VIEWS}",
        "interventions=[none,ablation,prune]",
        '+intervention_overrides.ablation=["intervention.dims=[0,1]"]',
        '+intervention_overrides.prune=["intervention.dims=[0,1]"]',
        "hydra.run.dir=deletion", cwd=workdir,
    )  # fmt: skip
    return workdir / "deletion"


def test_five_dim_run_draws_the_grid_and_the_rgb_cube_beside_the_deletions(deletion_run):
    figures = deletion_run / "figures"
    alt = check_png(figures / "latents-grid.png")
    assert "6 orthographic views in 2 rows of 3 of a 5-dimensional latent" in alt
    assert "view 2 plots dim 2 across, nothing up (projected to 0), with dim 0 towards the viewer" in alt
    assert not (figures / "rgb-cube.png").exists()  # the cube explains a deletion: beside it
    for kind in ("ablation", "prune"):
        folder = deletion_run / "interventions" / kind / "figures"
        for name in ("latents", "latents-grid", "stacked", "rgb-cube"):
            check_png(folder / f"{name}.png")
        assert "primaries" in (folder / "rgb-cube.txt").read_text()
    # The pruned model's latent has 3 dims; the configured views follow the trained dims through the prune:
    # stacked (3, 0, 1) -> (1, None, None), (3, 2, 4) -> (1, 0, 2); the grid's (2, None, 0) -> (0, None, None).
    pruned = deletion_run / "interventions" / "prune" / "figures"
    stacked = (pruned / "stacked.txt").read_text()
    assert "3-dimensional latent" in stacked
    assert "dim 1 across, nothing up (projected to 0), with nothing towards the viewer (projected to 0)" in stacked
    assert "dim 1 across, dim 0 up, with dim 2 towards the viewer" in stacked
    grid = (pruned / "latents-grid.txt").read_text()
    assert "(0, 1 removed; 2, 3, 4 → 0, 1, 2)" in grid and "3-dimensional latent" in grid
    assert "dim 0 across, nothing up (projected to 0), with nothing towards the viewer" in grid
    # The shipped `latents` views are fitted to the pruned latent: it is shown whole.
    assert "View 1 plots dim 1 across, dim 0 up, with dim 2 towards the viewer" in (pruned / "latents.txt").read_text()
    report = (deletion_run / "report.md").read_text()
    assert "interventions/ablation/figures/rgb-cube.png" in report
    assert "interventions/prune/figures/latents-grid.png" in report and "](figures/latents-grid.png)" in report


def test_hue_grey_ratio_in_metrics_report_and_summaries(deletion_run, tmp_path):
    ratios = {}
    for kind in ("ablation", "prune"):
        data = json.loads((deletion_run / "interventions" / kind / "metrics.json").read_text())
        delta = {name: row["delta"] for name, row in data["named_colors"].items()}
        hue = min(HUE_NAMES, key=delta.get)
        grey = max(GRAY_NAMES, key=delta.get)
        selectivity = data["selectivity"]
        assert selectivity["smallest_hue_delta_color"] == hue and selectivity["largest_grey_delta_color"] == grey
        expected = delta[hue] / max(abs(delta[grey]), DELTA_FLOOR)
        assert selectivity["hue_grey_ratio"] == pytest.approx(expected)
        ratios[kind] = expected
    assert ratios["ablation"] == pytest.approx(ratios["prune"], rel=1e-4)  # pruning = ablation

    report = (deletion_run / "report.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| hue/grey ratio"))
    assert float(row.rsplit("|", 2)[1]) == pytest.approx(ratios["ablation"], rel=1e-3)

    out = tmp_path / "summary.md"
    excolor("report", str(deletion_run), "--best", "ablation/hue_grey_ratio", "--output", str(out), cwd=tmp_path)
    text = out.read_text()
    assert "| `ablation/hue_grey_ratio` | higher |" in text and "| `prune/hue_grey_ratio` | higher |" in text

    # The redux summary's best-seed selectivity table (the run as the only seed of a redux directory).
    from ex_color.reports import redux

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "seed-0").symlink_to(deletion_run, target_is_directory=True)
    summary = redux.summarise(seeds)
    summary.best = "seed-0"
    tables = "\n".join(table.markdown() for table in summary.best_tables())
    assert "hue/grey ratio" in tables
    ablation = next(line for line in tables.splitlines() if line.startswith("| ablation |"))
    assert float(ablation.rsplit("|", 2)[1].split("(")[0]) == pytest.approx(ratios["ablation"], rel=1e-3)


def test_metrics_json_without_the_hue_grey_ratio_still_reads(deletion_run, tmp_path):
    """metrics.json written before issue 14 reads back with the ratio None: no row, no column, a dash."""
    from ex_color.reports import redux
    from ex_color.reports.results import load_run
    from ex_color.reports.run_report import run_report_markdown

    copy = tmp_path / "old"
    shutil.copytree(deletion_run, copy, ignore=shutil.ignore_patterns("*.png", "predictions.npz"))
    keys = ("smallest_hue_delta", "smallest_hue_delta_color", "largest_grey_delta", "largest_grey_delta_color")
    for path in copy.glob("interventions/*/metrics.json"):
        data = json.loads(path.read_text())
        for key in (*keys, "hue_grey_ratio"):
            del data["selectivity"][key]
        path.write_text(json.dumps(data))
        assert InterventionMetrics.load(path).selectivity.hue_grey_ratio is None
    result = load_run(copy)
    assert not [column for column in result.metrics() if column.endswith("hue_grey_ratio")]
    assert "hue/grey ratio" not in run_report_markdown(result)
    assert redux.hue_grey_text(result.interventions["ablation"].selectivity) == "–"


def test_a_view_naming_a_dim_outside_the_latent_fails_in_one_line_before_training(tmp_path):
    result = excolor("run", "experiment=smoke", "eval.latent_views=[[1,0,7]]", cwd=tmp_path, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "eval.latent_views: view [1, 0, 7] names dim 7, but the latent has 4 dims" in lines[0]
    assert not (tmp_path / "outputs").exists()
    result = excolor(
        "run", "experiment=smoke", "eval.latents_grid_views=[[null,5,0]]", "model.bottleneck=5",
        "interventions=[none]", cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "eval.latents_grid_views: view [null, 5, 0] names dim 5" in result.stderr


def test_plot_draws_the_cube_without_a_run_and_the_grid_when_asked(smoke_run, tmp_path):
    result = excolor("plot", "rgb-cube", "--out", str(tmp_path / "f"), "--theme", "dark", cwd=tmp_path)
    assert result.stdout.strip() == str(tmp_path / "f" / "rgb-cube-dark.png")
    check_png(tmp_path / "f" / "rgb-cube-dark.png")
    excolor("plot", "rgb-cube", cwd=tmp_path)  # no run, no --out: ./figures
    check_png(tmp_path / "figures" / "rgb-cube.png")
    # a 4-D model: `plot all` leaves the grid out, asking for it by name draws the defaults fitted to 4 dims
    excolor("plot", "latents-grid", "--run", str(smoke_run), "--out", str(tmp_path / "g"), cwd=tmp_path)
    alt = check_png(tmp_path / "g" / "latents-grid.png")
    assert "6 orthographic views in 2 rows of 3 of a 4-dimensional latent" in alt
