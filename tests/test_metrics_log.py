"""MetricsCSV: one row per step, kept across resumes; a column first seen late joins the header."""

import csv

from ex_color.training.metrics_log import MetricsCSV


def read(path):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def test_a_column_first_logged_later_is_added_to_the_header_with_earlier_rows_kept(tmp_path):
    logger = MetricsCSV(tmp_path)
    logger.log_metrics({"train/loss": 1.0}, step=0)
    logger.log_metrics({"train/loss": 0.5}, step=1)
    logger.save()
    logger.log_metrics({"train/loss": 0.25, "val/recon": 0.1}, step=2)
    logger.save()
    logger.log_metrics({"train/loss": 0.2}, step=3)
    logger.finalize("success")
    columns, rows = read(tmp_path / "metrics.csv")
    assert columns == ["step", "train/loss", "val/recon"]
    assert [(r["step"], r["train/loss"], r["val/recon"]) for r in rows] == [
        ("0", "1.0", ""),
        ("1", "0.5", ""),
        ("2", "0.25", "0.1"),
        ("3", "0.2", ""),
    ]
