"""`run.py calibrate`: the targets file, the moments on known tables, the search, a real
known-answer fit with resume, the calibrated scenario file and the command line's errors.

The real fit is a small one (1,000 buyers, 60 weeks, 3 replications, in-process): one
free parameter, choice.status_quo, fitted to a no-decision share the baseline does not
have at the start point; the measured share at the fitted point must land within the
tolerance on fresh replications.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import run
from analysis.engine.scenario_toml import scenario_toml
from analysis.studies.calibrate.fit import (
    BudgetSpent,
    Evaluation,
    calibrate,
    point_id,
    point_label,
    search,
)
from analysis.studies.calibrate.moments import measure, run_moments
from analysis.studies.calibrate.report import write_outputs
from analysis.studies.calibrate.spec import (
    FreeParam,
    Setup,
    current_value,
    free_params,
    parse_free,
)
from analysis.studies.calibrate.targets import MEASURES, VENDOR_OPTIONAL, Target, load_targets
from sim.scenario import ScenarioError, load_scenario
from tests.builders import grid_sweep, targets_file, write
from tests.conftest import SCENARIOS
from tests.e2e.faults import (
    assert_nothing_half_written,
    assert_one_line_error,
    cli_with_file_limit,
    snapshot_bytes,
)

GOOD = targets_file()  # one target: nd, the no-decision share, value 0.6 +- 0.05


# ----------------------------------------------------------------------------- the file
def test_the_shipped_targets_file_loads_and_uses_every_measure() -> None:
    t = load_targets(SCENARIOS / "targets.toml")
    # referred_share and a vendor's own funnel are measures a team's
    # file can name (docs/calibration.md), not shipped targets
    # (the elasticities' vendor is optional: without it they are the market's, shipped)
    vendor_level = {m for m, keys in MEASURES.items() if "vendor" in keys} - VENDOR_OPTIONAL
    not_shipped = {"referred_share", *vendor_level}
    assert {x.measure for x in t.targets} == set(MEASURES) - not_shipped
    for x in t.targets:
        assert x.source and x.what and x.tolerance > 0


@pytest.mark.parametrize(
    ("goal", "low", "high", "text"),
    [
        ("value = 0.6", 0.6, 0.6, "0.6"),
        ("band = [0.4, 0.6]", 0.4, 0.6, "[0.4, 0.6]"),
        ("at_least = 0.8", 0.8, math.inf, ">= 0.8"),
        ("at_most = 0.2", -math.inf, 0.2, "<= 0.2"),
    ],
)
def test_each_goal_is_an_interval(
    tmp_path: Path, goal: str, low: float, high: float, text: str
) -> None:
    (t,) = load_targets(write(tmp_path, GOOD.replace("value = 0.6", goal))).targets
    assert (t.low, t.high, t.goal()) == (low, high, text)
    assert (t.what, t.source, t.tolerance) == (
        "share of closed journeys ending in no decision",
        "test",
        0.05,
    )


BAD = [
    (GOOD.replace('"no_decision_share"', '"nd_share"'), "targets[0:nd].measure", "must be one of"),
    (GOOD.replace("value = 0.6\n", ""), "targets[0:nd]", "exactly one of"),
    (GOOD.replace("value = 0.6", "value = 0.6\nat_least = 0.5"), "targets[0:nd]", "exactly one"),
    (GOOD.replace("value = 0.6", "band = [0.6, 0.4]"), "targets[0:nd].band", "low < high"),
    (GOOD.replace("value = 0.6", "band = [0.6]"), "targets[0:nd].band", "[low, high]"),
    (GOOD.replace("value = 0.6", 'value = "high"'), "targets[0:nd].value", "a number"),
    (GOOD.replace("tolerance = 0.05", "tolerance = 0"), "targets[0:nd].tolerance", "> 0"),
    (GOOD.replace('source = "test"', ""), "targets[0:nd].source", "non-empty string"),
    (GOOD + "stage = 'early'\n", "targets[0:nd].stage", "unknown key"),
    (GOOD.replace('name = "nd"', 'name = "n d"'), "targets[0:n d].name", "letters"),
    (GOOD + GOOD, "targets[1:nd].name", "distinct"),
    ("description = 'x'\n", "targets", "at least one [[targets]]"),
    (GOOD + "[extra]\n", "extra", "unknown key"),
    (
        GOOD.replace('"no_decision_share"', '"idc_top_three"\nstage = "late"'),
        "targets[0:nd].stage",
        "early, middle, final",
    ),
    (
        GOOD.replace('"no_decision_share"', '"consensus"\ngroup_sizes = [0]'),
        "targets[0:nd].group_sizes",
        ">= 1",
    ),
    (
        GOOD.replace('"no_decision_share"', '"social_use"\nseniority = ["boss"]'),
        "targets[0:nd].seniority",
        "c_level",
    ),
    (
        GOOD.replace('"no_decision_share"', '"journey_weeks"\nsize_class = "huge"'),
        "targets[0:nd].size_class",
        "enterprise",
    ),
    ("[[targets]\n", "", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "field", "fragment"), BAD)
def test_a_bad_targets_file_is_one_line_naming_the_field(
    tmp_path: Path, text: str, field: str, fragment: str
) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load_targets(p)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(str(p))
    assert exc.value.field == field
    assert fragment in msg


def test_miss_is_in_tolerances_and_zero_inside_a_band() -> None:
    point = Target("p", "no_decision_share", "w", "s", 0.05, low=0.6, high=0.6)
    assert point.miss(0.7) == pytest.approx(2.0) and not point.passed(0.7)
    assert point.passed(0.56) and point.goal() == "0.6"
    band = Target("b", "no_decision_share", "w", "s", 0.02, low=0.4, high=0.6)
    assert band.miss(0.5) == 0 and band.miss(0.63) == pytest.approx(1.5)
    assert band.miss(0.39) == pytest.approx(-0.5) and band.passed(0.39)
    floor = Target("f", "sales_contact_share", "w", "s", 0.03, low=0.8)
    assert floor.miss(1.0) == 0 and floor.goal() == ">= 0.8"


# ----------------------------------------------------------------------------- measures
def target(measure_: str, **kw) -> Target:
    return Target("t", measure_, "w", "s", 0.1, low=0.0, high=1.0, **kw)


def journeys(rows: list[tuple], extra: dict | None = None) -> pd.DataFrame:
    """rows: (journey_id, buyer_id, start, end, outcome, share)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "journey_id",
            "buyer_id",
            "start_week",
            "end_week",
            "outcome",
            "research_share_at_first_sales_contact",
        ],
    )
    df["end_week"] = df["end_week"].astype("Int64")
    df["research_share_at_first_sales_contact"] = df[
        "research_share_at_first_sales_contact"
    ].astype("Float64")
    df["outcome"] = df["outcome"].astype("string")
    for k, v in (extra or {}).items():
        df[k] = v
    return df


