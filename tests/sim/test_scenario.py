"""A scenario file is validated once into frozen typed objects; bad input names the
file, the field and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sim.channels import CHANNEL_NAMES
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

from ..conftest import SCENARIOS, assert_one_line_error

VENDOR = {"name": "Acme", "weekly_budget": 1000.0, "channel_mix": {"search": 1.0}}


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


#: study files (sweeps, sensitivity and optimisation studies, calibration targets) have a
#: table of their own; `run.py validate` checks them by kind (tests/e2e/test_cli.py)
STUDY_TABLES = ("[sweep]", "[sensitivity]", "[optimize]", "[[targets]]")
SCENARIO_FILES = sorted(
    p for p in SCENARIOS.glob("*.toml") if not any(t in p.read_text() for t in STUDY_TABLES)
)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_validates(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.vendors and sc.buyers.count >= 1


def test_scenario_is_frozen(baseline) -> None:
    with pytest.raises(ValidationError):
        baseline.weeks = 3


def spend_of(vendor) -> dict[str, float]:
    """A vendor's week-0 spend by channel name."""
    return dict(zip(CHANNEL_NAMES, vendor.spend_by_channel(), strict=True))


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


def test_with_changes_returns_a_new_validated_scenario(baseline) -> None:
    before = baseline.model_dump()
    changed = baseline.with_changes({"buyers.count": 100, "vendors.AnalystLed.weekly_budget": 5.0})
    assert changed.buyers.count == 100 and changed.vendors[0].weekly_budget == 5.0
    assert baseline.model_dump() == before  # the original is untouched
    with pytest.raises(ScenarioError, match="no vendor named 'Nobody'"):
        baseline.with_changes({"vendors.Nobody.price": 1.0})
    with pytest.raises(ScenarioError, match="buyers.count"):
        baseline.with_changes({"buyers.count": -5})


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


#: Every integer field, with a whole-number value it accepts (as a dotted path).
INTEGER_FIELDS = {
    "weeks": 78,
    "seed": 7,
    "buyers.count": 300,
    "buyers.consultations_per_week": 3,
    "buyers.engage_weeks": 20,
    "network.k": 6,
    "network.m": 4,
}


def nested(dotted: str, value: object) -> dict:
    """{"a.b": v} as {"a": {"b": v}}, with one vendor: a minimal scenario dict."""
    data: dict = {"vendors": [VENDOR]}
    *heads, last = dotted.split(".")
    node = data
    for h in heads:
        node = node.setdefault(h, {})
    node[last] = value
    return data


@pytest.mark.parametrize("dotted", INTEGER_FIELDS)
def test_integer_fields_take_whole_floats_as_ints(dotted: str) -> None:
    value = INTEGER_FIELDS[dotted]
    sc = scenario_from_dict(nested(dotted, float(value)))
    got = sc.model_dump()
    for part in dotted.split("."):
        got = got[part]
    assert got == value and type(got) is int


