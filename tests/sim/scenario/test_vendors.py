"""Vendors (sim/scenario/vendors.py): channel mixes as fractions of the budget, schedules
of plans by week, and the counterfactual without one channel's spend."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.channels import CHANNEL_NAMES
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

from ...conftest import SCENARIOS, assert_one_line_error
from .common import VENDOR, ZERO, spend_at, spend_of, write


def test_channel_mix_shares_are_fractions_of_the_budget() -> None:
    sc = scenario_from_dict(
        {"vendors": [{**VENDOR, "channel_mix": {"search": 0.65, "microblogs": 0.35}}]}
    )
    spend = spend_of(sc.vendors[0])
    assert spend["search"] == pytest.approx(650) and spend["microblogs"] == pytest.approx(350)
    assert sc.vendors[0].normalize is False


def test_shares_within_a_millionth_of_one_are_taken_as_written() -> None:
    mix = {"search": 0.6000004, "microblogs": 0.4}
    sc = scenario_from_dict({"vendors": [{**VENDOR, "channel_mix": mix}]})
    assert spend_of(sc.vendors[0])["search"] == pytest.approx(600.0004, abs=1e-9)


def test_shares_not_summing_to_one_are_refused_unless_normalize(tmp_path: Path) -> None:
    text = '[[vendors]]\nname = "Acme"\nweekly_budget = 1000.0\n'
    text += "channel_mix = { search = 0.65, microblogs = 0.55 }\n"
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line_error(
        info.value,
        path,
        "vendors[0:Acme].channel_mix",
        "vendors[0:Acme].channel_mix: shares sum to 1.2, not 1; fix them or set "
        "normalize = true to rescale",
    )
    sc = load_scenario(write(tmp_path, text + "normalize = true\n"))
    spend = spend_of(sc.vendors[0])
    assert spend["search"] == pytest.approx(1000 * 0.65 / 1.2)
    assert sum(spend.values()) == pytest.approx(1000)


def test_normalize_rescales_ratios_into_spend() -> None:
    sc = scenario_from_dict(
        {"vendors": [{**VENDOR, "channel_mix": {"search": 3, "microblogs": 1}, "normalize": True}]}
    )
    spend = spend_of(sc.vendors[0])
    assert spend["search"] == pytest.approx(750) and spend["microblogs"] == pytest.approx(250)
    assert sum(spend.values()) == pytest.approx(1000)


def test_a_budget_without_a_channel_mix_is_refused() -> None:
    """The money would silently go nowhere: no spend, no cost, no exposures."""
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"vendors": [{"name": "Acme", "weekly_budget": 500.0}]})
    assert info.value.field == "vendors[0:Acme].weekly_budget"
    assert "needs a channel_mix to be spent in" in str(info.value)
    assert scenario_from_dict({"vendors": [{"name": "Acme"}]}).vendors[0].weekly_budget == 0


def test_without_channel_spend_removes_exactly_that_spend(baseline) -> None:
    before = spend_of(baseline.vendors[0])
    cf = baseline.without_channel_spend("AnalystLed", "third_party_experts")
    after = spend_of(cf.vendors[0])
    assert before["third_party_experts"] > 0 and after["third_party_experts"] == 0
    for c in CHANNEL_NAMES:
        if c != "third_party_experts":
            assert after[c] == pytest.approx(before[c], rel=1e-12)
    # the counterfactual is itself a valid scenario: its shares sum to 1 again
    assert sum(cf.vendors[0].channel_mix.values()) == pytest.approx(1.0, abs=1e-12)
    assert cf.with_changes({}) == cf
    assert cf.vendors[1:] == baseline.vendors[1:]


def test_without_channel_spend_of_a_normalised_mix_keeps_other_spend() -> None:
    mix = {"search": 3, "microblogs": 1, "industry_media": 4}
    sc = scenario_from_dict({"vendors": [{**VENDOR, "channel_mix": mix, "normalize": True}]})
    cf = sc.without_channel_spend("Acme", "microblogs")
    before, after = spend_of(sc.vendors[0]), spend_of(cf.vendors[0])
    assert after["microblogs"] == 0 and before["microblogs"] == pytest.approx(125)
    for c in ("search", "industry_media"):
        assert after[c] == pytest.approx(before[c], rel=1e-12)
    assert cf.vendors[0].weekly_budget == pytest.approx(875)


def test_without_channel_spend_of_the_only_channel_leaves_no_budget() -> None:
    sc = scenario_from_dict({"vendors": [VENDOR]})
    cf = sc.without_channel_spend("Acme", "search")
    assert cf.vendors[0].weekly_budget == 0 and not any(cf.vendors[0].spend_by_channel())
    assert sc.without_channel_spend("Acme", "microblogs") is sc  # nothing spent there


SCHEDULED = """
[scenario]
weeks = 104

