"""`keep_regularizers`: a run trains a subset of its regularizers; the others are absent (not at weight 0),
and their dopesheet columns are ignored (experiment 1.8's sweep over subsets)."""

import csv

import pytest

from conftest import excolor
from ex_color.builders import build_parts, kept_regularizers
from ex_color.config import compose
from ex_color.errors import UserError


def test_the_kept_subset_is_all_that_is_built_and_scheduled():
    cfg = compose("train", ["experiment=smoke", "keep_regularizers=[reg-unit,reg-anchor]"])
    kept, absent = kept_regularizers(cfg)
    assert list(kept) == ["reg-anchor", "reg-unit"]  # in the config's order
    assert absent == ["reg-separate", "reg-planar", "reg-unit-v"]
    parts = build_parts(cfg, warn=False)
    assert [r.name for r in parts.regularizers] == ["reg-anchor", "reg-unit"]
    assert set(parts.timeline.names) == {"lr", "reg-anchor", "reg-unit"}


@pytest.mark.parametrize(
    "value, message",
    [("[reg-nope]", "keep_regularizers: no regularizer named 'reg-nope'"), ("[]", "keep_regularizers: expected")],
)
def test_naming_nothing_is_refused(value, message):
    with pytest.raises(UserError, match=message):
        kept_regularizers(compose("train", ["experiment=smoke", f"keep_regularizers={value}"]))


def test_a_run_with_a_subset_logs_and_reports_only_it(tmp_path):
    excolor("run", "experiment=smoke", "keep_regularizers=[reg-separate]", "interventions=[none]", "hydra.run.dir=run",
            cwd=tmp_path)  # fmt: skip
    with open(tmp_path / "run" / "metrics.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert [c for c in header if c.startswith("train/reg-")] == ["train/reg-separate"]
    report = (tmp_path / "run" / "report.md").read_text()
    assert "`reg-separate`" in report and "`reg-anchor`" not in report