def touches(rows: list[tuple]) -> pd.DataFrame:
    """rows: (journey_id, buyer_id, stage, channel, social_selling, quote)."""
    return pd.DataFrame(
        rows, columns=["journey_id", "buyer_id", "stage", "channel", "social_selling", "quote"]
    )


def test_idc_margin_is_the_smallest_gap_of_the_ranking() -> None:
    counts = {
        "industry_media": 40,
        "search": 30,
        "microblogs": 20,
        "vendor_content": 10,
        "topic_communities": 5,
    }
    rows = [(0, 0, "early", c, False, False) for c, n in counts.items() for _ in range(n)]
    rows += [(0, 0, "early", "sales_reps", True, False)] * 50  # social selling: not a source
    rows += [(0, 0, "early", "sales_reps", False, True)] * 50  # quotes: not a source
    rows += [(0, 0, "middle", "search", False, False)] * 99  # another stage
    m = measure({"touches": touches(rows)}, target("idc_top_three", stage="early"))
    assert m.value == pytest.approx(10 / 105) and m.n == 105
    assert dict(m.extra)["best_other"] == pytest.approx(10 / 105)
    # the wrong order gives a negative margin
    rows[0:40] = [(0, 0, "early", "search", False, False)] * 40
    m = measure({"touches": touches(rows)}, target("idc_top_three", stage="early"))
    assert m.value < 0
    m = measure({"touches": touches(rows)}, target("idc_top_three", stage="final"))
    assert math.isnan(m.value) and "no consultations in the final stage" in m.note


