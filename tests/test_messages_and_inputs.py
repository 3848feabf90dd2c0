"""One-line messages that keep the key and the reason, and inputs refused where they are wrong, through
the real CLI."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import excolor, one_line_error

pytestmark = pytest.mark.slow

BOOM = "STEP,PHASE,ACTION,lr,reg-anchor\n0,Train,,0.01,1\n300,,,0.01,1\n"
FAR_ANCHOR = "regularizers.reg-anchor.loss.point=[1e30,0,0,0]"  # its loss overflows float32 at once


@pytest.mark.parametrize(
    "override,fragments",
    [
        (
            "+regularizers.reg-anchor.loss.nosuch=1",
            [
                "regularizers.reg-anchor.loss",
                "Error in call to target 'ex_color.losses.Anchor': TypeError(",
                "unexpected keyword argument 'nosuch'",
            ],
        ),
        (
            "optimizer._target_=os.system",
            ["optimizer:", "is blocklisted because it allows config data", "HYDRA_INSTANTIATE_ALLOWLIST_OVERRIDE"],
        ),
        ("experiment=nosuch", ["experiment/nosuch", "Available options in 'experiment':", "ex-2.2", "smoke"]),
    ],
)
def test_hydra_s_multi_line_errors_become_one_line_with_the_key_and_the_reason(tmp_path, override, fragments):
    text = one_line_error(excolor("train", "experiment=smoke", override, cwd=tmp_path, check=False), *fragments)
    assert not text.rstrip().endswith((":", "allows")), text  # not cut mid-sentence
    assert not any(tmp_path.iterdir())


def test_report_best_score_with_nothing_scored_says_so(tmp_path, smoke_run):
    result = excolor("report", str(smoke_run), "--best", "score", cwd=tmp_path, check=False)
    one_line_error(result, "--best score: no run is scored")


def test_a_failure_before_the_first_checkpoint_mentions_no_kept_checkpoint(tmp_path):
    (tmp_path / "boom.csv").write_text(BOOM)
    args = ["experiment=smoke", "dopesheet=boom.csv", "trainer.checkpoint_every=1000", FAR_ANCHOR]
    single = excolor("train", *args, "hydra.run.dir=boom", cwd=tmp_path, check=False)
    assert single.returncode == 1 and "Traceback" not in single.stderr, single.stderr
    last = single.stderr.strip().splitlines()[-1]  # after the training log's lines
    assert "non-finite at step 0" in last and "before the first checkpoint (nothing to resume)" in last
    assert "kept" not in last

    sweep = excolor("train", "-m", *args, "hydra.sweep.dir=sweep", cwd=tmp_path, check=False)
    assert sweep.returncode == 1, sweep.stderr
    job_line = next(line for line in sweep.stderr.splitlines() if line.startswith("excolor: error: job 0"))
    assert "before the first checkpoint" in job_line and "kept" not in job_line
    assert "kept" not in (tmp_path / "sweep" / "0" / "error.json").read_text()


def test_infer_refuses_no_colours_and_numbers_that_are_not_real(tmp_path, smoke_run):
    (tmp_path / "empty.csv").write_text("r,g,b\n")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    np.save(tmp_path / "complex.npy", np.full((2, 3), 0.5 + 0.5j))
    for name, fragments in (
        ("empty.csv", ["no colours (0 rows)"]),
        ("empty.npy", ["no colours (0 rows)"]),
        ("complex.npy", ["expected real numbers", "complex"]),
    ):
        for output in ([], ["--output", "out.npz"]):
            result = excolor("infer", "--run", str(smoke_run), "--input", name, *output, cwd=tmp_path, check=False)
            one_line_error(result, name, *fragments)
    assert not (tmp_path / "out.npz").exists()


def test_a_dopesheet_whose_first_step_is_not_0_is_refused_naming_the_row(tmp_path):
    (tmp_path / "late.csv").write_text("STEP,PHASE,ACTION,lr\n-5,Train,,0.01\n30,,,0.01\n")
    result = excolor("train", "experiment=smoke", "dopesheet=late.csv", cwd=tmp_path, check=False)
    one_line_error(result, "late.csv, row 2", "resolves to step 25", "the first row must be step 0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.csv"]