[[vendors]]
name = "Acme"
weekly_budget = 30000.0
channel_mix = { search = 0.6, industry_media = 0.4 }
social_selling = 500.0

[[vendors.schedule]]
week = 26
weekly_budget = 10000.0

[[vendors.schedule]]
week = 40.0
channel_mix = { search = 0.2, third_party_experts = 0.8 }

[[vendors.schedule]]
week = 60
social_selling = 0.0
channel_mix = { microblogs = 1, search = 3 }
normalize = true
"""


def test_a_schedule_is_read_into_typed_plans(tmp_path: Path) -> None:
    v = load_scenario(write(tmp_path, SCHEDULED)).vendors[0]
    assert [p.week for p in v.schedule] == [26, 40, 60]
    assert type(v.schedule[1].week) is int  # 40.0 read as a whole number
    first = v.schedule[0]
    assert first.weekly_budget == 10000.0 and first.channel_mix is None
    assert first.social_selling is None and first.normalize is False


def test_plans_apply_from_their_week_on_and_cumulatively(tmp_path: Path) -> None:
    v = load_scenario(write(tmp_path, SCHEDULED)).vendors[0]
    # before the first plan: the vendor's own fields
    assert v.plan_at(25) == (v.spend_by_channel(), 500.0)
    assert spend_at(v, 0) == pytest.approx({**ZERO, "search": 18000, "industry_media": 12000})
    # week 26: only the budget changes, the mix carries over
    assert spend_at(v, 26) == pytest.approx({**ZERO, "search": 6000, "industry_media": 4000})
    # week 40: only the mix changes, the week-26 budget carries over
    assert spend_at(v, 40) == pytest.approx({**ZERO, "search": 2000, "third_party_experts": 8000})
    assert v.plan_at(59)[1] == 500.0  # social selling untouched until week 60
    # week 60: a normalised 1:3 mix, and social selling stops
    spend, social = v.plan_at(103)
    assert dict(zip(CHANNEL_NAMES, spend, strict=True)) == pytest.approx(
        {**ZERO, "microblogs": 2500, "search": 7500}
    )
    assert social == 0.0


def test_spend_by_channel_stays_the_vendors_own_week_0_spend() -> None:
    plan = {"week": 0, "weekly_budget": 5.0}
    sc = scenario_from_dict({"vendors": [{**VENDOR, "schedule": [plan]}]})
    assert spend_of(sc.vendors[0])["search"] == 1000.0
    assert spend_at(sc.vendors[0], 0)["search"] == 5.0  # a week-0 plan holds from the start


def scheduled(*plans: dict, weeks: int = 104) -> dict:
    return {"weeks": weeks, "vendors": [{**VENDOR, "schedule": list(plans)}]}


BAD_PLANS = {
    "weeks not increasing": (
        scheduled({"week": 26, "weekly_budget": 1.0}, {"week": 26, "weekly_budget": 2.0}),
        "vendors[0:Acme].schedule[1].week",
        "weeks must increase (26 after 26)",
    ),
    "week past the horizon": (
        scheduled({"week": 52, "weekly_budget": 1.0}, weeks=52),
        "vendors[0:Acme].schedule[0].week",
        "week 52 is past the scenario's horizon of weeks = 52 (weeks count from 0, the last "
        "is 51); move the plan earlier or raise weeks",
    ),
    "negative week": (
        scheduled({"week": -1, "weekly_budget": 1.0}),
        "vendors[0:Acme].schedule[0].week",
        "must be >= 0",
    ),
    "fractional week": (
        scheduled({"week": 26.5, "weekly_budget": 1.0}),
        "vendors[0:Acme].schedule[0].week",
        "must be a whole number, found 26.5",
    ),
    "plan shares not summing to one": (
        scheduled({"week": 5, "channel_mix": {"search": 0.7, "microblogs": 0.5}}),
        "vendors[0:Acme].schedule[0].channel_mix",
        "shares sum to 1.2, not 1; fix them or set normalize = true to rescale",
    ),
    "plan buying peer recommendations": (
        scheduled({"week": 5, "channel_mix": {"peer_recommendations": 1.0}}),
        "vendors[0:Acme].schedule[0].channel_mix",
        "cannot be bought",
    ),
    "plan changing nothing": (
        scheduled({"week": 5}),
        "vendors[0:Acme].schedule[0]",
        "a plan must change something; give weekly_budget, channel_mix or social_selling",
    ),
    "plan normalising no mix": (
        scheduled({"week": 5, "weekly_budget": 1.0, "normalize": True}),
        "vendors[0:Acme].schedule[0].normalize",
        "normalize rescales this plan's own channel_mix",
    ),
    "plan budget with an empty mix": (
        scheduled({"week": 5, "channel_mix": {}}),
        "vendors[0:Acme].schedule[0].channel_mix",
        "from week 5 a weekly budget has no channel_mix to be spent in",
    ),
    "plan with an unknown key": (
        scheduled({"week": 5, "budget": 1.0}),
        "vendors[0:Acme].schedule[0].budget",
        "unknown key",
    ),
}


@pytest.mark.parametrize("case", BAD_PLANS, ids=list(BAD_PLANS))
def test_bad_plans_name_the_plan_and_the_field(case: str) -> None:
    data, field, problem = BAD_PLANS[case]
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, "s.toml")
    assert "\n" not in str(info.value)
    assert info.value.field == field and problem in info.value.problem


def test_a_plan_error_in_a_file_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, SCHEDULED.replace("week = 40.0", "week = 20"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line_error(
        info.value,
        path,
        "vendors[0:Acme].schedule[1].week",
        "vendors[0:Acme].schedule[1].week: weeks must increase (20 after 26)",
    )


def test_shortening_the_horizon_below_a_plan_is_refused(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, SCHEDULED))
    with pytest.raises(ScenarioError) as info:
        sc.with_changes({"weeks": 50})
    assert info.value.field == "vendors[0:Acme].schedule[2].week"
    assert "horizon of weeks = 50" in info.value.problem


def test_schedules_survive_with_changes_and_model_dump(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, SCHEDULED))
    assert sc.with_changes({}) == sc
    again = scenario_from_dict(sc.model_dump(), sc.source, Path(sc.base_dir))
    assert again == sc and again.vendors[0].schedule == sc.vendors[0].schedule
    changed = sc.with_changes({"vendors.Acme.price": 1.2})
    assert changed.vendors[0].schedule == sc.vendors[0].schedule


@pytest.mark.parametrize("channel", ["search", "industry_media", "third_party_experts"])
def test_without_channel_spend_cuts_the_channel_from_every_plan(
    tmp_path: Path, channel: str
) -> None:
    sc = load_scenario(write(tmp_path, SCHEDULED))
    cf = sc.without_channel_spend("Acme", channel)
    v, w = sc.vendors[0], cf.vendors[0]
    for week in range(sc.weeks):
        before, after = spend_at(v, week), spend_at(w, week)
        assert after[channel] == 0
        for c in CHANNEL_NAMES:
            if c != channel:
                assert after[c] == pytest.approx(before[c], rel=1e-12), (week, c)
        assert w.plan_at(week)[1] == v.plan_at(week)[1]  # social selling untouched
    assert [p.week for p in w.schedule] == [p.week for p in v.schedule]


def test_the_flighted_example_bursts_and_reallocates() -> None:
    sc = load_scenario(SCENARIOS / "flighted_budgets.toml")
    vendors = {v.name: v for v in sc.vendors}
    flighted = vendors["Flighted"]
    on = [sum(flighted.plan_at(w)[0]) > 0 for w in range(sc.weeks)]
    assert on[:13] == [True] * 13 and on[13:26] == [False] * 13 and on[26:39] == [True] * 13
    weekly = [sum(v.plan_at(w)[0]) for v in sc.vendors for w in range(sc.weeks)]
    assert sum(weekly) / len(weekly) == pytest.approx(30000)  # equal average spend
    shift = vendors["MidYearShift"]
    assert spend_at(shift, 51)["third_party_experts"] == 0
    assert spend_at(shift, 52)["third_party_experts"] > 0
    assert sum(shift.plan_at(51)[0]) == pytest.approx(sum(shift.plan_at(52)[0]))
