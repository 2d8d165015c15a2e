"""Tracking methods (sim/tracking.py, docs/model.md §5a): each loses what it cannot see.

The vendor's plan does not change here (baseline_weeks beyond the horizon), so runs that
differ only in the tracking method are the same market, draw for draw, and their
observations can be compared with each other and with the touch log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim.tracking as tracking
from sim.model import BuyerJourneyModel
from sim.tracking import WORD_OF_MOUTH

VENDOR = "SearchHeavy"
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def market(baseline):
    return baseline.with_changes({"buyers.count": 2000, "weeks": 60})


def tracked(market, **tracking):
    """The market with VENDOR measuring by `tracking` but never adjusting."""
    return market.with_changes(
        {
            f"vendors.{VENDOR}.policy": "data_loop",
            f"vendors.{VENDOR}.data_loop": {"baseline_weeks": 5000, "tracking": tracking},
        }
    )


def run(scenario, seed, record_touches=True):
    return BuyerJourneyModel(scenario, seed=seed, record_touches=record_touches).run().tables()


@pytest.fixture(scope="module")
def runs(market):
    """Per seed: the tables with perfect, forward, reverse and point-of-sale tracking."""
    methods = {
        "perfect": {"method": "perfect"},
        "forward": {
            "method": "forward",
            "taggable": ["search", "sales_reps"],
            "capture": 0.5,
        },
        "reverse": {"method": "reverse"},
        "point_of_sale": {"method": "point_of_sale", "response_rate": 0.6},
    }
    return {
        seed: {name: run(tracked(market, **t), seed) for name, t in methods.items()}
        for seed in SEEDS
    }


def touch_rows(observed: pd.DataFrame) -> pd.DataFrame:
    """The touches a method logged as it observed them (credit 0, with identity)."""
    rows = observed[(observed["kind"] == "touch") & (observed["credit"] == 0)]
    return rows[["journey_id", "week", "channel"]].astype({"channel": str})


def converted(tables) -> set[int]:
    j = tables["journeys"]
    return set(j.loc[(j["outcome"] == "purchase") & (j["vendor"] == VENDOR), "journey_id"])


def test_every_method_runs_on_the_same_market(runs) -> None:
    for by_method in runs.values():
        tables = list(by_method.values())
        for t in tables[1:]:
            pd.testing.assert_frame_equal(t["journeys"], tables[0]["journeys"])
            pd.testing.assert_frame_equal(t["touches"], tables[0]["touches"])


def test_perfect_tracking_is_the_true_touch_log_of_the_converted_journeys(runs) -> None:
    for by_method in runs.values():
        t = by_method["perfect"]
        bought = converted(t)
        assert len(bought) > 10
        mine = touch_rows(t["observed"])
        mine = mine[mine["journey_id"].isin(bought)]
        log = t["touches"]
        log = log[(log["vendor"] == VENDOR) & log["journey_id"].isin(bought)]
        log = log[["journey_id", "week", "channel"]].astype({"channel": str})
        key = ["journey_id", "week", "channel"]
        pd.testing.assert_frame_equal(
            mine.sort_values(key).reset_index(drop=True),
            log.sort_values(key).reset_index(drop=True),
        )
        # every conversion's credit is in full (a customer always had a touch)
        credit = t["observed"].query("credit > 0").groupby("journey_id")["credit"].sum()
        assert set(credit.index) == bought
        np.testing.assert_allclose(credit, 1.0)


def test_forward_tracking_sees_only_taggable_channels_at_the_capture_rate(runs) -> None:
    captured = possible = 0
    for by_method in runs.values():
        fwd = touch_rows(by_method["forward"]["observed"])
        assert set(fwd["channel"]) <= {"search", "sales_reps"}
        truth = touch_rows(by_method["perfect"]["observed"])
        truth = truth[truth["channel"].isin(["search", "sales_reps"])]
        # recommendations carry no code: only the vendor's own touches can be captured
        log = by_method["perfect"]["touches"]
        own = log[(log["vendor"] == VENDOR) & log["channel"].isin(["search", "sales_reps"])]
        assert len(truth) == len(own)
        # what forward captured is a subset of the truth
        merged = fwd.merge(truth.drop_duplicates(), how="left", indicator=True)
        assert (merged["_merge"] == "both").all()
        captured, possible = captured + len(fwd), possible + len(truth)
    assert possible > 1000
    assert captured / possible == pytest.approx(0.5, abs=0.03)


def test_reverse_tracking_documents_only_its_own_records_of_its_customers(runs) -> None:
    for by_method in runs.values():
        t = by_method["reverse"]
        obs = t["observed"]
        records = obs[obs["kind"] == "record"]
        assert len(records) > 10
        assert set(records["channel"]) <= {"sales_reps", "vendor_content"}
        assert set(records["journey_id"]) <= converted(t)
        assert not (obs["kind"] == "touch").any()  # nothing observed during the journey


def test_point_of_sale_answers_come_from_customers_at_the_response_rate(runs) -> None:
    answered = customers = 0
    for by_method in runs.values():
        t = by_method["point_of_sale"]
        answers = t["observed"].query("kind == 'answer'")
        bought = converted(t)
        assert set(answers["journey_id"]) <= bought
        assert answers["journey_id"].is_unique  # one channel per customer
        answered, customers = answered + len(answers), customers + len(bought)
    assert customers > 50
    assert answered / customers == pytest.approx(0.6, abs=0.1)


def test_point_of_sale_over_reports_word_of_mouth(baseline, monkeypatch) -> None:
    """Every customer answers (response_rate 1), in a larger market, four seeds pooled:
    self-report names word of mouth more often than the perfect last-touch credit of
    the same customers gives it, and more often than it would without the recall bias
    (WORD_OF_MOUTH_RECALL = 1, the same draws). Seed by seed the first comparison is
    noisy (last touch already credits the final stage's referral channels often), so
    the check pools the seeds; measured: 0.52 vs 0.46, and 0.52 vs 0.47 without bias."""
    # no spin-up: a journey under way at week 0 has no tracked touches from before it
    market = baseline.with_changes({"buyers.count": 5000, "weeks": 60, "market.spin_up_weeks": 0})
    pos = tracked(market, method="point_of_sale", response_rate=1.0)
    said = {3.0: [], 1.0: []}
    last = []
    for seed in (1, 2, 3, 4):
        for bias in said:
            monkeypatch.setattr(tracking, "WORD_OF_MOUTH_RECALL", bias)
            obs = run(pos, seed, False)["observed"].query("kind == 'answer'")
            said[bias] += list(obs["channel"].isin(WORD_OF_MOUTH))
        credit = run(tracked(market, method="perfect"), seed, False)["observed"]
        credit = credit.query("credit > 0").groupby("journey_id")
        wom = credit.apply(lambda g: g.loc[g["channel"].isin(WORD_OF_MOUTH), "credit"].sum())
        last += list(wom)
    assert len(last) > 250 and len(said[3.0]) == len(last)
    assert np.mean(said[3.0]) > np.mean(last) + 0.03
    assert np.mean(said[3.0]) > np.mean(said[1.0]) + 0.03


def test_web_analytics_counts_without_identity(runs) -> None:
    counts = runs[1]["forward"]["observed"].query("kind == 'count'")
    assert len(counts) > 100
    assert (counts["journey_id"] == -1).all()
    assert set(counts["channel"]) <= {"vendor_content", "search"}
    assert (counts["method"] == "web_analytics").all()


def test_observations_do_not_need_the_touch_log(market) -> None:
    """Data-loop vendors work with record_touches=False: the same observations (the
    touch log's naming of recommended vendors changes nothing a method sees)."""
    forward = {"method": "forward", "taggable": ["professional_networks", "search"]}
    for how in (
        {"method": "perfect", "attribution": "linear"},
        {"method": "point_of_sale"},
        forward,  # tags a channel where contacts also recommend: never a capture
        {"method": "reverse"},
    ):
        sc = tracked(market.with_changes({"weeks": 40}), **how)
        a, b = run(sc, 4, True), run(sc, 4, False)
        assert "touches" not in b
        pd.testing.assert_frame_equal(a["observed"], b["observed"])


def test_no_tracking_no_stream_no_tables(small) -> None:
    model = BuyerJourneyModel(small, seed=1, record_touches=False)
    assert "tracking" not in model.streams
    assert model.tracking is None
    tables = model.run().tables()
    assert "observed" not in tables and "beliefs" not in tables


def test_an_oracle_without_a_schedule_stays_static(small) -> None:
    sc = small.with_changes({f"vendors.{VENDOR}.policy": "oracle"})
    a = BuyerJourneyModel(sc, seed=2, record_touches=False).run().tables()
    b = BuyerJourneyModel(small, seed=2, record_touches=False).run().tables()
    assert "tracking" not in a
    pd.testing.assert_frame_equal(a["spend"], b["spend"])
    pd.testing.assert_frame_equal(a["journeys"], b["journeys"])
