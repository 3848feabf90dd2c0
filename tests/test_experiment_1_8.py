"""Experiment 1.8 (later-experiments §2): a Hydra sweep over the 31 non-empty subsets of 1.7's five
regularizers, each job keeping its subset (the others absent), and the sweep's contact sheet."""

import csv
from itertools import combinations

import pytest

from conftest import excolor
from ex_color.config import compose

FIVE = ["reg-polar", "reg-separate", "reg-planar", "reg-norm-v", "reg-norm"]
SUBSETS = [list(c) for size in range(1, 6) for c in combinations(FIVE, size)]
SHORT = "STEP,PHASE,ACTION,lr,reg-separate,reg-planar,reg-norm,reg-norm-v,reg-polar\n0,Train,,0.01,0.001,0.02,0.01,0.02,0.006\n20,,,0.01,,,,,\n"


def test_the_sweep_is_the_31_subsets_in_the_original_order():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from hydra import compose as hydra_compose

    from ex_color.config import _hydra_context

    with _hydra_context():
        full = hydra_compose(config_name="train", overrides=["experiment=ex-1.8"], return_hydra_config=True)
    params = full.hydra.sweeper.params
    cfg = compose("train", ["experiment=ex-1.8"])
    (override,) = OverridesParser.create().parse_overrides([f"keep_regularizers={params.keep_regularizers}"])
    assert [list(v) for v in override.sweep_iterator()] == SUBSETS
    assert len(SUBSETS) == 31 and list(cfg.regularizers) == FIVE
    assert cfg.name == "ex-1.8" and cfg.keep_regularizers is None and cfg.history.snapshots > 0


def test_cfg_job_prints_the_experiment(tmp_path):
    assert "name: ex-1.8" in excolor("train", "experiment=ex-1.8", "--cfg", "job", cwd=tmp_path).stdout


@pytest.mark.slow
def test_the_sweep_runs_31_jobs_each_without_the_terms_it_left_out(tmp_path):
    (tmp_path / "short.csv").write_text(SHORT)
    excolor("train", "-m", "experiment=ex-1.8", "dopesheet=short.csv", "history.snapshots=3", "hydra.sweep.dir=sweep",
            cwd=tmp_path)  # fmt: skip
    sweep = tmp_path / "sweep"
    for job, subset in enumerate(SUBSETS):
        with open(sweep / str(job) / "metrics.csv", newline="") as handle:
            header = next(csv.reader(handle))
        assert sorted(c.removeprefix("train/") for c in header if c.startswith("train/reg-")) == sorted(subset), job
    report = excolor("report", "sweep", cwd=tmp_path).stdout
    assert "Across 31 runs" in report and "written: sweep/figures/contact-sheet.png" in report
    alt = (sweep / "figures" / "contact-sheet.txt").read_text()
    assert "a contact sheet of 31 jobs" in alt and "0: polar:" in alt and "30: all 5:" in alt
    assert "25: all but norm:" in alt  # four of five: named by the one left out
