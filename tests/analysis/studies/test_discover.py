"""Scenario discovery: PRIM recovers a planted box, the condition language parses what
it should and refuses the rest in one line (deep nesting too), and a sweep-like folder
turns into cases (one per replication and uncertainty point, two variants compared
within each); a damaged folder is named with its repair."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import UsageError
from analysis.studies.discover.cases import build_cases
from analysis.studies.discover.conditions import MAX_DEPTH, ExprError, Ref, evaluate, parse, refs
from analysis.studies.discover.prim import choose, find_boxes
from analysis.studies.discover.report import discovery_section, results_json, write_outputs
from analysis.studies.discover.run import discover
from analysis.studies.discover.section import SECTION
from analysis.studies.discover.spec import Question


def planted(n: int = 1000, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """x1 in [0.2, 0.5] and x2 > 0.7 -> 1 with probability 0.9, else 0.1; x3 is noise."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(n, 3)), columns=["x1", "x2", "x3"])
    inside = x["x1"].between(0.2, 0.5) & (x["x2"] > 0.7)
    y = rng.uniform(size=n) < np.where(inside, 0.9, 0.1)
    return x, y


def check_planted(box, tol: float = 0.05) -> None:
    lims = {lim["name"]: lim for lim in box.limits}
    assert lims["x1"]["low"] == pytest.approx(0.2, abs=tol)
    assert lims["x1"]["high"] == pytest.approx(0.5, abs=tol)
    assert lims["x2"]["low"] == pytest.approx(0.7, abs=tol)
    assert lims["x2"]["high"] == pytest.approx(lims["x2"]["full_high"])
    if "x3" in lims:  # noise may trim an edge, never a real slice
        assert lims["x3"]["high"] - lims["x3"]["low"] > 0.9 * (
            lims["x3"]["full_high"] - lims["x3"]["full_low"]
        )
    assert box.density > 0.75


def test_prim_recovers_a_planted_box():
    x, y = planted()
    boxes = find_boxes(x, y, boxes=2)
    check_planted(boxes[0])
    assert boxes[0].coverage > 0.35  # 0.9 x 9% of the space against 0.1 elsewhere
    # the trajectory runs from the whole space (coverage 1) to denser, smaller boxes
    t = boxes[0].trajectory
    assert t["coverage"].iloc[0] == pytest.approx(1.0)
    assert t["density"].iloc[0] == pytest.approx(y.mean())
    # a second box, if any, is denser than the whole space
    for b in boxes[1:]:
        assert b.density > y.mean()
    # a density threshold gives the widest box reaching it
    b = find_boxes(x, y, min_density=0.8)[0]
    check_planted(b)
    assert b.density >= 0.8


def test_choose_a_trajectory_point():
    t = pd.DataFrame({"coverage": [1.0, 0.8, 0.5, 0.2], "density": [0.2, 0.5, 0.85, 0.95]})
    assert choose(t, None) == 1 or choose(t, None) == 2
    assert choose(t, 0.8) == 2
    assert choose(t, 0.99) == 3  # unreachable: the densest


