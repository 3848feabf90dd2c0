"""What the shared reports know of a domain comes from its registry entry (`ex_color.domains.Columns`):
field order, the selectivity field, which columns are better higher, the table note, the score's scale and
whether `excolor plot` draws it. A new domain's entry is all they need."""

from __future__ import annotations

import pytest

from ex_color import domains
from ex_color.domains import Columns, Registered, column_notes
from ex_color.reports.redux_choice import direction, higher_is_better
from ex_color.tasks.report import metric_order, resolve_best


@pytest.mark.parametrize(
    "column,higher",
    [
        ("score", True),
        ("suppression/error_ratio", True),
        ("selectivity.repulsion.delta_ratio", True),
        ("selectivity.repulsion.target_delta", True),
        ("selectivity.repulsion.worst_far.delta", False),
        ("ablation/hue_grey_ratio", True),
        ("ablation/r2", True),
        ("ablation/ratio_median", True),
        ("score/ratio_max", True),
        ("score/delta_3", True),  # the digits' Δ of the concept digit: more damage to it is the aim
        ("score/max_other_delta", False),
        ("recon", False),
        ("val/recon", False),
        ("ablation/mean", False),
    ],
)
def test_each_column_s_direction_comes_from_its_domain(column, higher):
    assert higher_is_better(column) is higher


def test_report_orders_fields_as_the_domains_list_them_and_notes_only_the_domains_present():
    columns = ["ablation/ratio_median", "ablation/mean", "loss", "none/mean", "ablation/target_delta", "recon"]
    assert metric_order(columns) == [
        "loss",
        "recon",
        "none/mean",
        "ablation/mean",
        "ablation/target_delta",
        "ablation/ratio_median",
    ]
    notes = column_notes(columns)
    assert len(notes) == 1 and "concept digit" in notes[0]
    assert resolve_best("selectivity", columns) == "ablation/ratio_median"
    colour = ["suppression/error_ratio", "repulsion/error_ratio", "repulsion/max"]
    assert resolve_best("selectivity", colour) == "repulsion/error_ratio"
    assert "per-colour error" in column_notes(colour)[0]


def test_a_new_domain_s_registry_entry_is_all_the_reports_need(monkeypatch):
    entry = Registered(
        ("sounds",),
        "my_sounds.data",
        "my_sounds.domain:SoundsDomain",
        Columns(fields=("loudness", "leak"), selectivity="leak", higher=("*.leak",), note="leak: what it leaks"),
    )
    monkeypatch.setitem(domains.DOMAINS, "sounds", entry)
    columns = ["mute/leak", "mute/loudness", "loss"]
    assert metric_order(columns) == ["loss", "mute/loudness", "mute/leak"]
    assert higher_is_better("mute/leak") and not higher_is_better("mute/loudness")
    assert resolve_best("selectivity", columns) == "mute/leak"
    assert column_notes(columns) == ["leak: what it leaks"]
    assert domains.registered({"kind": "sounds"}) == ("sounds", entry)
    assert entry.score_scale == "log" and not entry.plots  # the defaults: no `excolor plot`, a log box plot


def test_report_keeps_the_run_s_own_namespaced_columns_and_counts_have_no_better():
    columns = ["ablation/mean", "score/delta_3", "val/recon", "labels/n/three", "loss", "score", "ablation/ratio_max"]
    assert metric_order(columns) == [
        "score/delta_3",
        "val/recon",
        "labels/n/three",
        "loss",
        "score",
        "ablation/mean",
        "ablation/ratio_max",
    ]
    assert [direction(c) for c in ("score/delta_3", "val/recon", "labels/n/three", "labels/n_total")] == [
        "higher",
        "lower",
        "–",
        "–",
    ]
    assert resolve_best("val/recon", columns) == "val/recon"
