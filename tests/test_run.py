"""The main job and sweeps through the real CLI: `excolor run`, Hydra multirun with the joblib launcher,
and `excolor report` on what they leave."""

import json
import re
from pathlib import Path

import pytest

from ex_color.reports.render import number

from conftest import excolor

pytestmark = pytest.mark.slow

LINK = re.compile(r"!?\[(?:\\.|[^\]\\])*\]\(([^)]+)\)")


def last_run_dir(result) -> Path:
    return Path(result.stdout.strip().splitlines()[-1].removeprefix("run directory: "))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """A finished `excolor run experiment=smoke` (train, three interventions, figures, report)."""
    workdir = tmp_path_factory.mktemp("run")
    result = excolor("run", "experiment=smoke", cwd=workdir)
    run_dir = last_run_dir(result)
    assert run_dir.parent.parent == workdir / "outputs"
    assert (workdir / "outputs" / "latest").resolve() == run_dir.resolve()
    return run_dir


def test_run_writes_every_intervention_figure_and_the_report(full_run):
    for kind in ("none", "suppression", "repulsion"):
        assert (full_run / "interventions" / kind / "metrics.json").is_file()
    assert sorted(p.name for p in (full_run / "figures").glob("*.png")) == [
        "colors.png",
        "error.png",
        "latents.png",
        "schedule.png",
        "stacked.png",
        "training.png",
    ]
    for kind in ("suppression", "repulsion"):
        names = sorted(p.name for p in (full_run / "interventions" / kind / "figures").glob("*.png"))
        assert names == [
            "colors.png",
            "error.png",
            "intervention.png",
            "latents.png",
            "similarity.png",
            "stacked.png",
        ]
    assert (full_run / "report.md").is_file()


def test_stacked_figures_share_their_error_axis_across_the_conditions(full_run):
    """The baseline's and every intervention's stacked figure: one y limit, 5% above the highest error at full
    saturation on the loss cube among them (each predictions.npz holds its condition's)."""
    import numpy as np

    from ex_color.plots._common import fmt

    paths = [full_run / "figures" / "stacked.txt"] + [
        full_run / "interventions" / kind / "figures" / "stacked.txt" for kind in ("suppression", "repulsion")
    ]
    tops = {re.search(r"the y axis runs from 0 to ([0-9.e+-]+)", path.read_text()).group(1) for path in paths}
    saved = [
        float(np.load(full_run / "interventions" / kind / "predictions.npz")["stacked_error_max"])
        for kind in ("none", "suppression", "repulsion")
    ]
    assert tops == {fmt(1.05 * max(saved))}
    assert saved[0] < max(saved)  # the baseline's panel is drawn against the interventions' scale


def test_every_relative_link_in_the_report_resolves(full_run):
    text = (full_run / "report.md").read_text()
    targets = [t for t in LINK.findall(text) if not t.startswith(("#", "http://", "https://"))]
    images = [t for t in targets if t.endswith(".png")]
    assert len(images) == 6 + 6 + 6  # the run's figures, then each hook intervention's
    assert "figures/schedule.png" in images and "figures/training.png" in images
    for target in targets:
        assert not Path(target).is_absolute(), target
        assert (full_run / target).is_file(), target


def test_report_holds_config_losses_and_every_interventions_metrics(full_run):
    text = (full_run / "report.md").read_text()
    assert text.startswith("# smoke · seed 0")
    for fragment in (
        "| experiment | smoke |",
        "| steps | 301 |",
        "`reg-anchor`",
        "Anchor(point=",
        "dopesheet.csv",
        "Final losses (mean of the last 3 of 301 steps)",
    ):
        assert fragment in text, fragment
    for kind in ("none", "suppression", "repulsion"):
        metrics = json.loads((full_run / "interventions" / kind / "metrics.json").read_text())
        section = text.split(f"### {kind}\n", 1)[1].split("\n### ", 1)[0]
        assert f"| max | {number(metrics['baseline']['max'])} |" in section
        assert f"| on/off-target error ratio | {number(metrics['selectivity']['baseline_error_ratio'])} |" in section
        red = metrics["named_colors"]["red"]
        assert f"| red | 1, 0, 0 | {number(red['baseline'])} |" in section
        if kind != "none":
            assert number(metrics["intervened"]["mean"]) in section
            assert number(metrics["selectivity"]["error_ratio"]) in section
            assert f"{number(red['intervened'])} | {number(red['delta'])} |" in section