@pytest.mark.parametrize("dotted", INTEGER_FIELDS)
@pytest.mark.parametrize(
    ("bad", "shown"),
    [(78.5, "must be a whole number, found 78.5"), (True, "must be a whole number, found True")],
)
def test_integer_fields_refuse_fractions_and_booleans(dotted: str, bad: object, shown: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(nested(dotted, bad))
    assert info.value.field == dotted and info.value.problem == shown


def test_whole_float_weeks_in_a_toml_file(tmp_path: Path) -> None:
    text = '[scenario]\nweeks = 78.0\n[[vendors]]\nname = "A"\n'
    assert load_scenario(write(tmp_path, text)).weeks == 78
    path = write(tmp_path, text.replace("78.0", "78.5"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line_error(info.value, path, "scenario.weeks", "must be a whole number, found 78.5")


def test_booleans_are_not_numbers_in_float_fields_either() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"vendors": [{**VENDOR, "weekly_budget": True}]})
    assert info.value.problem == "must be a number, found True"


BAD_CASES = {
    "malformed TOML": ("[scenario\nname = 1", "", "not valid TOML"),
    "unknown key": ('bogus = 1\n[[vendors]]\nname = "A"', "bogus", "unknown key"),
    "unknown channel": (
        '[[vendors]]\nname = "A"\nchannel_mix = { telepathy = 1.0 }',
        "vendors[0:A].channel_mix",
        "unknown channel 'telepathy'; allowed: industry_media",
    ),
    "negative channel share": (
        '[[vendors]]\nname = "A"\nchannel_mix = { search = -0.5 }',
        "vendors[0:A].channel_mix.search",
        "must be >= 0",
    ),
    "negative budget": (
        '[[vendors]]\nname = "A"\nweekly_budget = -10.0',
        "vendors[0:A].weekly_budget",
        "must be >= 0",
    ),
    "zero buyers": ('[buyers]\ncount = 0\n[[vendors]]\nname = "A"', "buyers.count", "must be >= 1"),
    "non-numeric": (
        '[[vendors]]\nname = "A"\nweekly_budget = "lots"',
        "vendors[0:A].weekly_budget",
        "must be a number, found 'lots'",
    ),
    "missing graph file": (
        '[network]\nkind = "file"\npath = "no_such_graph.edgelist"\n[[vendors]]\nname = "A"',
        "network.path",
        "not found",
    ),
    "no vendors": ("[buyers]\ncount = 10", "vendors", "required"),
    "need rate above one": (
        "[buyers.need_rate]\nindividual = 0.01\nmanager = 0.01\ndirector = 0.01\nvp = 1.5\n"
        'c_level = 0.01\n[[vendors]]\nname = "A"',
        "buyers.need_rate.vp",
        "must be a probability between 0 and 1, found 1.5",
    ),
    "social use above one": (
        "[buyers.social_use]\nindividual = 1.2\nmanager = 0.5\ndirector = 0.5\nvp = 0.5\n"
        'c_level = 0.5\n[[vendors]]\nname = "A"',
        "buyers.social_use.individual",
        "must be a probability between 0 and 1, found 1.2",
    ),
    "zero buyer budget": (
        "[buyers.budget]\nindividual = 0.0\nmanager = 1.0\ndirector = 1.0\nvp = 1.0\n"
        'c_level = 1.0\n[[vendors]]\nname = "A"',
        "buyers.budget.individual",
        "must be > 0 (a deal is worth budget x price), found 0",
    ),
    "scenario name with a slash": (
        '[scenario]\nname = "../q3"\n[[vendors]]\nname = "A"',
        "scenario.name",
        "scenario names may not contain '/' or '\\' (they become part of file names); "
        "rename it, e.g. '.._q3'",
    ),
    "vendor name with a dot": (
        '[[vendors]]\nname = "Acme.io"',
        "vendors[0:Acme.io].name",
        "vendors[0:Acme.io].name: vendor names may not contain '.' (sweep paths use "
        "vendors.NAME.field); rename it, e.g. 'Acme_io'",
    ),
    "vendor name with a slash": (
        '[[vendors]]\nname = "Acme/EU"',
        "vendors[0:Acme/EU].name",
        "may not contain '/' or '\\' (they become part of file names); rename it, e.g. 'Acme_EU'",
    ),
    "vendor name with outer spaces": (
        '[[vendors]]\nname = " Acme"',
        "vendors[0: Acme].name",
        "may not start or end with spaces; rename it, e.g. 'Acme'",
    ),
    "shares not summing to one": (
        "[buyers.seniority_shares]\nindividual = 0.5\nmanager = 0.5\ndirector = 0.5\n"
        'vp = 0\nc_level = 0\n[[vendors]]\nname = "A"',
        "buyers.seniority_shares",
        "sum to 1",
    ),
}


@pytest.mark.parametrize("case", BAD_CASES, ids=list(BAD_CASES))
def test_bad_input_names_file_field_and_fix(tmp_path: Path, case: str) -> None:
    text, field, fragment = BAD_CASES[case]
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line_error(info.value, path, field, fragment)


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.toml")


def test_peer_recommendations_cannot_be_bought() -> None:
    with pytest.raises(ScenarioError, match="cannot be bought"):
        scenario_from_dict({"vendors": [{**VENDOR, "channel_mix": {"peer_recommendations": 1.0}}]})


def test_channel_override_changes_only_that_channel(baseline) -> None:
    sc = baseline.with_changes({"channels.search.credibility": (0.0, 0.0, 0.0)})
    table = {c.name: c for c in sc.channel_table()}
    assert table["search"].credibility == (0.0, 0.0, 0.0)
    assert (
        table["industry_media"] == {c.name: c for c in baseline.channel_table()}["industry_media"]
    )


def test_a_dotted_vendor_name_is_refused_even_through_with_changes(baseline) -> None:
    """A dotted name could never be addressed again (vendors.Acme.io.price), so it is
    refused however the scenario is made, not only when a file is loaded."""
    with pytest.raises(ScenarioError) as info:
        baseline.with_changes({"vendors.AnalystLed.name": "Analyst.Led"})
    assert info.value.field == "vendors[0:Analyst.Led].name"
    assert "rename it, e.g. 'Analyst_Led'" in str(info.value)


def test_channel_preference_override_changes_only_that_channel(baseline) -> None:
    sc = baseline.with_changes({"channels.microblogs.preference": (0.5, 0.0, 0.25)})
    table = {c.name: c for c in sc.channel_table()}
    before = {c.name: c for c in baseline.channel_table()}
    assert table["microblogs"].preference == (0.5, 0.0, 0.25)
    assert table["microblogs"].credibility == before["microblogs"].credibility
    assert all(table[c] == before[c] for c in CHANNEL_NAMES if c != "microblogs")


def test_a_stage_where_no_channel_can_be_consulted_is_refused(tmp_path: Path) -> None:
    text = "".join(f"[channels.{c}]\npreference = [0.0, 1.0, 1.0]\n" for c in CHANNEL_NAMES)
    path = write(tmp_path, text + '[[vendors]]\nname = "A"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line_error(
        info.value,
        path,
        "channels.industry_media.preference",
        "all channels' preferences are 0 in the early stage; give one of industry_media, "
        "search, third_party_experts",
    )


def test_a_stage_only_social_buyers_could_research_in_is_refused() -> None:
    """Non-social buyers skip social sources and unready buyers skip sales reps: with
    only those left in a stage, such a buyer would have no source at all."""
    zeroed = {
        c: {"preference": (1.0, 0.0, 1.0)}
        for c in ("industry_media", "search", "third_party_experts", "peer_recommendations")
    }
    zeroed["vendor_content"] = {"preference": (1.0, 0.0, 1.0)}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"vendors": [VENDOR], "channels": zeroed})
    assert info.value.field == "channels.industry_media.preference"
    assert "in the middle stage only social channels and sales_reps" in info.value.problem
    # one channel every buyer consults is enough
    del zeroed["search"]
    assert scenario_from_dict({"vendors": [VENDOR], "channels": zeroed}).channel_table()


