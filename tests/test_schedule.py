"""The dopesheet schedule: parsing, validation, easings and the precomputed timeline (spec §4)."""

from pathlib import Path

import numpy as np
import pytest

from ex_color.errors import UserError
from ex_color.schedule import (
    State,
    Timeline,
    ease,
    load_dopesheet,
    minjerk_acceleration,
    minjerk_coefficients,
    minjerk_velocity,
    parse_dopesheet,
    render_track,
)

ROOT = Path(__file__).resolve().parents[1]

SPEC_2_2 = """\
STEP,PHASE,ACTION,lr,reg-separate,reg-anchor,reg-unit,reg-unit-v,reg-polar
0,Train,,1e-8,0.001,0.02,0.01,0.02,
+10,,,0.01,,,,,
+0.1,,,,0.02,,,,
+0.5,,,,0.01,0.08,,,
+0.7,,,,,,,,
10000,,,0.01,0.001,0.02,0.2,,6e-3
+0.5,,,,,,,,2e-4
20000,,,0.005,,,,,
"""


def load(tmp_path: Path, text: str, name: str = "sheet.csv"):
    path = tmp_path / name
    path.write_text(text)
    return load_dopesheet(path)


def timeline(tmp_path: Path, text: str) -> Timeline:
    return Timeline.from_dopesheet(load(tmp_path, text))


def steps_of(sheet) -> list[int]:
    return sorted({s for p in sheet.properties.values() for s, _ in p.keyframes})


# --- parsing ----------------------------------------------------------------------------------


def test_spec_sheet_resolves_steps_and_length(tmp_path):
    sheet = load(tmp_path, SPEC_2_2)
    # Every row's step shows up as a keyframe of some column, except the empty +0.7 row.
    assert steps_of(sheet) == [0, 10, 1000, 5000, 10000, 15000, 20000]
    assert sheet.length == 20001
    assert sheet.properties["lr"].keyframes == [(0, 1e-8), (10, 0.01), (10000, 0.01), (20000, 0.005)]
    assert sheet.properties["reg-polar"].keyframes == [(10000, 6e-3), (15000, 2e-4)]
    assert sheet.phases == [(0, "Train")]
    assert sheet.events == {}
    assert sheet.source == str(tmp_path / "sheet.csv")
    # The empty row still resolves (to 7000): key it to see.
    keyed = SPEC_2_2.replace("+0.7,,,,,,,,", "+0.7,,,,,,,,1")
    assert steps_of(load(tmp_path, keyed)) == [0, 10, 1000, 5000, 7000, 10000, 15000, 20000]


def test_fractions_round_half_up(tmp_path):
    # Anchors 0 and 5: +0.5 → 2.5 → 3, +0.25 → 1.25 → 1, +0.3 → 1.5 → 2,
    # -0.5 → 5 - 2.5 = 2.5 → 3, -0.3 → 5 - 1.5 = 3.5 → 4.
    text = "STEP,a,b,c,d,e\n0,0,0,0,0,0\n+0.5,1,,,,\n+0.25,,1,,,\n+0.3,,,1,,\n-0.5,,,,1,\n-.3,,,,,1\n5,2,2,2,2,2\n"
    sheet = load(tmp_path, text)
    second = {name: p.keyframes[1][0] for name, p in sheet.properties.items()}
    assert second == {"a": 3, "b": 1, "c": 2, "d": 3, "e": 4}
    assert sheet.length == 6


def test_relative_steps_and_ordering(tmp_path):
    text = 'STEP,PHASE,ACTION,x\n0,warm,start,0\n-3,,mid,\n+2,,,2\n10,cool,"a, ,b",10\n-0.2,,,8\n20,,,20\n'
    sheet = load(tmp_path, text)
    # rows: 0, 7 (10 - 3), 2, 10, 18 (20 - 0.2*10), 20
    assert sheet.properties["x"].keyframes == [(0, 0.0), (2, 2.0), (10, 10.0), (18, 8.0), (20, 20.0)]
    assert sheet.events == {0: ["start"], 7: ["mid"], 10: ["a", "b"]}
    assert sheet.phases == [(0, "warm"), (10, "cool")]
    assert sheet.length == 21
    tl = Timeline.from_dopesheet(sheet)
    assert tl.phases == [(0, "warm"), (10, "cool")] and tl.events == {0: ["start"], 7: ["mid"], 10: ["a", "b"]}