# ----------------------------------------------------------------------------- the language
def test_parse_and_evaluate():
    node = parse("conversions.Challenger@mix=community > conversions.Challenger@mix=analyst_led")
    a, b = refs(node)
    assert a == Ref("conversions.Challenger", (("mix", "community"),))
    assert b.selectors == (("mix", "analyst_led"),)
    values = {a: np.array([3.0, 1.0, 2.0]), b: np.array([1.0, 2.0, 2.0])}
    assert evaluate(node, values).tolist() == [True, False, False]
    node = parse("(roi.X@m=a - roi.X@m=b) / 2 >= 0.5 and not no_decision_share@m=a > .3")
    x, y, z = refs(node)
    out = evaluate(
        node, {x: np.array([3.0, 1.0]), y: np.array([1.0, 1.0]), z: np.array([0.1, 0.1])}
    )
    assert out.tolist() == [True, False]
    node = parse("(purchases > 10 or purchases < 2) and -purchases * 2 + 1 < 0")
    assert evaluate(node, {refs(node)[0]: np.array([20.0, 5.0, 1.0])}).tolist() == [
        True,
        False,
        True,
    ]
    node = parse("roi.A@budget=1.5e4,mix=x-1 != 0")  # '-' inside a selector is the value's
    assert refs(node)[0].selectors == (("budget", "1.5e4"), ("mix", "x-1"))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("conversions.A", "a comparison (> >="),
        ("conversions.A > ", "ends where an outcome or a number is expected"),
        ("__import__('os') > 1", 'unexpected "\'"'),
        ("a > 1 b", "expected the end of the condition"),
        ("a > 1 and", "ends where"),
        ("a; b > 1", "unexpected ';'"),
        ("(a > 1", "')'"),
        ("a@m=x,m=y > 1", "same axis twice"),
        ("a > 1" + " " * 2000, "at most"),
    ],
)
def test_bad_conditions(text, fragment):
    with pytest.raises(ExprError) as err:
        parse(text)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 490 + "a > 1" + ")" * 490,  # a condition in parentheses
        "(" * 490 + "a" + ")" * 490 + " > 1",  # a sum in parentheses
        "not " * 240 + "a > 1",
        "- " * 490 + "a > 1",
    ],
)
def test_deep_nesting_is_refused_with_its_limit(text):
    with pytest.raises(ExprError) as err:
        parse(text)
    assert f"nested more than {MAX_DEPTH} levels" in str(err.value)


def test_nesting_up_to_the_limit_parses():
    deep = "(" * MAX_DEPTH + "a > 1" + ")" * MAX_DEPTH
    a = refs(parse(deep))[0]
    assert evaluate(parse(deep), {a: np.array([0.0, 2.0])}).tolist() == [False, True]
    assert refs(parse("not " * MAX_DEPTH + "a > 1")) == [a]
    long_sum = "+".join(["a"] * 495) + ">1"  # as long as a condition may be, and not deep
    assert evaluate(parse(long_sum), {a: np.array([0.0, 1.0])}).tolist() == [False, True]


# ----------------------------------------------------------------------------- cases
def fake_sweep(tmp_path: Path, n: int = 400) -> Path:
    """A sweep folder as the engine writes it: axis mix (two strategies) x a sampled
    uncertainty point (u1, u2), 1 replication; Challenger's community mix wins where
    u1 > 0.6 (with 10% noise)."""
    rng = np.random.default_rng(3)
    d = tmp_path / "sweep=fake"
    (d / "table=runs").mkdir(parents=True)
    (d / "table=vendors").mkdir()
    pts = rng.uniform(size=(n, 2))
    runs, vendors = [], []
    for i, (u1, u2) in enumerate(pts):
        wins = (u1 > 0.6) != (rng.uniform() < 0.1)
        for mix in ("community", "analyst_led"):
            rid = f"{mix}-{i}"
            runs.append(
                {
                    "run_id": rid,
                    "variant": f"mix={mix},...",
                    "variant_id": i * 2 + (mix == "community"),
                    "replication": 0,
                    "status": "ok",
                    "p:mix": mix,
                    "p:u1": u1,
                    "p:u2": u2,
                    "decided": 100,
                    "no_decisions": 20,
                }
            )
            conv = 50 + (5 if wins == (mix == "community") else 0)
            vendors.append({"run_id": rid, "vendor": "Challenger", "conversions": conv})
            vendors.append({"run_id": rid, "vendor": "Other", "conversions": 40})
    pd.DataFrame(runs).to_parquet(d / "table=runs" / "part-a.parquet")
    pd.DataFrame(vendors).to_parquet(d / "table=vendors" / "part-a.parquet")
    axes = [
        {"name": "mix", "kind": "strategy", "column": "p:mix"},
        {"name": "u1", "kind": "range", "column": "p:u1"},
        {"name": "u2", "kind": "range", "column": "p:u2"},
    ]
    (d / "sweep.json").write_text(json.dumps({"name": "fake", "axes": axes, "vendors": ["X"]}))
    return d


