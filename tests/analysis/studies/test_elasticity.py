"""The advertising and personal-selling elasticities (analysis/studies/calibrate/
elasticity_moments.py): paired runs of the same scenario and seed with one vendor's spend
at +-step. A spend that cannot matter gives exactly 0 (the paired runs share every random
draw), media that work give a positive elasticity over several seeds, the perturbation
changes exactly the intended spend, and the targets file takes the new measures."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from analysis.studies.calibrate.elasticity_moments import (
    PairedRuns,
    has_spend,
    spend_changes,
)
from analysis.studies.calibrate.moments import measure, moments_table, run_moments
from analysis.studies.calibrate.targets import Target, Targets, load_targets
from sim.channels import CHANNEL_NAMES, SALES_REPS
from sim.model import BuyerJourneyModel
from sim.scenario import ScenarioError, load_scenario
from tests.builders import write
from tests.conftest import SCENARIOS

#: paid channels a vendor can buy, but its sales team
MEDIA = [c for c in CHANNEL_NAMES if c not in ("sales_reps", "peer_recommendations")]


@pytest.fixture(scope="module")
def small():
    """The baseline market, small: 2,000 buyers, 52 weeks after a 26-week spin-up."""
    return load_scenario(SCENARIOS / "baseline.toml").with_changes(
        {"buyers.count": 2000, "weeks": 52, "market.spin_up_weeks": 26}
    )


def target(measure_: str, vendor: str | None = None, step: float = 0.1) -> Target:
    return Target("e", measure_, "w", "s", 0.1, low=0.0, high=1.0, vendor=vendor, step=step)


def measured(scenario, seed: int, *targets: Target):
    """Each target measured on one run of `scenario` and its paired reruns."""
    model = BuyerJourneyModel(scenario, seed=seed).run()
    runs = PairedRuns(model.spec, seed)
    return [measure(model.tables(), t, runs) for t in targets], runs


# ----------------------------------------------------------------------------- the value
def test_a_spend_that_cannot_matter_has_elasticity_exactly_zero(small) -> None:
    """Media whose every channel carries no credibility leave no trace in a buyer's mind
    (docs/model.md): with common random numbers the runs at +-10% are the same run."""
    muted = small.with_changes({f"channels.{c}.credibility": [0.0, 0.0, 0.0] for c in MEDIA})
    for seed in (1, 2):
        (m,), _ = measured(muted, seed, target("advertising_elasticity"))
        assert m.value == 0.0, (seed, m)  # the mean over all four vendors
        assert m.n > 0 and {k for k, _ in m.extra} >= set(small.vendor_names())


def test_media_that_work_give_a_positive_elasticity_over_seeds(small) -> None:
    """CommunityFirst's forums, +-30% (less noise per run than +-10%): over 12 seeds its
    elasticity was 0.49 with sd 0.12 per run; four seeds must give a mean clearly above 0
    (more than 3 standard errors, and above 0.15)."""
    values = []
    for seed in (1, 2, 3, 4):
        (m,), runs = measured(small, seed, target("advertising_elasticity", "CommunityFirst", 0.3))
        values.append(m.value)
        extra = dict(m.extra)
        assert m.n == extra["conversions"] > 0 and runs.runs == 2
        arc = (extra["conversions_plus"] - extra["conversions_minus"]) / (m.n * 2 * 0.3)
        assert math.isclose(m.value, arc)
    mean, se = np.mean(values), np.std(values, ddof=1) / 2
    assert mean > 0.15 and mean > 3 * se, values


def test_without_paired_runs_or_without_such_spend_it_is_not_measurable(small) -> None:
    rows = run_moments({}, Targets("t", (target("advertising_elasticity"),)))
    assert math.isnan(rows["value"].iloc[0]) and "needs paired runs" in rows["note"].iloc[0]
    assert "needs paired runs" in measure({}, target("selling_elasticity")).note
    # CommunityFirst has no sales team spend; a vendor whose only channel is sales_reps
    # has no media; an unknown vendor
    solo = small.with_changes({"vendors.SearchHeavy.channel_mix": {"sales_reps": 1.0}})
    runs = PairedRuns(solo, 1)
    tables = {"journeys": None}
    notes = [
        measure(tables, target("selling_elasticity", "CommunityFirst"), runs).note,
        measure(tables, target("advertising_elasticity", "SearchHeavy"), runs).note,
        measure(tables, target("advertising_elasticity", "Nobody"), runs).note,
    ]
    assert "CommunityFirst has no sales-effort" in notes[0]
    assert "SearchHeavy has no paid-media spend" in notes[1]
    assert "no vendor named 'Nobody'" in notes[2]
    assert runs.runs == 0  # nothing ran for a measure that cannot be measured
    assert not has_spend(solo.vendors[1], "media") and has_spend(solo.vendors[1], "selling")


def test_targets_of_one_run_share_its_paired_runs(small) -> None:
    """The mean over vendors reruns each vendor once: a target on one vendor measured in
    the same run adds no run, and gives the value the mean lists for it. moments_table
    builds the paired runs from the finished model and the run's seed."""
    one = target("advertising_elasticity", "CommunityFirst", 0.3)
    mean = target("advertising_elasticity", None, 0.3)
    (m1, m_all), runs = measured(small, 5, one, mean)
    assert runs.runs == 2 * 4  # four vendors with media, two runs each
    assert dict(m_all.extra)["CommunityFirst"] == m1.value
    vendors = [dict(m_all.extra)[v] for v in small.vendor_names()]
    assert math.isclose(m_all.value, float(np.mean(vendors)))
    model = BuyerJourneyModel(small, seed=5).run()
    rows = moments_table(model, SimpleNamespace(seed=5, replication=0), Targets("t", (one,)))
    got = rows.loc[(rows["target"] == "e") & (rows["stat"] == "value"), "value"].item()
    assert got == m1.value