def test_social_use_is_an_outcome_of_closed_journeys_per_seniority() -> None:
    j = journeys(
        [
            (0, 0, 0, 5, "purchase", 0.7),
            (1, 1, 0, 6, "no_decision", None),
            (2, 2, 0, None, "open", None),  # open: its buyer does not count
            (3, 3, 1, 7, "purchase", 0.8),
        ]
    )
    t = touches(
        [
            (0, 0, "final", "professional_networks", False, False),  # social
            (0, 4, "final", "industry_media", False, False),  # a member of journey 0
            (1, 1, "early", "search", False, False),
            (2, 2, "early", "microblogs", False, False),  # open journey
            (3, 3, "early", "sales_reps", True, False),  # social selling: not a consultation
        ]
    )
    b = pd.DataFrame(
        {"buyer_id": [0, 1, 2, 3, 4], "seniority": ["vp", "c_level", "vp", "manager", "vp"]}
    )
    tables = {"journeys": j, "touches": t, "buyers": b}
    m = measure(tables, target("social_use"))
    assert (m.value, m.n) == (pytest.approx(1 / 4), 4)  # buyers 0, 1, 3, 4; only 0 social
    m = measure(tables, target("social_use", seniority=("vp", "c_level")))
    assert (m.value, m.n) == (pytest.approx(1 / 3), 3)  # buyers 0, 1, 4


def test_research_sales_contact_and_no_decision_shares() -> None:
    j = journeys(
        [
            (0, 0, 0, 5, "purchase", 0.6),
            (1, 1, 0, 5, "purchase", 0.7),
            (2, 2, 0, 5, "purchase", 0.8),
            (3, 3, 0, 5, "purchase", None),  # no sales contact
            (4, 4, 0, 5, "no_decision", 0.1),  # not a purchase
            (5, 5, 0, None, "open", 0.2),
        ]
    )
    m = measure({"journeys": j}, target("research_before_sales"))
    assert (m.value, m.n) == (pytest.approx(0.7), 3)
    assert dict(m.extra)["p10"] == pytest.approx(0.62)
    m = measure({"journeys": j}, target("sales_contact_share"))
    assert (m.value, m.n) == (pytest.approx(0.75), 4)
    m = measure({"journeys": j}, target("no_decision_share"))
    assert (m.value, m.n) == (pytest.approx(0.2), 5)
    empty = j[j["outcome"] == "open"]
    m = measure({"journeys": empty}, target("no_decision_share"))
    assert math.isnan(m.value) and "no closed journeys" in m.note


def test_consensus_and_journey_weeks_by_group_and_size_class() -> None:
    rows = [
        (0, 0, 0, 4, "purchase", 0.7),
        (1, 1, 0, 8, "no_decision", None),
        (2, 2, 0, 10, "purchase", 0.7),
        (3, 3, 0, 30, "purchase", 0.7),
        (4, 4, 0, 40, "no_decision", None),
        (5, 5, 0, 50, "no_decision", None),
        (6, 6, 0, None, "open", None),
    ]
    extra = {
        "group_size": [1, 1, 1, 6, 5, 7, 6],
        "size_class": [
            "small",
            "small",
            "small",
            "enterprise",
            "enterprise",
            "enterprise",
            "small",
        ],
    }
    tables = {"journeys": journeys(rows, extra)}
    m = measure(tables, target("consensus", group_sizes=(1,)))
    assert (m.value, m.n) == (pytest.approx(2 / 3), 3)
    m = measure(tables, target("consensus", group_sizes=(5, 6, 7)))
    assert (m.value, m.n) == (pytest.approx(1 / 3), 3)
    m = measure(tables, target("consensus", group_sizes=(9,)))
    assert math.isnan(m.value) and "size 9" in m.note
    m = measure(tables, target("journey_weeks", size_class="small"))
    assert (m.value, m.n) == (8.0, 3)
    m = measure(tables, target("journey_weeks", size_class="enterprise"))
    assert m.value == 40.0
    m = measure(tables, target("journey_weeks", size_class="mid_market"))
    assert math.isnan(m.value) and "mid_market" in m.note


def test_a_target_whose_column_is_absent_is_not_measurable() -> None:
    j = journeys([(0, 0, 0, 4, "purchase", 0.7)])
    for t in (target("consensus", group_sizes=(1,)), target("journey_weeks", size_class="small")):
        m = measure({"journeys": j}, t)
        assert math.isnan(m.value) and m.n == 0
        assert m.note.startswith("not measurable: the journeys table has no")
    m = measure({}, target("no_decision_share"))
    assert m.note == "not measurable: no journeys table"