WHEN = "conversions.Challenger@mix=community > conversions.Challenger@mix=analyst_led"


def test_cases_from_a_sweep_and_the_box(tmp_path):
    d = fake_sweep(tmp_path)
    cases = build_cases(d, WHEN)
    assert len(cases.y) == 400 and list(cases.x.columns) == ["u1", "u2"]
    assert cases.selected == ["mix"]
    box = find_boxes(cases.x, cases.y)[0]
    lims = {lim["name"]: lim for lim in box.limits}
    assert lims["u1"]["low"] == pytest.approx(0.6, abs=0.06)
    info = results_json(WHEN, cases, [box], d)
    out = tmp_path / "disc.html"
    written = write_outputs(info, out)
    assert out.is_file() and "<img" in out.read_text()
    assert {p.name for p in written} >= {"disc.html", "disc.json", "disc_boxes.csv"}
    assert discovery_section(out.with_suffix(".json")).startswith('<section id="discovery">')
    assert discovery_section(tmp_path / "nothing") == ""


def test_discover_is_cases_then_boxes(tmp_path):
    """The study from Python: a sweep folder and a question give the cases and the boxes
    (as the command writes them)."""
    d = fake_sweep(tmp_path)
    found = discover(d, Question(WHEN, boxes=2))
    assert found.holds == int(build_cases(d, WHEN).y.sum()) and 0 < found.holds < 400
    assert found.boxes and found.boxes[0].number == 1
    assert found.describe()["boxes"][0]["coverage"] == found.boxes[0].coverage
    with pytest.raises(ValueError, match="boxes must be 1-5"):
        Question(WHEN, boxes=6)
    with pytest.raises(ValueError, match="min_density"):
        Question(WHEN, min_density=0.0)


def test_a_damaged_part_file_is_named_with_its_repair(tmp_path):
    d = fake_sweep(tmp_path, n=10)
    part = d / "table=vendors" / "part-a.parquet"
    part.write_bytes(part.read_bytes()[:100])  # cut short: not Parquet any more
    with pytest.raises(UsageError) as err:
        build_cases(d, WHEN)
    line = str(err.value)
    assert str(part) in line and "damaged" in line and "run `run.py sweep" in line
    assert "quarantine" in line and "\n" not in line


def test_the_report_section(tmp_path):
    assert (SECTION.kind, SECTION.marker, SECTION.order) == ("discovery", "discovery.json", 3)
    assert SECTION.render(tmp_path, None) == ""


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("conversions.Challenger > 50", "varies"),
        (
            "conversions.Challenger@mix=community > conversions.Challenger",
            "names no value of axis 'mix'",
        ),
        ("conversions.Challenger@size=big > 1", "no axis 'size'"),
        ("conversions.Challenger@mix=forums > 1", "has no value 'forums'"),
        ("conversions.Nobody@mix=community > 1", "no vendor 'Nobody'"),
        ("happiness@mix=community > 1", "unknown outcome"),
    ],
)
def test_conditions_that_do_not_fit_the_sweep(tmp_path, text, fragment):
    d = fake_sweep(tmp_path, n=10)
    if "varies" in fragment:  # without a selector every axis is an uncertainty: it runs
        cases = build_cases(d, text)
        assert list(cases.x.columns) == ["mix", "u1", "u2"] and len(cases.y) == 20
        return
    with pytest.raises(ExprError) as err:
        build_cases(d, text)
    assert fragment in str(err.value)


def test_no_uncertainty_left(tmp_path):
    d = fake_sweep(tmp_path, n=10)
    info = json.loads((d / "sweep.json").read_text())
    info["axes"] = info["axes"][:1]
    (d / "sweep.json").write_text(json.dumps(info))
    with pytest.raises(ExprError, match="needs other sampled or grid axes"):
        build_cases(d, WHEN)