# ----------------------------------------------------------------------------- the spend
def _spend(scenario, name: str):
    v = next(x for x in scenario.vendors if x.name == name)
    return [(w, np.array(s), ss) for w, s, ss in v.spend_periods()]


@pytest.mark.parametrize("kind", ["media", "selling"])
@pytest.mark.parametrize("factor", [1.1, 0.9])
def test_the_perturbation_changes_exactly_the_intended_spend(small, kind, factor) -> None:
    """Every period of every vendor (a schedule with social selling, a mix given with
    normalize = true): the vendor's media (or sales_reps and social selling) scaled by
    `factor`, its other spend, every other vendor and the rest of the scenario unchanged."""
    plans = [
        {"week": 10, "social_selling": 9000.0},
        {"week": 20, "weekly_budget": 40000.0, "normalize": True,
         "channel_mix": {"professional_networks": 3.0, "sales_reps": 1.0}},
        {"week": 30, "weekly_budget": 0.0},
    ]  # fmt: skip
    sc = small.with_changes({"vendors.SocialSelling.schedule": plans})
    sales = np.arange(len(CHANNEL_NAMES)) == SALES_REPS
    scale = np.where(sales, 1.0, factor) if kind == "media" else np.where(sales, factor, 1.0)
    social = factor if kind == "selling" else 1.0
    for name in sc.vendor_names():
        if not has_spend(next(v for v in sc.vendors if v.name == name), kind):
            continue
        changed = sc.with_changes(spend_changes(sc, name, kind, factor))
        for other in sc.vendor_names():
            before, after = _spend(sc, other), _spend(changed, other)
            assert [p[0] for p in after] == [p[0] for p in before]  # the same periods
            for (_, s0, ss0), (_, s1, ss1) in zip(before, after, strict=True):
                if other == name:
                    np.testing.assert_allclose(s1, s0 * scale, rtol=1e-12, atol=1e-9)
                    assert math.isclose(ss1, ss0 * social, rel_tol=1e-12)
                else:
                    assert np.array_equal(s1, s0) and ss1 == ss0
        # nothing else moves: the vendor's other fields, the other tables
        spent = {"weekly_budget", "channel_mix", "normalize", "social_selling", "schedule"}
        dump0, dump1 = sc.model_dump(), changed.model_dump()
        for v0, v1 in zip(dump0.pop("vendors"), dump1.pop("vendors"), strict=True):
            keep = spent if v0["name"] == name else set()
            assert {k: x for k, x in v0.items() if k not in keep} == {
                k: x for k, x in v1.items() if k not in keep
            }
        assert dump0 == dump1
    # the media of SocialSelling really moved, and its sales team's spend too
    assert has_spend(sc.vendors[2], "media") and has_spend(sc.vendors[2], "selling")


# ----------------------------------------------------------------------------- the file
def elasticity_targets(step: str = "") -> str:
    return (
        '[[targets]]\nname = "ad"\nmeasure = "advertising_elasticity"\n'
        'what = "advertising elasticity, mean over vendors"\nband = [0.05, 0.45]\n'
        f'tolerance = 0.1\nkind = "emergent"\nuse = "validate"\nsource = "s"\n{step}\n'
        '[[targets]]\nname = "sell"\nmeasure = "selling_elasticity"\nvendor = "SocialSelling"\n'
        'what = "personal-selling elasticity"\nvalue = 0.34\ntolerance = 0.15\nsource = "s"\n'
    )


def test_a_targets_file_with_the_elasticities_validates(tmp_path: Path) -> None:
    ad, sell = load_targets(write(tmp_path, elasticity_targets(), "t.toml")).targets
    assert (ad.vendor, ad.step, ad.use, ad.fitted) == (None, 0.1, "validate", False)
    assert (sell.vendor, sell.step) == ("SocialSelling", 0.1)
    (ad, _) = load_targets(write(tmp_path, elasticity_targets("step = 0.25"), "t.toml")).targets
    assert ad.step == 0.25
    # a measure without paired runs has no step (so the calibration's run ids skip it)
    nd = '[[targets]]\nname = "nd"\nmeasure = "no_decision_share"\nwhat = "w"\nvalue = 0.5\n'
    (t,) = load_targets(write(tmp_path, nd + "tolerance = 0.1\nsource = 's'\n", "n.toml")).targets
    assert t.step is None


@pytest.mark.parametrize("bad", ["0.8", "0", "-0.1", '"ten"', "true"])
def test_a_bad_step_is_one_line_naming_the_key(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, elasticity_targets(f"step = {bad}"), "t.toml")
    with pytest.raises(ScenarioError) as exc:
        load_targets(path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(str(path))
    assert exc.value.field == "targets[0:ad].step" and "(0, 0.5]" in msg
