"""The attribution lab: credit rules, the null channel, and paired counterfactual runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.engine.design import replication_seed
from analysis.engine.parts import load_table
from analysis.stats import credit as cr
from analysis.studies.lab import spec as lab_spec
from analysis.studies.lab.render import format_lab, lab_figure
from analysis.studies.lab.run import run_lab
from sim.model import BuyerJourneyModel
from sim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[3]
NULL = ROOT / "scenarios" / "attribution_null_channel.toml"


@pytest.fixture(scope="module")
def null_scenario():
    return load_scenario(NULL).with_changes({"buyers.count": 1000, "weeks": 52})


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Values as plain strings, missing as '-', so that equal rows compare equal."""
    return df.astype(object).where(df.notna(), "-").astype(str)


def _paths(rows):
    return pd.DataFrame(rows, columns=["journey_id", "channel", "gain", "pos", "n"])


def test_credit_rules_on_hand_made_paths():
    paths = _paths(
        [
            (1, "search", 0.4, 0, 1),
            (2, "search", 0.1, 0, 2),
            (2, "sales_reps", 0.5, 1, 2),
            (3, "microblogs", 0.0, 0, 4),
            (3, "search", 0.4, 1, 4),
            (3, "industry_media", 0.5, 2, 4),
            (3, "sales_reps", 0.3, 3, 4),
            (4, "microblogs", 0.0, 0, 1),
        ]
    )
    w = cr.credit_weights(paths)
    per_journey = w.groupby("journey_id")[list(cr.METHODS)].sum()
    # every rule hands out exactly one conversion per journey (self-report: one if any gain)
    np.testing.assert_allclose(per_journey.drop(columns="self_report").to_numpy(), 1.0)
    assert per_journey["self_report"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert w["position_based"].tolist() == [1.0, 0.5, 0.5, 0.4, 0.1, 0.1, 0.4, 1.0]
    assert w["first_touch"].tolist() == [1, 1, 0, 1, 0, 0, 0, 1]
    assert w["last_touch"].tolist() == [1, 0, 1, 0, 0, 0, 1, 1]
    assert w["linear"].tolist() == [1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 1.0]
    assert w["self_report"].tolist() == [1, 0, 1, 0, 0, 1, 0, 0]


def test_measured_credit_sums_to_conversions(null_scenario):
    t = BuyerJourneyModel(null_scenario, seed=3).run().tables()
    credit = cr.measured_credit(t["journeys"], t["touches"], "Focal")
    conv = int(t["vendors"].set_index("vendor").loc["Focal", "conversions"])
    assert credit.attrs["conversions"] == conv > 0
    for m in cr.METHODS:
        if m != "self_report":
            assert credit[m].sum() == pytest.approx(conv)


def test_null_channel_has_zero_true_lift_but_measured_credit(null_scenario):
    lab = run_lab(null_scenario, "Focal", reps=3)
    conv = lab.conversions.pivot(
        index="replication", columns="counterfactual", values="conversions"
    )
    # provably no effect: every paired counterfactual run converts exactly as the baseline
    assert (conv["microblogs"] == conv["baseline"]).all()
    row = lab.table.set_index("channel").loc["microblogs"]
    assert row.true_lift == 0 and row.true_share == 0
    assert row.first_touch_share > 0.02 and row.last_touch_share > 0
    assert row.self_report_share == 0  # a touch that raised nothing is never named
    # a channel that works: removing search costs Focal conversions, clearly
    search = lab.table.set_index("channel").loc["search"]
    assert search.true_lift_low > 0
    assert "microblogs" in format_lab(lab.table)
    # incremental ROI: the null channel returns nothing, so it loses exactly what it costs
    weeks = null_scenario.weeks
    assert row.incremental_revenue == 0
    assert row.incremental_cost == pytest.approx(row.weekly_spend * weeks)
    assert row.incremental_roi == row.incremental_roi_low == row.incremental_roi_high == -1
    # search: (revenue it adds - its cost) / its cost, recomputed from the runs by hand
    rev = lab.conversions.pivot(index="replication", columns="counterfactual", values="revenue")
    added = (rev["baseline"] - rev["search"]).mean()
    cost = search.weekly_spend * weeks
    assert search.incremental_roi == pytest.approx((added - cost) / cost)
    assert search.incremental_roi_low < search.incremental_roi < search.incremental_roi_high
    # the figure's legend covers no bar and no true-lift marker
    fig = lab_figure(lab.table)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent(renderer)
    data = [a.get_window_extent(renderer) for a in (*ax.patches, *ax.lines, *ax.collections)]
    assert data and not any(box.overlaps(b) for b in data if b.width > 0 and b.height > 0)


def test_counterfactual_pairs_differ_only_downstream_of_removed_spend(null_scenario):
    cf = null_scenario.without_channel_spend("Focal", "search")
    a = BuyerJourneyModel(null_scenario, seed=11).run().tables()
    b = BuyerJourneyModel(cf, seed=11).run().tables()
    timing = ["journey_id", "buyer_id", "start_week", "end_week"]
    # who is in market and when does not depend on a vendor's spend
    pd.testing.assert_frame_equal(a["journeys"][timing], b["journeys"][timing])
    # consultations only: social-selling contacts and quotes follow what buyers consider
    ta = a["touches"][~a["touches"].social_selling & ~a["touches"].quote].reset_index(drop=True)
    tb = b["touches"][~b["touches"].social_selling & ~b["touches"].quote].reset_index(drop=True)
    key = ["journey_id", "buyer_id", "week", "stage", "channel"]
    pd.testing.assert_frame_equal(ta[key], tb[key])  # the same sources consulted
    differ = (ta["vendor"].fillna("-") != tb["vendor"].fillna("-")) | ~np.isclose(
        ta["gain"], tb["gain"]
    )
    assert differ.any()
    first_week = int(ta.loc[differ, "week"].min())
    # the first differences are all consultations of the removed channel
    assert set(ta.loc[differ & (ta.week == first_week), "channel"]) == {"search"}
    # paid, non-referral channels other than the removed one show the same vendors always
    other = ~ta.channel.isin(["search", "professional_networks", "peer_recommendations"])
    pd.testing.assert_series_equal(ta.loc[other, "vendor"], tb.loc[other, "vendor"])
    # a journey ends differently only downstream of the removed spend: one of its own
    # touches changed, or it heard from contacts/reviews (referral sources, communities)
    # whose opinions may have changed, or the buyer's previous journey ended differently
    ja, jb = a["journeys"].set_index("journey_id"), b["journeys"].set_index("journey_id")
    outcome = ["outcome", "vendor", "deal_value"]
    changed = ~(_plain(ja[outcome]) == _plain(jb[outcome])).all(axis=1)
    assert changed.any() and not changed.all()
    touched = set(ta.loc[differ, "journey_id"])
    social = set(
        ta.loc[
            ta.channel.isin(["professional_networks", "peer_recommendations", "topic_communities"]),
            "journey_id",
        ]
    )
    ordered = ja.reset_index().sort_values(["buyer_id", "start_week"])
    prev_changed = changed.reindex(ordered.journey_id).groupby(ordered.buyer_id.to_numpy()).shift(1)
    after_change = set(prev_changed[prev_changed.fillna(False).astype(bool)].index)
    unexplained = set(changed[changed].index) - touched - social - after_change
    assert not unexplained


def test_null_channel_counterfactual_is_identical_run(null_scenario):
    cf = null_scenario.without_channel_spend("Focal", "microblogs")
    a = BuyerJourneyModel(null_scenario, seed=5).run().tables()
    b = BuyerJourneyModel(cf, seed=5).run().tables()
    pd.testing.assert_frame_equal(a["journeys"], b["journeys"])


def test_input_errors(null_scenario):
    with pytest.raises(ScenarioError, match="no vendor named"):
        run_lab(null_scenario, "Nobody", reps=1)
    with pytest.raises(ScenarioError, match="at least 1"):
        run_lab(null_scenario, "Focal", reps=0)


# --------------------------------------------------------------------------- the lab as an experiment
def test_lab_runs_are_seeded_like_sweeps_with_common_random_numbers(null_scenario):
    exp = lab_spec.lab_experiment(null_scenario, "Focal", reps=3)
    cfs = lab_spec.counterfactuals(null_scenario, "Focal")
    seeds: dict[int, set[int]] = {}
    for spec in exp.runs:
        seeds.setdefault(spec.replication, set()).add(spec.seed)
    # replication r: one seed, shared by the baseline and every counterfactual
    assert seeds == {r: {replication_seed(null_scenario.seed, r)} for r in range(3)}
    assert len({s.run_id for s in exp.runs}) == len(exp.runs) == 3 * (1 + len(cfs))
    variants = lab_spec.lab_variants(null_scenario, "Focal")
    assert [v.label for v in variants] == ["baseline", *cfs]
    for v in variants[1:]:  # a variant's changes make exactly the counterfactual scenario
        assert null_scenario.with_changes(v.changes) == cfs[v.label][0]


def test_lab_resumes_and_gives_the_same_table_on_any_executor(null_scenario, tmp_path):
    n = 1 + len(lab_spec.counterfactuals(null_scenario, "Focal"))
    reference = run_lab(null_scenario, "Focal", reps=3)  # one worker, temporary folder
    runs = tmp_path / "runs"
    first = run_lab(null_scenario, "Focal", reps=2, out=runs)
    assert (first.outcome.already, first.outcome.ran) == (0, 2 * n)
    more = run_lab(null_scenario, "Focal", reps=3, out=runs, workers=2)
    assert (more.outcome.already, more.outcome.ran) == (2 * n, n)  # only replication 2 ran
    pd.testing.assert_frame_equal(more.table, reference.table)
    again = run_lab(null_scenario, "Focal", reps=3, out=runs)
    assert again.outcome.ran == 0
    pd.testing.assert_frame_equal(again.table, reference.table)


def test_lab_on_a_dask_local_cluster_gives_the_same_table(null_scenario, tmp_path):
    pytest.importorskip("distributed")
    inline = run_lab(null_scenario, "Focal", reps=2)
    dask = run_lab(null_scenario, "Focal", reps=2, out=tmp_path, workers=2, dask="local")
    assert dask.outcome.ran == len(lab_spec.lab_experiment(null_scenario, "Focal", 2).runs)
    pd.testing.assert_frame_equal(dask.table, inline.table)


def test_a_failing_lab_run_is_a_row_and_the_table_uses_the_rest(
    null_scenario, tmp_path, monkeypatch
):
    real = lab_spec.credit_rows

    def flaky(model, spec, vendor):
        if spec.replication == 1:
            raise RuntimeError("boom")
        return real(model, spec, vendor)

    monkeypatch.setattr(lab_spec, "credit_rows", flaky)  # one worker: runs in this process
    runs = tmp_path / "runs"
    lab = run_lab(null_scenario, "Focal", reps=3, out=runs)
    assert lab.failed == lab.outcome.failed == 1
    rows = load_table(runs, "runs")
    bad = rows[rows["status"] == "error"]
    assert bad["variant"].tolist() == ["baseline"] and bad["replication"].tolist() == [1]
    assert bad["error"].iloc[0] == "RuntimeError: boom" and bad["conversions"].isna().all()
    assert set(load_table(runs, "credit")["replication"]) == {0, 2}
    # lifts are over the pairs whose two runs finished: replications 0 and 2
    ok = rows[rows["status"] == "ok"].pivot(
        index="replication", columns="variant", values="conversions"
    )
    search = lab.table.set_index("channel").loc["search"]
    assert search.true_lift == pytest.approx((ok["baseline"] - ok["search"]).mean())
    assert lab.table.attrs["reps"] == 2
    monkeypatch.undo()
    retried = run_lab(null_scenario, "Focal", reps=3, out=runs, retry_failed=True)
    assert (retried.outcome.ran, retried.failed) == (1, 0)
    pd.testing.assert_frame_equal(retried.table, run_lab(null_scenario, "Focal", reps=3).table)
