"""The small validated types (sim/scenario/fields.py): whole numbers take 78.0 as 78 and
refuse 78.5 and booleans; booleans are not numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

from ...conftest import assert_one_line_error
from .common import VENDOR, write

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