def test_network_generator_defaults_to_fast_and_names_the_choices() -> None:
    assert scenario_from_dict({"vendors": [VENDOR]}).network.generator == "fast"
    sc = scenario_from_dict({"vendors": [VENDOR], "network": {"generator": "networkx"}})
    assert sc.network.generator == "networkx"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"vendors": [VENDOR], "network": {"generator": "igraph"}})
    assert info.value.field == "network.generator"
    assert "'fast' or 'networkx'" in info.value.problem


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


ZERO = dict.fromkeys(CHANNEL_NAMES, 0.0)


def spend_at(vendor, week: int) -> dict[str, float]:
    """A vendor's spend by channel name in force at `week`."""
    return dict(zip(CHANNEL_NAMES, vendor.plan_at(week)[0], strict=True))


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


# ----------------------------------------------------------------- a base market

BASE = """
[scenario]
name = "market"
description = "the base market"
weeks = 30
seed = 5

[buyers]
count = 300
sales_readiness_mean = 0.8

[accounts]
consensus = 0.7
group_size = { small = 2.0, mid_market = 3.0, enterprise = 5.0 }

[organic]
reach = { search = 0.25, industry_media = 0.10 }

[channels.microblogs]
credibility = [0.1, 0.2, 0.3]

[[vendors]]
name = "A"
weekly_budget = 1000.0
channel_mix = { search = 1.0 }

[[vendors]]
name = "B"
"""


def files(folder: Path, **texts: str) -> dict[str, Path]:
    """Write `name = text` as `folder/name.toml` (folders created); their paths."""
    out = {}
    for name, text in texts.items():
        out[name] = folder / f"{name.replace('__', '/')}.toml"
        out[name].parent.mkdir(parents=True, exist_ok=True)
        out[name].write_text(text)
    return out