def test_header_defaults_and_options(tmp_path):
    text = " STEP , x , y:log , z::step-end, w:log:linear, v:linear:step\n0,1,1,1,1,1\n4,2,2,2,2,2\n"
    sheet = load(tmp_path, text)
    got = {n: (p.space, p.easing, p.column) for n, p in sheet.properties.items()}
    assert got == {
        "x": ("linear", "minjerk", "x"),
        "y": ("log", "minjerk", "y:log"),
        "z": ("linear", "step-end", "z::step-end"),
        "w": ("log", "linear", "w:log:linear"),
        "v": ("linear", "step-end", "v:linear:step"),
    }
    assert list(sheet.properties) == ["x", "y", "z", "w", "v"]


def test_parse_from_text_and_blank_lines():
    sheet = parse_dopesheet("STEP,x\n\n0,1\n\n3,2\n\n", "inline")
    assert sheet.source == "inline" and sheet.length == 4


# --- easings ----------------------------------------------------------------------------------


def test_minjerk_hand_values():
    track = render_track([(0, 0.0), (10, 1.0)], 11)
    assert track[5] == 0.5
    tau = 0.2
    assert track[2] == pytest.approx(10 * tau**3 - 15 * tau**4 + 6 * tau**5, abs=1e-15)
    assert track[0] == 0.0 and track[10] == 1.0


def test_minjerk_hits_keyframes_at_rest_and_is_monotone():
    keys = [(0, 0.0), (100, 5.0), (250, -2.0), (300, 3.5)]
    track = render_track(keys, 401)
    for step, value in keys:
        assert track[step] == value
        lo, hi = max(step - 1, 0), min(step + 1, 400)
        assert abs(track[hi] - track[lo]) < 1e-4 * abs(5.0)  # zero velocity near keyframes
    for (t0, v0), (t1, v1) in zip(keys, keys[1:]):
        diffs = np.diff(track[t0 : t1 + 1]) * np.sign(v1 - v0)
        assert np.all(diffs >= 0)
        mid = (t0 + t1) // 2
        if (t1 - t0) % 2 == 0:
            assert track[mid] == pytest.approx((v0 + v1) / 2, abs=1e-12)
    assert np.all(track[300:] == 3.5)


def test_holds_before_first_and_after_last_keyframe():
    track = render_track([(10, 2.0), (20, 4.0)], 31)
    assert np.all(track[:11] == 2.0) and np.all(track[20:] == 4.0)


def test_linear_midpoint_and_step_end():
    lin = render_track([(0, 1.0), (10, 3.0)], 11, "linear")
    assert lin[5] == 2.0 and np.allclose(np.diff(lin), 0.2)
    step = render_track([(0, 1.0), (10, 3.0)], 12, "step-end")
    assert np.all(step[:10] == 1.0) and step[10] == 3.0 and step[11] == 3.0


def test_log_space_minjerk_midpoint():
    track = render_track([(0, 1e-4), (10, 1e-2)], 11, "minjerk", "log")
    assert track[5] == pytest.approx(1e-3, rel=1e-12)
    assert track[0] == 1e-4 and track[10] == 1e-2


