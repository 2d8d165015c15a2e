"""The DATA-loop study (analysis/studies/dataloop): the oracle planner's known answer, the
adjustment rule, the study's tables and intervals, resume, and one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.engine.context import ExecutionContext
from analysis.engine.studyfile import validate
from analysis.studies.dataloop.oracle import (
    OraclePlan,
    adjustment_weeks,
    plan_oracle,
    shift_shares,
)
from analysis.studies.dataloop.run import run_study
from analysis.studies.dataloop.spec import LoopSettings, PolicyVariant, Study, load_study
from analysis.studies.dataloop.summary import StudyResult, cadence_table
from sim.filekinds import WrongKind
from sim.scenario import ScenarioError, load_scenario
from tests import builders
from tests.conftest import SCENARIOS

NULL = SCENARIOS / "attribution_null_channel.toml"


def null_market(seed: int, buyers: int = 400, weeks: int = 52):
    """Focal splits its budget between microblogs (credibility 0: no effect at all) and
    third-party experts (a strong channel)."""
    return load_scenario(NULL).with_changes(
        {
            "seed": seed,
            "buyers.count": buyers,
            "weeks": weeks,
            "vendors.Focal.channel_mix": {"microblogs": 0.5, "third_party_experts": 0.5},
        }
    )


def study_file(tmp_path: Path, strategies: str = '["static", "oracle"]', extra: str = "") -> Path:
    """tests/builders.dataloop_study on 400 buyers, 3 replications, seed 5, comparing the
    cadences 13 and 26; `strategies` lists the policies, `extra` adds tables."""
    text = builders.dataloop_study("tiny", replications=3, buyers=400)
    axis = 'policy = { vendor = "Focal", strategies = ["static", "oracle"] }'
    cadence = 'cadence = { path = "vendors.Focal.data_loop.cadence_weeks", values = [13, 26] }'
    assert axis in text and "seed = 3" in text
    text = text.replace(axis, axis.replace('["static", "oracle"]', strategies) + "\n" + cadence)
    return builders.write(tmp_path, text.replace("seed = 3", "seed = 5") + extra)


def plan(
    scenario, vendor: str, settings: LoopSettings, out: Path, reps: int, workers: int
) -> OraclePlan:
    """An oracle's plan in an execution context of its own."""
    with ExecutionContext(workers=workers, progress=False) as ctx:
        return plan_oracle(ctx, scenario, vendor, settings, out, reps)


# ------------------------------------------------------------------ the rule
def test_shift_moves_at_most_max_shift_from_lowest_to_highest() -> None:
    """The data-loop policy's rule (sim.policies.adjusted_shares), as the oracle uses it."""
    shares = {"search": 0.5, "microblogs": 0.3, "vendor_content": 0.2}
    new = shift_shares(shares, {"search": 1.0, "microblogs": 3.0, "vendor_content": 2.0}, 0.2, 0.05)
    assert new == pytest.approx({"search": 0.3, "microblogs": 0.5, "vendor_content": 0.2})
    # the floor: a donor keeps `exploration`
    new = shift_shares(
        {"search": 0.1, "microblogs": 0.9}, {"search": 0.0, "microblogs": 1.0}, 0.2, 0.05
    )
    assert new == pytest.approx({"search": 0.05, "microblogs": 0.95})
    # at the floor already: the next-lowest channels give the rest
    three = {"search": 0.05, "microblogs": 0.1, "vendor_content": 0.85}
    new = shift_shares(three, {"search": 0.0, "microblogs": 1.0, "vendor_content": 2.0}, 0.2, 0.05)
    assert new == pytest.approx({"search": 0.05, "microblogs": 0.05, "vendor_content": 0.9})
    # equal returns (or unknown): nothing moves
    assert shift_shares(shares, dict.fromkeys(shares, 1.0), 0.2, 0.05) == shares
    assert shift_shares(shares, {"search": math.nan, "microblogs": 1.0}, 0.2, 0.05) == shares


def test_adjustment_weeks() -> None:
    s = LoopSettings(baseline_weeks=26, cadence_weeks=13)
    assert adjustment_weeks(s, 104) == [26, 39, 52, 65, 78, 91]
    assert adjustment_weeks(LoopSettings(baseline_weeks=26, cadence_weeks=52), 104) == [26, 78]