def test_run_moments_gives_long_rows_per_target(tmp_path: Path) -> None:
    tg = load_targets(write(tmp_path, GOOD))
    j = journeys([(0, 0, 0, 4, "purchase", 0.7), (1, 1, 0, 4, "no_decision", None)])
    df = run_moments({"journeys": j}, tg)
    assert list(df.columns) == ["target", "stat", "value", "note"]
    assert df.set_index("stat")["value"].to_dict() == {"value": 0.5, "n": 2.0}


# ----------------------------------------------------------------------------- set-up
def test_free_parameters_from_options_or_the_scenario(baseline) -> None:
    assert parse_free(["choice.status_quo=1:5", "buyers.spectator = 0.5:1"]) == {
        "choice.status_quo": (1.0, 5.0),
        "buyers.spectator": (0.5, 1.0),
    }
    for bad in ("choice.status_quo", "choice.status_quo=a:b", "choice.status_quo=5:1"):
        with pytest.raises(ScenarioError) as exc:
            parse_free([bad])
        assert str(exc.value).startswith("--free")
    sc = baseline.with_changes({"calibration.free": {}})
    with pytest.raises(ScenarioError) as exc:
        free_params(sc)
    assert exc.value.field == "calibration.free" and "--free" in str(exc.value)
    (p,) = free_params(sc, {"buyers.consultations_per_week": (1, 4)})
    assert p.integer and p.start == current_value(sc, "buyers.consultations_per_week")
    assert p.value(0.5) == 2 or p.value(0.5) == 3
    with pytest.raises(ScenarioError) as exc:
        free_params(sc, {"buyers.spectator": (0.5, 2.0)})
    assert exc.value.field == "buyers.spectator" and "refuses 2" in str(exc.value)
    with pytest.raises(ScenarioError) as exc:
        free_params(sc, {"network.kind": (0.0, 1.0)})
    assert "not a numeric field" in str(exc.value)
    sc2 = sc.with_changes({"calibration.free": {"choice.status_quo": [1.0, 2.0]}})
    (p,) = free_params(sc2)
    assert (p.low, p.high, p.start) == (1.0, 2.0, min(2.0, max(1.0, sc.choice.status_quo)))


def test_points_are_named_by_their_values() -> None:
    p = FreeParam("choice.status_quo", 0.0, 3.0, 1.0)
    assert p.value(1 / 3) == 1.0 and p.value(2.0) == 3.0 and p.value(0.123456789) == 0.370370
    values = {"choice.status_quo": 1.0}
    assert point_label(values) == "choice.status_quo=1"
    assert point_id(values) == point_id(dict(values)) != point_id({"choice.status_quo": 1.5})


def test_the_calibrated_scenario_file_loads_back_unchanged(baseline, tmp_path: Path) -> None:
    sc = baseline.with_changes(
        {"choice.status_quo": 2.25, "calibration.free": {"choice.status_quo": [0.5, 4.0]}}
    )
    p = write(tmp_path, scenario_toml(sc, "a header\nof two lines"), "calibrated.toml")
    assert p.read_text().startswith("# a header\n# of two lines\n")
    back = load_scenario(p)
    drop = {"source", "base_dir"}
    assert back.model_dump(exclude=drop) == sc.model_dump(exclude=drop)


# ----------------------------------------------------------------------------- the search
class FakeEvaluator:
    """Stands in for the simulator: a known quadratic with its minimum at (1.2, 0.7)."""

    def __init__(self, setup) -> None:
        self.setup = setup
        self.seen: dict[str, float] = {}

    def evaluate(self, values):
        key = point_label(values)
        if key not in self.seen:
            if len(self.seen) >= self.setup.max_evals:
                raise BudgetSpent
            a, b = values["x"], values["y"]
            self.seen[key] = ((a - 1.2) / 0.1) ** 2 + ((b - 0.7) / 0.05) ** 2
        return Evaluation(0, values, [], {}, self.seen[key])


def test_nelder_mead_finds_a_known_optimum_within_the_budget() -> None:
    free = (FreeParam("x", 0.0, 4.0, 3.0), FreeParam("y", 0.0, 1.0, 0.1))
    setup = Setup(None, None, free, 1, 2, 80)  # type: ignore[arg-type]
    ev = FakeEvaluator(setup)
    reason = search(ev)
    best = min(ev.seen, key=ev.seen.get)
    assert ev.seen[best] < 0.05, (reason, best)
    assert len(ev.seen) <= 80
    small = FakeEvaluator(Setup(None, None, free, 1, 2, 5))  # type: ignore[arg-type]
    assert search(small).startswith("evaluation budget spent") and len(small.seen) == 5