def test_run_writes_the_named_colour_tables_for_papers(full_run):
    """named-colors.html and .tex beside report.md, one column group per intervention, the numbers of
    metrics.json (test_paper_tables checks their structure)."""
    from test_paper_tables import check_html, check_latex, parse_html_rows

    html = (full_run / "named-colors.html").read_text()
    tex = (full_run / "named-colors.tex").read_text()
    kinds = ("suppression", "repulsion")
    metrics = {k: json.loads((full_run / "interventions" / k / "metrics.json").read_text()) for k in ("none", *kinds)}
    named = metrics["none"]["named_colors"]
    check_html(html, len(named))
    check_latex(tex)
    rows = parse_html_rows(html)
    assert list(rows) == list(named)
    for name, row in named.items():
        expected = [row["baseline"]]
        for kind in kinds:
            other = metrics[kind]["named_colors"][name]
            assert other["baseline"] == row["baseline"]
            expected += [other["intervened"], other["delta"]]
        assert rows[name] == pytest.approx(expected, abs=5e-4 + 1e-9), name
    assert all(f"\\multicolumn{{2}}{{c}}{{{kind}}}" in tex for kind in kinds)
    assert tex.count("\\ncswatch{nc") == len(named)


def test_report_of_one_run_and_rewriting_its_report(full_run, tmp_path):
    before = (full_run / "report.md").read_text()
    (full_run / "report.md").unlink()
    result = excolor("report", str(full_run), "--run-reports", cwd=tmp_path)
    assert (full_run / "report.md").read_text().split("\n", 4)[4] == before.split("\n", 4)[4]  # all but the date
    assert (
        "repulsion/error_ratio" in result.stdout
        and "Best run by repulsion/error_ratio (higher is better)" in result.stdout
    )


def test_intervention_mistakes_fail_before_training(tmp_path):
    result = excolor(
        "run",
        "experiment=smoke",
        'intervention_overrides.repulsion=["intervention.mapper.a=0.7"]',
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "intervention repulsion" in result.stderr and "a must be less than b" in result.stderr
    result = excolor("run", "experiment=smoke", "interventions=[none,nosuch]", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "unknown intervention 'nosuch'" in result.stderr
    assert not (tmp_path / "outputs").exists()


def test_joblib_sweep_gives_each_job_its_run_and_report_summarises_it(tmp_path):
    result = excolor("train", "-m", "experiment=smoke", "seed=0,1", "hydra/launcher=joblib", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert "n_jobs=2" in output and "validated against ConfigStore" not in output
    sweeps = list((tmp_path / "multirun" / "smoke").iterdir())
    assert len(sweeps) == 1
    sweep = sweeps[0]
    for job in ("0", "1"):
        assert (sweep / job / "checkpoints" / "last.ckpt").is_file()
        assert f"run directory: {sweep / job}" in result.stdout
    assert (tmp_path / "outputs" / "latest").resolve().parent == sweep.resolve()

    report = excolor("report", str(sweep), cwd=tmp_path)
    assert "Across 2 runs" in report.stdout and "±" in report.stdout
    assert re.search(r"Best run by loss \(lower is better\): [01] = ", report.stdout)
    assert "seed=0" in report.stdout and "seed=1" in report.stdout

    figure = sweep / "figures" / "final-metrics.png"
    assert f"written: {figure}" in report.stdout and figure.is_file()
    alt = figure.with_suffix(".txt").read_text()
    assert alt.startswith("smoke: final metrics of 2 runs") and "loss (log scale): 2 runs from" in alt

    report = excolor("report", "multirun", "--best", "recon", "--output", "summary.md", cwd=tmp_path)
    text = (tmp_path / "summary.md").read_text()
    assert "written: summary.md" in report.stdout
    assert "written: multirun/figures/final-metrics.png" in report.stdout  # one folder named: its figures
    report = excolor("report", str(sweep / "0"), str(sweep / "1"), cwd=tmp_path)
    assert "written:" not in report.stdout  # several paths: no folder of their own, no figures
    assert text.startswith("# Summary of 2 runs") and "| metric | better | mean ± std |" in text
    assert re.search(r"\| `recon` \| lower \| [0-9.e-]+ ± [0-9.e-]+ \|", text)
    assert "**Best run by recon (lower is better): " in text


def test_a_failing_job_fails_alone_in_one_line(tmp_path):
    (tmp_path / "ok.csv").write_text("STEP,PHASE,ACTION,lr\n0,Train,,0.01\n50,,,0.01\n")
    (tmp_path / "boom.csv").write_text("STEP,PHASE,ACTION,lr\n0,Train,,1e30\n50,,,1e30\n")
    result = excolor(
        "train",
        "-m",
        "experiment=smoke",
        "regularizers=none",
        f"dopesheet={tmp_path / 'ok.csv'},{tmp_path / 'boom.csv'}",
        "hydra/launcher=joblib",
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("excolor: error:")]
    assert len(errors) == 2 and "Traceback" not in result.stderr
    assert errors[0].startswith("excolor: error: job 1 (") and "non-finite" in errors[0]
    assert errors[1].startswith("excolor: error: 1 of 2 sweep jobs failed (job 1)")
    sweep = next((tmp_path / "multirun" / "smoke").iterdir())
    assert json.loads((sweep / "1" / "error.json").read_text())["exit_code"] == 1
    assert (sweep / "0" / "checkpoints" / "last.ckpt").is_file()
    report = excolor("report", str(sweep), cwd=tmp_path)
    assert "Across 1 run" in report.stdout and "Left out 1 failed sweep job" in report.stdout