# ------------------------------------------------------------------ the oracle
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_oracle_moves_the_budget_to_the_effective_channel(tmp_path: Path, seed: int) -> None:
    """Known answer: with one channel of zero effect and one strong one, the oracle has
    >= 80% of the budget in the strong channel within 4 quarters."""
    settings = LoopSettings(baseline_weeks=13, cadence_weeks=13, window_weeks=13)
    oracle = plan(null_market(seed), "Focal", settings, tmp_path / "o", reps=2, workers=2)
    weeks = [p["week"] for p in oracle.schedule]
    assert weeks == [13, 26, 39]
    last = oracle.schedule[-1]["channel_mix"]
    assert last["third_party_experts"] >= 0.8
    assert last["microblogs"] == pytest.approx(0.05)  # the exploration floor
    # the null channel's true return is exactly zero (common random numbers)
    null = oracle.truth[oracle.truth["channel"] == "microblogs"]
    assert (null["true_return"] == 0).all()
    assert (oracle.truth.loc[oracle.truth["week"] == 13, "true_return"] >= 0).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_last_touch_over_invests_in_the_late_channel_against_the_oracle(
    tmp_path: Path, seed: int
) -> None:
    """Known answer against counterfactual truth: industry media does the early work and
    the sales team's quotes collect the last touches. The oracle (true incremental
    return from removal runs) finds media the better channel and keeps little in
    sales_reps; a last-touch forward-tracking vendor over-invests in sales_reps, in
    every seed, by a wide margin."""
    from tests.sim.test_data_loop import SALES, VENDOR, loop

    market = load_scenario(SCENARIOS / "baseline.toml").with_changes(
        {"buyers.count": 2000, "weeks": 78, "seed": seed}
    )
    start = {"industry_media": 0.5, "sales_reps": 0.5}
    settings = LoopSettings(baseline_weeks=13, cadence_weeks=13, window_weeks=13)
    oracle = plan(
        market.with_changes({f"vendors.{VENDOR}.channel_mix": start}),
        VENDOR,
        settings,
        tmp_path / "o",
        reps=2,
        workers=2,
    )
    truth = oracle.truth.groupby("channel")["true_return"].mean()
    assert truth["industry_media"] > truth["sales_reps"]  # the early channel matters more
    oracle_sales = oracle.schedule[-1]["channel_mix"].get("sales_reps", 0.0)
    from sim.model import BuyerJourneyModel

    measured = BuyerJourneyModel(loop(market, "forward", "last_touch"), seed=seed).run()
    last_touch_sales = measured.vendor(VENDOR).policy.shares[SALES]
    assert last_touch_sales > oracle_sales + 0.3


def test_planner_resumes_without_running_again(tmp_path: Path) -> None:
    settings = LoopSettings(baseline_weeks=13, cadence_weeks=26, window_weeks=13)
    sc = null_market(4, buyers=300, weeks=39)
    first = plan(sc, "Focal", settings, tmp_path / "o", reps=2, workers=1)
    again = plan(sc, "Focal", settings, tmp_path / "o", reps=2, workers=1)
    assert first.ran == 6 and again.ran == 0 and again.already == 6
    assert again.schedule == first.schedule


# ------------------------------------------------------------------ the study
@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StudyResult]:
    tmp = tmp_path_factory.mktemp("study")
    study = load_study(study_file(tmp))
    return tmp, run_study(study, tmp / "out", workers=2, progress=False)


def test_study_table_has_intervals(tiny) -> None:
    _, res = tiny
    assert [v.label for v in res.study.variants] == ["static", "oracle@13", "oracle@26"]
    summ = res.tables["summary"]
    assert set(summ["metric"]) == {"conversions", "roi", "originated"}
    assert (summ["n"] == 3).all()
    assert (summ["ci_low"] <= summ["mean"]).all() and (summ["mean"] <= summ["ci_high"]).all()
    vs = res.tables["vs_reference"]
    assert set(vs["variant"]) == {"oracle@13", "oracle@26"} and (vs["reference"] == "static").all()
    assert vs["unpaired_half_width"].notna().all()
    cost = res.tables["cost"]
    assert list(dict.fromkeys(cost["variant"])) == ["static"]
    # the mix: each run's quarter shares sum to 1; static never moves
    mix = res.tables["mix"]
    sums = mix.groupby(["variant", "quarter"])["share"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)
    static = mix[(mix["variant"] == "static") & (mix["line"] == "microblogs")]
    assert static["share"].to_numpy() == pytest.approx(0.5)
    oracle = mix[(mix["variant"] == "oracle@13") & (mix["line"] == "third_party_experts")]
    assert oracle["share"].iloc[-1] > 0.6
    assert set(res.tables["truth"]["oracle"]) == {"oracle@13", "oracle@26"}


def test_one_execution_context_serves_the_planning_and_the_study(tmp_path, monkeypatch) -> None:
    """The oracles' planning runs and the study's runs share one pool and one bar."""
    from analysis.studies.dataloop import run

    opened = []

    class Counted(ExecutionContext):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(run, "ExecutionContext", Counted)
    f = builders.write(tmp_path, builders.dataloop_study("one", buyers=200))
    res = run_study(load_study(f), tmp_path / "out", workers=1, progress=False)
    assert len(opened) == 1 and opened[0].desc == "dataloop one"
    assert res.ran == 16 and res.already == 0  # 2 weeks x 3 counterfactuals x 2 + 2 x 2


def test_study_resumes(tiny) -> None:
    tmp, res = tiny
    again = run_study(res.study, tmp / "out", workers=2, progress=False)
    assert again.ran == 0 and again.already == res.ran
    pd.testing.assert_frame_equal(again.tables["summary"], res.tables["summary"])