# ----------------------------------------------------------------------------- a real fit
@pytest.fixture(scope="module")
def fit(tmp_path_factory):
    """choice.status_quo in [0, 8], starting at 0, fitted to a no-decision share of 0.6."""
    tmp = tmp_path_factory.mktemp("calibrate")
    base = load_scenario(SCENARIOS / "baseline.toml")
    small = base.with_changes(
        {
            "buyers.count": 1000,
            "weeks": 60,
            "choice.status_quo": 0.0,
            "calibration.free": {"choice.status_quo": [0.0, 8.0]},
        }
    )
    scen = write(tmp, scenario_toml(small), "small.toml")
    targets = write(tmp, GOOD, "targets.toml")
    scenario = load_scenario(scen)
    setup = Setup(scenario, load_targets(targets), free_params(scenario), 3, 4, 12)
    out = tmp / "out"
    result = calibrate(setup, out, workers=1, progress=False, original=scenario)
    return {"result": result, "out": out, "scenario": scen, "targets": targets}


def test_the_fit_lands_the_measured_share_within_tolerance(fit) -> None:
    r = fit["result"]
    assert r.history[0].values == {"choice.status_quo": 0.0}
    start_share = r.history[0].stats["nd"].mean
    assert start_share < 0.5  # the start misses by more than two tolerances
    assert len(r.history) <= 12 and r.best.objective < r.history[0].objective
    assert 0 < r.fitted["choice.status_quo"] < 8
    v = r.validation.stats["nd"]
    assert v.runs == 4 and abs(v.mean - 0.6) <= 0.05, (r.fitted, v)
    # every point ran the same replication seeds (common random numbers)
    assert r.ran == 3 * len(r.history) + 4


def test_a_second_call_with_the_same_folder_runs_nothing_new(fit) -> None:
    r = fit["result"]
    again = calibrate(r.setup, fit["out"], workers=1, progress=False, original=r.original)
    assert again.ran == 0 and again.already == r.ran
    assert again.fitted == r.fitted
    assert [e.objective for e in again.history] == [e.objective for e in r.history]
    # a tolerance scales this objective evenly: the same search, from the stored runs
    looser = load_targets(write(fit["out"].parent, GOOD.replace("0.05", "0.1"), "loose.toml"))
    setup = Setup(r.setup.scenario, looser, r.setup.free, 3, 4, 12)
    assert setup.design_hash == r.setup.design_hash
    assert calibrate(setup, fit["out"], workers=1, progress=False).ran == 0


