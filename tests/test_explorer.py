"""The interactive explorer (issue 15, point 4): `excolor plot explorer` writes figures/explorer.html, one page
that loads nothing from the network, with a trace per condition, dims choosers covering the latent and hover
text of true colour, reconstruction and error; headless Chromium renders it (skipped where none is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from ex_color.figures.explorer import Condition, explorer_html, hover_text, widened

from conftest import excolor

DATA = re.compile(r'<script id="explorer-data" type="application/json">(.*?)</script>', re.S)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def embedded(page: str) -> dict:
    return json.loads(DATA.search(page).group(1))


def select_options(page: str, select_id: str) -> list[str]:
    block = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"', block)


def assert_self_contained(page: str) -> None:
    """No script, link, image or frame is fetched: no src/href pointing anywhere outside the page."""
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, re.I)
    fetched = [tag for tag in tags if re.search(r"\b(?:src|href)\s*=", tag, re.I)]
    assert not fetched, fetched
    assert "<script>" in page and "Plotly.newPlot" in page  # plotly.js itself is inline


def synthetic(width: int = 5, removed=()):
    colours = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(4, width)).astype(np.float32)
    outputs = colours.copy()
    outputs[0] = [0.5, 0.0, 0.0]  # red comes back dark red
    base = Condition("none", "baseline (no intervention)", latents, colours)
    narrow = np.delete(latents, list(removed), axis=1)
    pruned = Condition("prune", "prune", widened(narrow, width, removed), outputs, "dims removed", tuple(removed))
    return colours, [base, pruned]


def test_page_is_self_contained_with_a_trace_per_condition_and_dims_covering_the_latent():
    colours, conditions = synthetic(5, removed=(0,))
    page = explorer_html(colours, conditions, 5, initial="prune", view=(1, 0, 2), presets=[(1, 0, 2), (3, 0, 1)])
    assert_self_contained(page)
    data = embedded(page)
    assert [c["name"] for c in data["conditions"]] == ["none", "prune"]
    assert data["initial"] == "prune" and data["width"] == 5
    assert select_options(page, "condition") == ["none", "prune"]
    assert '<option value="prune" selected>' in page
    for axis in "xyz":  # every dim of the latent, and none (projected to 0), on each axis
        assert select_options(page, f"dim-{axis}") == ["0", "1", "2", "3", "4", "none"]
    for condition in data["conditions"]:
        assert len(condition["dims"]) == 5 and all(len(d) == 4 for d in condition["dims"])
    # the prune's removed dim is drawn at 0 in the trained dims; the kept ones stay in place
    prune = data["conditions"][1]
    assert prune["dims"][0] == [0.0] * 4 and prune["removed"] == [0]
    assert prune["dims"][1] == data["conditions"][0]["dims"][1]
    assert "</script" not in DATA.search(page).group(1)


def test_hover_text_holds_true_colour_reconstruction_and_error():
    colours, conditions = synthetic(4)
    page = explorer_html(colours, conditions, 4)
    data = embedded(page)
    red = data["truth"][0] + "<br>" + data["conditions"][1]["hover"][0]  # what the page joins for a point
    assert red == hover_text(colours, conditions[1].outputs)[0]
    assert "true" in red and "#ff0000 (255, 0, 0)" in red
    assert "reconstruction" in red and "#800000 (128, 0, 0)" in red
    assert "MSE 0.0833" in red  # ((1 - 0.5)² + 0 + 0) / 3
    assert data["colours"][3] == "#808080"
    assert "MSE 0<" in data["conditions"][0]["hover"][0] + "<"  # the baseline here reconstructs exactly


def test_the_page_has_the_figures_themes():
    colours, conditions = synthetic(4)
    assert 'data-theme="dark"' in explorer_html(colours, conditions, 4, theme="dark")
    with pytest.raises(ValueError, match="theme: expected one of light, dark"):
        explorer_html(colours, conditions, 4, theme="sepia")


def test_widened_places_kept_dims_and_zeros_the_removed():
    narrow = np.arange(6, dtype=np.float32).reshape(2, 3)
    wide = widened(narrow, 5, (0, 3))
    assert wide.tolist() == [[0, 0, 1, 0, 2], [0, 3, 4, 0, 5]]
    assert widened(narrow, 3, ()) is not None and widened(narrow, 3, ()).shape == (2, 3)


# --- end to end, on a real run ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def explored(smoke_run, tmp_path_factory):
    """A copy of the smoke run with suppression and a prune of dim 0 evaluated, and its explorer page."""
    run = tmp_path_factory.mktemp("explorer") / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("interventions", "figures", "report.md"))
    excolor("intervene", "--kind", "suppression", "--run", str(run), cwd=run.parent)
    excolor("intervene", "--kind", "prune", "--run", str(run), "intervention.dims=[0]", cwd=run.parent)
    result = excolor("plot", "explorer", "--run", str(run), "--kind", "prune", cwd=run.parent)
    page = run / "figures" / "explorer.html"
    assert result.stdout.strip() == str(page)
    return run, page


@pytest.mark.slow
def test_cli_writes_the_page_for_the_baseline_and_each_evaluated_intervention(explored):
    run, path = explored
    page = path.read_text()
    assert_self_contained(page)
    assert path.stat().st_size < 8_000_000
    data = embedded(page)
    assert [c["name"] for c in data["conditions"]] == ["none", "suppression", "prune"]
    assert data["initial"] == "prune" and data["width"] == 4
    assert all(select_options(page, f"dim-{axis}") == ["0", "1", "2", "3", "none"] for axis in "xyz")
    steps = round(len(data["colours"]) ** (1 / 3))
    assert len(data["colours"]) == steps**3  # the run's RGB grid
    prune = data["conditions"][2]
    assert prune["removed"] == [0] and set(prune["dims"][0]) == {0.0} and "removed dim 0" in prune["note"]
    assert 0 not in data["view"]  # it opens on the prune: on a view that shows no removed dim
    assert len(set(data["conditions"][0]["dims"][0])) > 10
    # the red corner of the grid: its true colour, the reconstruction and the error in each condition
    red = data["colours"].index("#ff0000")
    assert data["truth"][red].startswith("true") and "#ff0000 (255, 0, 0)" in data["truth"][red]
    for condition in data["conditions"]:
        assert re.search(r"reconstruction .*#[0-9a-f]{6} \(\d+, \d+, \d+\)<br>MSE [0-9.e+-]+$", condition["hover"][red])
    # without --kind the same page opens on the baseline
    excolor("plot", "explorer", "--run", str(run), cwd=run.parent)
    assert embedded(path.read_text())["initial"] == "none"
    # the figures' dark theme: its own page beside the light one
    excolor("plot", "explorer", "--run", str(run), "--theme", "dark", cwd=run.parent)
    dark = (path.parent / "explorer-dark.html").read_text()
    assert '<html lang="en" data-theme="dark">' in dark and '<html lang="en" data-theme="light">' in path.read_text()
    assert embedded(dark)["conditions"] == embedded(path.read_text())["conditions"]


@pytest.mark.slow
def test_bad_input_gets_one_line_and_exit_2(explored, tmp_path):
    run, _ = explored
    cases = {
        ("--run", str(tmp_path / "missing")): "no such directory",
        ("--run", str(tmp_path)): "not a training run",
        ("--run", str(run), "--kind", "repulsion"): "--kind repulsion: never evaluated on",
        ("--run", str(run), "--kind", "nonsense"): "--kind nonsense: unknown intervention",
    }
    for args, message in cases.items():
        result = excolor("plot", "explorer", *args, cwd=tmp_path, check=False)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("excolor: error: ") and message in lines[0], result.stderr
    assert not (tmp_path / "figures").exists()


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary; the test skips (before any run is made) where there is none."""
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("no Chromium installed (apt-get install chromium): the explorer page was not opened in a browser")
    return found