def test_cadence_table_counts_wrong_way_moves() -> None:
    """A move counts as wrong when the channel that gained has a lower true return."""
    study = Study(
        "s", "s.toml", "", load_scenario(NULL), "Focal",
        (
            PolicyVariant("loop@13", "loop", "data_loop", 13, {}, {}),
            PolicyVariant("oracle@13", "oracle", "oracle", 13, {}, {}),
        ),
        2, 1,
    )  # fmt: skip
    truth = pd.DataFrame({"week": [13, 13], "channel": ["a", "b"], "true_return": [1.0, 2.0]})
    beliefs = pd.DataFrame(
        {
            "variant": ["loop@13"] * 6,
            "replication": [0, 0, 1, 1, 2, 2],
            "week": [13] * 6,
            "channel": ["a", "b"] * 3,
            "believed_return": [1.0] * 6,
            "share_before": [0.5] * 6,
            "share_after": [0.7, 0.3, 0.3, 0.7, 0.5, 0.5],  # wrong, right, no move
        }
    )
    res = StudyResult(study, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), beliefs,
                      {"oracle@13": truth}, {})  # fmt: skip
    row = cadence_table(res, beliefs).iloc[0]
    assert row["adjustments"] == 3 and row["moves"] == 2 and row["judged"] == 2
    assert row["wrong_way"] == pytest.approx(0.5)
    assert row["moved_mean"] == pytest.approx(0.4 / 3)


# ------------------------------------------------------------------ errors
def test_no_focal_vendor_is_one_line(tmp_path: Path) -> None:
    p = study_file(tmp_path)
    p.write_text(p.read_text().replace('vendor = "Focal"', 'vendor = "Nobody"'))
    with pytest.raises(ScenarioError) as e:
        load_study(p)
    assert "\n" not in str(e.value) and "no focal vendor" in str(e.value)


def test_unknown_policy_is_one_line(tmp_path: Path) -> None:
    p = study_file(tmp_path, '["static", "psychic"]', '[strategies.psychic]\npolicy = "psychic"')
    with pytest.raises(ScenarioError) as e:
        load_study(p)
    msg = str(e.value)
    assert "\n" not in msg and "unknown policy 'psychic'" in msg and "strategies.psychic" in msg


def test_a_file_of_another_kind_is_named(tmp_path: Path) -> None:
    with pytest.raises(WrongKind) as e:
        load_study(SCENARIOS / "baseline.toml")
    assert "this is a scenario file; not a sweep file" in str(e.value)
    assert "dataloop takes a sweep file" in e.value.for_command("dataloop").problem


def test_a_sweep_without_a_policy_axis_is_not_a_study(tmp_path: Path) -> None:
    """A sweep file, but no axis names the focal vendor: the study says what it needs."""
    p = study_file(tmp_path)
    p.write_text(p.read_text().replace('policy = { vendor = "Focal", strategies = ', "# "))
    with pytest.raises(ScenarioError) as e:
        load_study(p)
    msg = str(e.value)
    assert "\n" not in msg and ": axes: no focal vendor: a study needs exactly one axis" in msg


def test_an_axis_other_than_the_cadence_is_refused(tmp_path: Path) -> None:
    p = study_file(tmp_path)
    budget = 'budget = { path = "vendors.Focal.weekly_budget", values = [1000.0, 2000.0] }'
    p.write_text(p.read_text().replace("cadence = {", budget + "\ncadence = {"))
    with pytest.raises(ScenarioError) as e:
        load_study(p)
    assert "axes.budget: a study varies only the policy and the cadence" in str(e.value)


def test_an_undefined_strategy_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as e:
        load_study(study_file(tmp_path, '["static", "guess"]'))
    assert "axes.policy.strategies: unknown strategy 'guess'; define [strategies.guess]" in str(
        e.value
    )


def test_loop_settings_keep_their_words(tmp_path: Path) -> None:
    """The study's own check of a data_loop table: whole weeks, shares in [0, 1]."""
    p = study_file(tmp_path)
    p.write_text(p.read_text().replace("baseline_weeks = 13", "baseline_weeks = 13.0"))
    with pytest.raises(ScenarioError) as e:
        load_study(p)
    assert str(e.value).endswith(
        "strategies.oracle.data_loop.baseline_weeks: must be a whole number (found 13.0)"
    )
    with pytest.raises(ScenarioError, match=r"max_shift: must be in \[0, 1\] \(found 2\)"):
        validate(LoopSettings, {"max_shift": 2}, "s.toml", at=("strategies", "x", "data_loop"))
    with pytest.raises(ScenarioError, match="objective: must be one of conversions, revenue"):
        validate(LoopSettings, {"objective": "likes"}, "s.toml")


def test_shipped_study_loads() -> None:
    study = load_study(SCENARIOS / "data_loop.toml")
    policies = {v.policy for v in study.variants}
    assert policies == {"static", "data_loop", "oracle"}
    assert 104 <= study.scenario.weeks <= 156