def test_the_command_writes_the_calibrated_scenario_and_the_report(fit, capsys) -> None:
    out = fit["out"]
    args = ["calibrate", str(fit["scenario"]), "--targets", str(fit["targets"])]
    args += ["--out", str(out), "--replications", "3", "--validation", "4"]
    code = run.main([*args, "--max-evals", "12", "--workers", "1", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0 and "ran 0 runs" in printed  # resumed from the fixture's runs
    fitted = fit["result"].fitted["choice.status_quo"]
    cal = load_scenario(out / "calibrated.toml")
    assert cal.choice.status_quo == fitted and cal.buyers.count == 1000
    md = (out / "fit.md").read_text()
    assert "| nd | 0.6 | 0.05 |" in md and "choice.status_quo" in md
    html = (out / "fit.html").read_text()
    assert "data:image/png;base64," in html and "Objective trajectory" in html


def test_targets_the_scenario_cannot_measure_are_reported_not_fitted(fit, tmp_path: Path) -> None:
    text = GOOD + GOOD.replace('"nd"', '"never"').replace(
        'measure = "no_decision_share"', 'measure = "consensus"\ngroup_sizes = [40]'
    )
    scenario = load_scenario(fit["scenario"])
    setup = Setup(scenario, load_targets(write(tmp_path, text)), free_params(scenario), 2, 2, 1)
    r = calibrate(setup, tmp_path / "out", workers=1, progress=False)
    assert r.active == ("nd",)
    write_outputs(r, tmp_path / "out")
    md = (tmp_path / "out" / "fit.md").read_text()
    assert "not measurable in this scenario" in md and "(not fitted)" in md


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ([], "targets[0:nd].tolerance"),
        (["--free", "choice.status_quo=9"], "--free"),
    ],
)
def test_the_command_reports_bad_input_in_one_line(
    tmp_path: Path, capsys, extra: list[str], fragment: str
) -> None:
    bad = write(tmp_path, GOOD.replace("tolerance = 0.05", "tolerance = -1"))
    good = write(tmp_path, GOOD, "good.toml")
    targets = bad if not extra else good
    args = ["calibrate", str(SCENARIOS / "baseline.toml"), "--targets", str(targets)]
    code = run.main([*args, "--out", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and fragment in err
    assert "Traceback" not in err


def test_a_scenario_without_free_parameters_says_how_to_add_them(tmp_path: Path, capsys) -> None:
    scen = SCENARIOS / "attribution_null_channel.toml"  # the others inherit the baseline's
    assert not load_scenario(scen).calibration.free
    good = write(tmp_path, GOOD)
    code = run.main(["calibrate", str(scen), "--targets", str(good), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "calibration.free" in err and "[calibration] free = " in err and "--free" in err


def test_moments_have_no_nan_rows_for_measurable_targets(fit) -> None:
    from analysis.engine.parts import load_table

    m = load_table(fit["out"], "moments")
    values = m[(m["target"] == "nd") & (m["stat"] == "value")]["value"].to_numpy()
    assert len(values) == fit["result"].ran and np.isfinite(values).all()


def test_a_file_of_another_kind_given_as_targets_is_named(tmp_path: Path, capsys) -> None:
    sweep = write(tmp_path, grid_sweep(), "sweep.toml")
    args = ["calibrate", str(SCENARIOS / "baseline.toml"), "--targets", str(sweep)]
    code = run.main([*args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {sweep}: ")
    assert "this is a sweep file; calibrate takes a targets file" in err


def test_a_failed_write_of_the_answer_is_one_line_and_leaves_the_old_answer_whole(
    tmp_path: Path, capsys
) -> None:
    """Rerun under a file size limit that fit.html exceeds (the JSON info files and the
    smaller answers fit): exit 2, one line, every answer file as it was, no temporary."""
    out = tmp_path / "out"
    args = ["calibrate", str(SCENARIOS / "baseline.toml")]
    args += ["--targets", str(write(tmp_path, GOOD, "targets.toml")), "--out", str(out)]
    args += ["--free", "choice.status_quo=1:3", "--buyers", "300", "--weeks", "20"]
    args += ["--replications", "2", "--validation", "2", "--max-evals", "2", "--quiet"]
    assert run.main([*args, "--workers", "1"]) == 0
    capsys.readouterr()
    before = snapshot_bytes(out)
    html = len(before["fit.html"])
    others = max(len(v) for k, v in before.items() if k != "fit.html")
    assert others < html, {k: len(v) for k, v in before.items()}
    proc = cli_with_file_limit((others + html) // 2, *args, "--workers", "1")
    assert_one_line_error(proc, "cannot write", "fit.html")
    assert_nothing_half_written(out, before)


def test_a_failed_run_stops_the_fit_naming_it_and_retry_failed_runs_it_again(
    baseline, tmp_path: Path, monkeypatch
) -> None:
    from analysis.errors import Stopped
    from analysis.studies.calibrate import moments

    scenario = baseline.with_changes({"buyers.count": 300, "weeks": 20})
    free = free_params(scenario, {"choice.status_quo": (1.0, 3.0)})
    setup = Setup(scenario, load_targets(write(tmp_path, GOOD)), free, 2, 2, 1)

    def broken(tables, targets):
        raise RuntimeError("no moments today")

    monkeypatch.setattr(moments, "run_moments", broken)  # in-process: workers=1
    with pytest.raises(Stopped) as exc:
        calibrate(setup, tmp_path / "out", workers=1, progress=False)
    msg = str(exc.value)
    assert exc.value.code == 1 and "\n" not in msg
    assert msg.startswith("run ") and "failed: " in msg and "no moments today" in msg
    assert "--retry-failed" in msg
    monkeypatch.undo()
    again = calibrate(setup, tmp_path / "out", workers=1, progress=False, retry_failed=True)
    assert again.ran == 2 + 2 and again.validation.stats["nd"].runs == 2
