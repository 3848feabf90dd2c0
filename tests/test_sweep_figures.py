"""`excolor report SWEEP`'s figures (`sweep_figures`) on runs made by hand (test_report's `sweep` fixture); the
real sweep through the CLI is checked in test_run.py."""

from ex_color.reports import sweep_figures
from ex_color.plots.seeds import plot_seed_boxes
from ex_color.reports.sweep_figures import box_plot_scale
from ex_color.tasks.report import report, sweep_folder

from test_report import make_run, sweep  # noqa: F401  (the fixture)


def test_one_folder_of_runs_gets_box_plots_of_every_final_metric(sweep):  # noqa: F811
    summary, written = report([sweep])
    png = sweep / "figures" / "final-metrics.png"
    assert written == [png] and png.is_file() and png.stat().st_size > 10_000
    alt = png.with_suffix(".txt").read_text()
    assert alt.startswith("demo: final metrics of 3 runs: ")
    for metric in (
        "loss (log scale)",
        "recon (log scale)",
        "none/max (log scale)",
        "repulsion/error_ratio (log scale)",
    ):
        assert metric in alt, metric
    assert "3 runs from" in alt and "the best run 1 a larger ringed dot" in alt and "every run named" in alt
    # the figures folder holds no run: the next report finds the same runs; --output shows the figure
    summary, written = report([sweep], output=sweep.parent / "summary.md")
    assert len(summary.runs) == 3 and written[-1] == sweep.parent / "summary.md"
    text = written[-1].read_text()
    assert "## Figures" in text and "](2026-01-01_00-00-00/figures/final-metrics.png)" in text


def test_no_figures_for_several_paths_one_run_or_a_run_itself(sweep, tmp_path):  # noqa: F811
    assert report([sweep / "0", sweep / "1"])[1] == []  # several paths: no folder of their own
    assert sweep_folder([sweep / "0", sweep / "1"]) is None and sweep_folder([sweep / "0"]) is None
    alone = tmp_path / "alone"
    make_run(alone / "0", 0, 0.1)
    assert report([alone])[1] == []  # one run in the folder
    assert not (sweep / "figures").exists() and not (alone / "figures").exists()


def test_scales():
    assert box_plot_scale("score", [0.5]) == "unit" and box_plot_scale("repulsion/r2", [0.1]) == "unit"
    assert box_plot_scale("loss", [0.1, 0.01]) == "log" and box_plot_scale("reg-anchor", [0.0, 0.1]) == "linear"
    assert box_plot_scale("repulsion/delta_ratio", [-0.1, 2.0, float("nan")]) == "linear"


def test_a_writer_added_to_the_registry_is_called(sweep, monkeypatch):  # noqa: F811
    calls = []

    def contact_sheet(summary, out_dir):
        calls.append((len(summary.runs), out_dir))
        return []

    monkeypatch.setattr(sweep_figures, "SWEEP_FIGURES", [*sweep_figures.SWEEP_FIGURES, contact_sheet])
    report([sweep])
    assert calls == [(3, sweep / "figures")]


def test_a_folder_that_cannot_be_written_gets_a_note_not_an_error(sweep):  # noqa: F811
    (sweep / "figures").write_text("a file where the folder would go\n")
    summary, written = report([sweep])
    assert written == [] and len(summary.runs) == 3
    assert any(line.startswith("No sweep figures: sweep figures ") and "is a file" in line for line in summary.lines())


def test_seed_boxes_in_columns_with_every_point_named(tmp_path):
    values = {f"m{i}": {"a": 1.0 + i, "b": 2.0 + i, "c": 4.0 + i} for i in range(5)}
    fig, alt = plot_seed_boxes(values, best="b", unit="job", columns=2, label_points=True)
    assert len(fig.axes) == 5  # 3 rows × 2, the spare cell removed
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["a", "b: 2", "c"]
    assert "3 jobs from" in alt and "across jobs" in alt and "every job named" in alt
