"""The DATA-loop study (analysis/dataloop.py): the oracle planner's known answer, the
adjustment rule, the study's tables and intervals, resume, and one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.studies.dataloop.study import (
    LoopSettings,
    PolicyVariant,
    Study,
    StudyResult,
    adjustment_weeks,
    cadence_table,
    load_study,
    plan_oracle,
    run_study,
    shift_shares,
)
from sim.scenario import ScenarioError, load_scenario
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
    p = tmp_path / "study.toml"
    p.write_text(
        f"""
[sweep]
name = "tiny"
scenario = "{NULL}"
replications = 3
seed = 5
[sweep.set]
"buyers.count" = 400
weeks = 39
"vendors.Focal.channel_mix" = {{ microblogs = 0.5, third_party_experts = 0.5 }}
[axes]
policy = {{ vendor = "Focal", strategies = {strategies} }}
cadence = {{ path = "vendors.Focal.data_loop.cadence_weeks", values = [13, 26] }}
[strategies.static]
policy = "static"
[strategies.oracle]
policy = "oracle"
data_loop = {{ baseline_weeks = 13, window_weeks = 13 }}
{extra}
"""
    )
    return p


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
    plan = plan_oracle(null_market(seed), "Focal", settings, tmp_path / "o", reps=2, workers=2)
    weeks = [p["week"] for p in plan.schedule]
    assert weeks == [13, 26, 39]
    last = plan.schedule[-1]["channel_mix"]
    assert last["third_party_experts"] >= 0.8
    assert last["microblogs"] == pytest.approx(0.05)  # the exploration floor
    # the null channel's true return is exactly zero (common random numbers)
    null = plan.truth[plan.truth["channel"] == "microblogs"]
    assert (null["true_return"] == 0).all()
    assert (plan.truth.loc[plan.truth["week"] == 13, "true_return"] >= 0).all()


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
    oracle = plan_oracle(
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
    first = plan_oracle(sc, "Focal", settings, tmp_path / "o", reps=2, workers=1)
    again = plan_oracle(sc, "Focal", settings, tmp_path / "o", reps=2, workers=1)
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


def test_shipped_study_loads() -> None:
    study = load_study(SCENARIOS / "data_loop.toml")
    policies = {v.policy for v in study.variants}
    assert policies == {"static", "data_loop", "oracle"}
    assert 104 <= study.scenario.weeks <= 156