def test_a_file_merges_its_tables_over_its_base(tmp_path: Path) -> None:
    """Tables merge key by key at any depth; the file's values win."""
    p = files(
        tmp_path,
        base=BASE,
        top='[scenario]\nbase = "base.toml"\nseed = 9\n'
        "[accounts]\ngroup_size = { enterprise = 8.0 }\n"
        "[organic]\nreach = { search = 0.5 }\n",
    )
    sc = load_scenario(p["top"])
    assert sc.accounts is not None
    assert sc.accounts.group_size.as_tuple() == (2.0, 3.0, 8.0)  # a nested table merges
    assert sc.accounts.consensus == 0.7
    assert sc.organic.reach == {"search": 0.5, "industry_media": 0.10}
    assert (sc.buyers.count, sc.buyers.sales_readiness_mean) == (300, 0.8)
    assert (sc.weeks, sc.seed) == (30, 9)  # [scenario] keys merge too
    assert sc.vendor_names() == ("A", "B")  # a file without [[vendors]] keeps the base's
    assert sc.source == str(p["top"]) and sc.base_dir == str(tmp_path)


def test_an_array_replaces_the_bases_whole(tmp_path: Path) -> None:
    p = files(
        tmp_path,
        base=BASE,
        top='[scenario]\nbase = "base.toml"\n[channels.microblogs]\ncredibility = [0.0, 0.0]\n',
    )
    with pytest.raises(ScenarioError) as info:  # not merged by position into [0, 0, 0.3]
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["top"], "channels.microblogs.credibility[2]", "")
    p["top"].write_text(
        '[scenario]\nbase = "base.toml"\n[channels.microblogs]\ncredibility = [0.0, 0.0, 0.0]\n'
    )
    assert load_scenario(p["top"]).channels["microblogs"].credibility == (0.0, 0.0, 0.0)


def test_the_files_vendors_replace_the_bases(tmp_path: Path) -> None:
    """Vendors are the strategies a file compares: its [[vendors]] replace the base's
    whole, never merged by position (the file's first vendor does not inherit A's mix)."""
    p = files(tmp_path, base=BASE, top='[scenario]\nbase = "base.toml"\n[[vendors]]\nname = "C"\n')
    sc = load_scenario(p["top"])
    assert sc.vendor_names() == ("C",)
    assert sc.vendors[0].weekly_budget == 0 and sc.vendors[0].channel_mix == {}


def test_name_and_description_are_the_files_own(tmp_path: Path) -> None:
    p = files(
        tmp_path,
        base=BASE,
        named='[scenario]\nbase = "base.toml"\nname = "mine"\n',
        unnamed='[scenario]\nbase = "base.toml"\n',
    )
    named, unnamed = load_scenario(p["named"]), load_scenario(p["unnamed"])
    assert (named.name, named.description) == ("mine", "")
    assert (unnamed.name, unnamed.description) == ("scenario", "")  # the defaults
    assert unnamed.weeks == 30  # the rest of [scenario] is inherited


def test_a_key_written_at_the_top_overrides_the_bases_scenario_table(tmp_path: Path) -> None:
    """[scenario] keys may be written at the top of a file: either way the file wins."""
    p = files(tmp_path, base=BASE, top='weeks = 12\n[scenario]\nbase = "base.toml"\n')
    assert load_scenario(p["top"]).weeks == 12
    flat = 'name = "m"\nweeks = 30\nseed = 5\n[[vendors]]\nname = "A"\n'  # no [scenario]
    p = files(tmp_path, flat=flat, top='[scenario]\nbase = "flat.toml"\nweeks = 12\n')
    sc = load_scenario(p["top"])
    assert (sc.name, sc.weeks, sc.seed) == ("scenario", 12, 5)


def test_a_base_may_have_a_base_each_relative_to_its_own_file(tmp_path: Path) -> None:
    p = files(
        tmp_path,
        market__root=BASE,
        market__mid='[scenario]\nbase = "root.toml"\nweeks = 20\n[buyers]\ncount = 200\n',
        top='[scenario]\nbase = "market/mid.toml"\nname = "top"\n[buyers]\ncount = 100\n',
    )
    sc = load_scenario(p["top"])
    assert (sc.name, sc.weeks, sc.seed, sc.buyers.count) == ("top", 20, 5, 100)
    assert sc.accounts is not None and sc.accounts.consensus == 0.7
    p["top"].write_text(f'[scenario]\nbase = "{p["market__mid"]}"\n')  # absolute
    assert load_scenario(p["top"]).buyers.count == 200