def test_retargeting_is_continuous():
    # Linear 0→1 over 10 steps (slope 0.1), then min-jerk to 0 over 20: starts moving at 0.1/step.
    track = render_track([(0, 0.0), (10, 1.0), (30, 0.0)], 31, ["linear", "minjerk"])
    before = track[10] - track[9]
    after = track[11] - track[10]
    assert before == pytest.approx(0.1)
    assert after == pytest.approx(0.1, abs=0.01)  # second-order: a ~1% change per step
    coeffs = minjerk_coefficients(1.0, 0.1, 0.0, 0.0, 20)
    assert minjerk_velocity(coeffs, 0.0, 20) == pytest.approx(0.1)
    assert minjerk_velocity(coeffs, 1.0, 20) == pytest.approx(0.0, abs=1e-15)
    # Re-targeting a min-jerk from a moving state: value and velocity continue.
    values, end = ease("minjerk", State(2.0, -0.3, 0.01), 5.0, 40)
    assert values[0] == 2.0 and values[-1] == 5.0 and end == State(5.0, 0.0, 0.0)
    assert values[1] - values[0] == pytest.approx(-0.3, abs=0.01)
    coeffs = minjerk_coefficients(2.0, -0.3, 0.01, 5.0, 40)
    assert minjerk_velocity(coeffs, 0.0, 40) == pytest.approx(-0.3)
    assert minjerk_acceleration(coeffs, 0.0, 40) == pytest.approx(0.01)
    assert minjerk_acceleration(coeffs, 1.0, 40) == pytest.approx(0.0, abs=1e-12)


def test_linear_carries_its_slope():
    _, end = ease("linear", State(1.0), 3.0, 4)
    assert end == State(3.0, 0.5, 0.0)


# --- timeline ---------------------------------------------------------------------------------


def test_timeline_lookup_and_table(tmp_path):
    tl = timeline(tmp_path, "STEP,a,b:log:linear\n0,0,1\n4,1,\n8,,100\n")
    assert tl.length == 9 and tl.names == ("a", "b")
    assert tl.values["a"][2] == 0.5 and tl.values["a"][-1] == 1.0 and len(tl.values["a"]) == 9
    assert tl.values["b"][4] == pytest.approx(10.0)
    assert tl.keyframes["b"] == [(0, 1.0), (8, 100.0)] and tl.spaces == {"a": "linear", "b": "log"}
    with pytest.raises(ValueError):
        tl.values["a"][0] = 3.0


# --- errors -----------------------------------------------------------------------------------


def assert_user_error(tmp_path, text, *fragments, name="bad.csv"):
    with pytest.raises(UserError) as info:
        load(tmp_path, text, name)
    message = str(info.value)
    assert "\n" not in message
    assert name in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("", ["empty file"]),
        ("\n\n", ["empty file"]),
        ("PHASE,x\n0,1\n", ["row 1", "STEP"]),
        ("STEP,x\n", ["row 1", "no data rows"]),
        ("STEP,x\n0,1\n,2\n", ["row 3", "column 'STEP'", "empty STEP"]),
        ("STEP,x\n0,1\nabc,2\n", ["row 3", "column 'STEP'", "'abc'"]),
        ("STEP,x\n0,1\n+,2\n", ["row 3", "column 'STEP'", "'+'"]),
        ("STEP,x\n0,1\n1.5,2\n", ["row 3", "column 'STEP'", "whole number"]),
        ("STEP,x\n0,1\n+1.5,2\n10,3\n", ["row 3", "column 'STEP'", "between 0 and 1"]),
        ("STEP,x\n0,1\n+1.0,2\n10,3\n", ["row 3", "column 'STEP'", "between 0 and 1"]),
        ("STEP,x\n0,1\n-0.0,2\n10,3\n", ["row 3", "column 'STEP'", "between 0 and 1"]),
        ("STEP,x\n+5,1\n10,2\n", ["row 2", "column 'STEP'", "previous"]),
        ("STEP,x\n+0.5,1\n10,2\n", ["row 2", "column 'STEP'", "previous"]),
        ("STEP,x\n0,1\n-5,2\n", ["row 3", "column 'STEP'", "next"]),
        ("STEP,x\n0,1\n-0.5,2\n", ["row 3", "column 'STEP'", "next"]),
        ("STEP,x\n0,1\n+0.5,2\n", ["row 3", "column 'STEP'", "next"]),
        ("STEP,x\n-20,1\n10,2\n", ["row 2", "column 'STEP'", "step -10"]),
        ("STEP,x\n10,1\n5,2\n", ["row 3", "column 'STEP'", "must not decrease"]),
        ("STEP,x:cubic\n0,1\n", ["row 1", "column 'x:cubic'", "unknown space 'cubic'"]),
        ("STEP,x::bounce\n0,1\n", ["row 1", "column 'x::bounce'", "unknown easing 'bounce'"]),
        ("STEP,x:log:linear:more\n0,1\n", ["row 1", "column 'x:log:linear:more'"]),
        ("STEP,:log\n0,1\n", ["row 1", "column ':log'", "empty property name"]),
        ("STEP,x,\n0,1,2\n", ["row 1", "column ''", "empty property name"]),
        ("STEP,x,x:log\n0,1,1\n", ["row 1", "column 'x:log'", "duplicate"]),
        ("STEP,STEP,x\n0,0,1\n", ["row 1", "column 'STEP'", "duplicate"]),
        ("STEP,x\n0,1\n5,abc\n", ["row 3", "column 'x'", "'abc'"]),
        ("STEP,x\n0,1\n5,nan\n", ["row 3", "column 'x'", "finite"]),
        ("STEP,x\n0,1\n5,-inf\n", ["row 3", "column 'x'", "finite"]),
        ("STEP,x:log\n0,1\n5,0\n", ["row 3", "column 'x:log'", "positive"]),
        ("STEP,x:log\n0,-2\n", ["row 2", "column 'x:log'", "positive"]),
        ("STEP,x\n0,1\n+5,2\n-5,3\n10,4\n", ["row 4", "column 'x'", "step 5", "row 3"]),
        ("STEP,x,y\n0,1,\n", ["column 'y'", "no keyed values"]),
        ("STEP,x\n0,1,5\n", ["row 2", "more cells"]),
    ],
)
def test_malformed_sheets_raise_one_line_user_errors(tmp_path, text, fragments):
    assert_user_error(tmp_path, text, *fragments)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(UserError, match="dopesheet not found: .*nope.csv"):
        load_dopesheet(path)


