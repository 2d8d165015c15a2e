"""What the live view is started with and what its user types."""

from __future__ import annotations

from types import SimpleNamespace

from analysis.live.inputs import (
    BUYERS_ENV,
    initial_buyers,
    is_study_data,
    is_study_file,
    parse_seed,
)
from analysis.paths import BASELINE

from .scenarios import study_file


def test_parse_seed():
    assert parse_seed("12", 3) == (12, None)
    assert parse_seed(" ", 3) == (3, None)
    assert parse_seed(None, 3) == (3, None)
    assert parse_seed(5, 3) == (5, None)
    assert parse_seed("-1", 3)[0] == 3
    assert parse_seed("x", 3)[1]


def test_a_study_file_is_told_from_a_scenario_by_its_tables(tmp_path):
    assert is_study_file(study_file(tmp_path))
    assert not is_study_file(BASELINE)
    assert not is_study_file(tmp_path / "missing.toml")  # loading it says what is wrong
    broken = tmp_path / "broken.toml"
    broken.write_text("[sweep\n")
    assert not is_study_file(broken)
    # a sweep over a scenario of its own (vendors in the file) is run as a scenario
    assert not is_study_data({"sweep": {}, "vendors": []})
    assert not is_study_data({"sweep": "x"})


def test_the_buyers_to_start_with_come_from_the_environment(monkeypatch):
    scenario = SimpleNamespace(buyers=SimpleNamespace(count=5000))
    monkeypatch.setenv(BUYERS_ENV, "250")
    assert initial_buyers(scenario) == 250
    monkeypatch.setenv(BUYERS_ENV, "0")
    assert initial_buyers(scenario) == 1
    monkeypatch.setenv(BUYERS_ENV, "many")
    assert initial_buyers(scenario) == 5000
    monkeypatch.delenv(BUYERS_ENV)
    assert initial_buyers(scenario) == 5000