def test_a_graph_file_of_a_base_is_found_next_to_the_base(tmp_path: Path) -> None:
    p = files(
        tmp_path,
        market__root=BASE + '[network]\nkind = "file"\npath = "g.edgelist"\n',
        top='[scenario]\nbase = "market/root.toml"\n',
    )
    (tmp_path / "market" / "g.edgelist").write_text("a b\nb c\n")
    sc = load_scenario(p["top"])
    assert sc.graph_path().resolve() == (tmp_path / "market" / "g.edgelist").resolve()


def test_a_based_file_is_the_same_scenario_as_its_tables_written_in_full(tmp_path: Path) -> None:
    """The merged scenario is validated like any file: written out whole (calibrate's
    calibrated.toml) it loads alone, with the same content hash (sweeps' run ids)."""
    from analysis.engine.design import scenario_hash
    from analysis.engine.scenario_toml import scenario_toml

    p = files(tmp_path, base=BASE, top='[scenario]\nbase = "base.toml"\nseed = 9\n')
    merged = load_scenario(p["top"])
    full = tmp_path / "full.toml"
    full.write_text(scenario_toml(merged))
    assert scenario_hash(load_scenario(full)) == scenario_hash(merged)


def validate_error(path: Path, capsys) -> str:
    """`run.py validate PATH` as a user runs it: exit code 2 and one line on stderr."""
    import run

    code = run.main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


def test_a_missing_base_is_one_line_naming_the_file_and_the_field(tmp_path: Path, capsys) -> None:
    p = files(tmp_path, top='[scenario]\nbase = "nope.toml"\n[[vendors]]\nname = "A"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["top"], "scenario.base", "nope.toml' not found")
    assert "relative to this file's folder" in str(info.value)
    assert f"{p['top']}: scenario.base: base file" in validate_error(p["top"], capsys)


def test_bases_in_a_cycle_are_one_line(tmp_path: Path, capsys) -> None:
    p = files(
        tmp_path,
        a='[scenario]\nbase = "b.toml"\n[[vendors]]\nname = "A"\n',
        b='[scenario]\nbase = "a.toml"\n',
        itself='[scenario]\nbase = "itself.toml"\n',
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["a"])
    assert_one_line_error(info.value, p["b"], "scenario.base", "cycle (a.toml -> b.toml -> a.toml)")
    assert "cycle" in validate_error(p["a"], capsys)
    assert "cycle (itself.toml -> itself.toml)" in validate_error(p["itself"], capsys)


def test_more_than_five_stacked_bases_are_refused(tmp_path: Path) -> None:
    texts = {f"f{i}": f'[scenario]\nbase = "f{i + 1}.toml"\n' for i in range(6)}
    p = files(tmp_path, **texts, f6=BASE)
    assert load_scenario(p["f1"]).buyers.count == 300  # five bases: f2 .. f6
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["f0"])
    assert_one_line_error(info.value, p["f5"], "scenario.base", "more than 5 bases stacked")


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ("[scenario]\nbase = 3\n", "scenario.base", "must be the path of a scenario file"),
        ('base = "b.toml"\n', "base", "write it in the [scenario] table"),
    ],
)
def test_a_malformed_base_key_is_one_line(tmp_path: Path, text: str, field: str, fragment: str):
    p = files(tmp_path, top=text + '[[vendors]]\nname = "A"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["top"], field, fragment)


def test_an_error_inside_the_base_names_the_base_file(tmp_path: Path, capsys) -> None:
    bad = BASE.replace("consensus = 0.7", "consensus = 1.7")
    p = files(tmp_path, base=bad, top='[scenario]\nbase = "base.toml"\n[buyers]\ncount = 50\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["base"], "accounts.consensus", f"the base of {p['top']}")
    assert validate_error(p["top"], capsys).startswith(f"error: {p['base']}: accounts.consensus")
    p["base"].write_text("[scenario\n")  # not TOML
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["base"], "", "not valid TOML")
    p["base"].write_text(BASE)  # the file's own error stays the file's
    p["top"].write_text('[scenario]\nbase = "base.toml"\n[buyers]\ncount = 0\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["top"], "buyers.count", "must be >= 1")


def test_a_base_is_read_from_files_only() -> None:
    with pytest.raises(ScenarioError, match="scenario.base: a base file is read when"):
        scenario_from_dict({"scenario": {"base": "baseline.toml"}, "vendors": [VENDOR]})