# The flags that give headless Chromium WebGL without a GPU (SwiftShader); --no-sandbox: CI runs as root.
HEADLESS = ["--headless", "--no-sandbox", "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--hide-scrollbars"]


@pytest.mark.slow
def test_headless_chromium_renders_the_plot_and_the_controls(chromium, explored, tmp_path):
    run, _ = explored
    excolor("plot", "explorer", "--run", str(run), "--kind", "prune", "--out", str(tmp_path), cwd=tmp_path)
    url = (tmp_path / "explorer.html").as_uri()
    shot = tmp_path / "explorer.png"
    common = [chromium, *HEADLESS, "--window-size=1200,900", "--virtual-time-budget=8000"]
    subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout
    # The DOM after load: the controls, a rendered 3-D scene (plotly's SVG layers and its WebGL canvas), the
    # script run to its end, and no "WebGL is not supported" message in place of the plot.
    body = dom.split("<script", 1)[0]
    for label in ("Condition", "Latent dims", 'id="dim-x"', 'id="dim-y"', 'id="dim-z"', "Views"):
        assert label in body, label
    assert 'class="main-svg"' in body and "gl-container" in body and "<canvas" in body
    assert 'data-ready="true"' in dom and "WebGL is not supported" not in body
    assert "prune: per-colour MSE over these" in body  # the note the script writes, for the chosen --kind
    assert "It removed dim 0" in body and "dim 0 (on" not in body  # opens on a view that shows no removed dim
    from matplotlib.image import imread

    image = imread(shot)
    assert image.shape[:2] == (900, 1200)
    pixels = (image[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    colours = np.unique(pixels, axis=0)
    assert len(colours) > 500, len(colours)  # points in their colours, not a blank page
    background = np.all(pixels >= 245, axis=1).mean()
    assert background < 0.97, background
    controls = pixels.reshape(900, 1200, 3)[50:90]  # the row of controls under the title
    assert len(np.unique(controls.reshape(-1, 3), axis=0)) > 20
