"""A file of the wrong kind is named as such, for every command: "this is a sweep file;
simulate takes a scenario file", one line, exit code 2, and a scenario whose base is not a
scenario file says so."""

from __future__ import annotations

import pytest

from tests.builders import SCENARIOS

from .cli import cli

#: a shipped file of each kind
FILES = {
    "scenario": SCENARIOS / "baseline.toml",
    "sweep": SCENARIOS / "sweep_channel_mix.toml",
    "sensitivity": SCENARIOS / "sensitivity_baseline.toml",
    "optimisation": SCENARIOS / "optimize_one_channel.toml",
    "targets": SCENARIOS / "targets.toml",
}
#: command -> (the kind it takes, its arguments around the file)
SCENARIO_COMMANDS = {
    "simulate": ("scenario", ["--quiet"]),
    "summary": ("scenario", ["--quiet"]),
    "attribution": ("scenario", ["--quiet"]),
    "viz": ("scenario", ["--port", "1"]),
}


def one_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("command", sorted(SCENARIO_COMMANDS))
@pytest.mark.parametrize("kind", ["sweep", "sensitivity", "optimisation", "targets"])
def test_a_scenario_command_names_a_study_file_for_what_it_is(command, kind):
    if (command, kind) == ("viz", "sweep"):
        pytest.skip("the live view opens a DATA-loop study, which is a sweep file")
    takes, extra = SCENARIO_COMMANDS[command]
    line = one_line(cli(command, str(FILES[kind]), *extra))
    article = "an" if kind[0] in "aeiou" else "a"
    assert f"this is {article} {kind} file; {command} takes a {takes} file" in line, line


def test_a_base_of_another_kind_is_named(tmp_path):
    f = tmp_path / "market.toml"
    f.write_text(f'[scenario]\nname = "m"\nbase = "{FILES["sweep"]}"\n', encoding="utf-8")
    line = one_line(cli("validate", str(f)))
    assert (
        line.startswith(f"error: {f}: scenario.base: ") and "is a sweep file; a base must" in line
    )