def test_check_names(tmp_path):
    sheet = load(tmp_path, SPEC_2_2, "x.csv")
    known = ["lr", "reg-anchor", "reg-separate", "reg-planar", "reg-unit", "reg-unit-v"]
    with pytest.raises(UserError) as info:
        sheet.check_names(known)
    message = str(info.value)
    assert "x.csv" in message and "column 'reg-polar'" in message
    assert "names no regularizer or setting of this run" in message
    assert "known: lr, reg-anchor, reg-planar, reg-separate, reg-unit, reg-unit-v" in message
    good = load(tmp_path, "STEP,lr,reg-anchor\n0,1,2\n", "z.csv")
    assert good.check_names(known) == ["reg-separate", "reg-planar", "reg-unit", "reg-unit-v"]


# --- shipped sheets ---------------------------------------------------------------------------

SHIPPED_COLUMNS = ["lr", "reg-separate", "reg-anchor", "reg-unit", "reg-unit-v", "reg-planar"]


def test_shipped_ex_2_2_sheet():
    sheet = load_dopesheet(ROOT / "dopesheets" / "ex-2.2.csv")
    assert sheet.length == 20001
    assert list(sheet.properties) == SHIPPED_COLUMNS
    assert sheet.check_names(SHIPPED_COLUMNS) == []
    tl = Timeline.from_dopesheet(sheet)
    assert np.all(tl.values["reg-planar"] == 1.0)
    lr = tl.values["lr"]
    assert lr[10] == 0.01 and lr[0] == 1e-8 and lr[20000] == 0.005
    assert tl.values["reg-separate"][1000] == 0.02 and tl.values["reg-anchor"][5000] == 0.08
    assert tl.phases == [(0, "Train")]


def test_shipped_smoke_sheet():
    sheet = load_dopesheet(ROOT / "dopesheets" / "smoke.csv")
    assert sheet.length == 301
    assert list(sheet.properties) == SHIPPED_COLUMNS
    tl = Timeline.from_dopesheet(sheet)
    assert tl.values["lr"].max() == 0.01
    assert np.all(tl.values["reg-planar"] == 1.0)
