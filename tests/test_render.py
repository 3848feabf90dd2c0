"""How numbers read in every table (terminal, report.md, summary.md)."""

import math

from ex_color.reports.render import number


def test_numbers_read_as_metrics_and_counts():
    assert number(0.000123456) == "0.0001235"  # four significant digits
    assert number(3.3) == "3.3"
    assert number(96064.0) == "96064"  # a count in full, not 9.606e+04
    assert number(0.0) == "0" and number(-2.0) == "-2"
    assert number(12_345_678.0) == "1.235e+07"
    assert number(math.nan) == "–" and number(None) == "–" and number(math.inf) == "inf"
