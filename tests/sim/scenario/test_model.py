"""The Scenario (sim/scenario/model.py and the tables it is built of): a scenario file is
validated once into frozen typed objects; bad input names the file, the field and what
is allowed; with_changes gives a new validated scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sim.channels import CHANNEL_NAMES
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

from ...conftest import SCENARIOS, assert_one_line_error
from .common import VENDOR, write

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


def test_with_changes_returns_a_new_validated_scenario(baseline) -> None:
    before = baseline.model_dump()
    changed = baseline.with_changes({"buyers.count": 100, "vendors.AnalystLed.weekly_budget": 5.0})
    assert changed.buyers.count == 100 and changed.vendors[0].weekly_budget == 5.0
    assert baseline.model_dump() == before  # the original is untouched
    with pytest.raises(ScenarioError, match="no vendor named 'Nobody'"):
        baseline.with_changes({"vendors.Nobody.price": 1.0})
    with pytest.raises(ScenarioError, match="buyers.count"):
        baseline.with_changes({"buyers.count": -5})


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
