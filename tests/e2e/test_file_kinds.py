"""A file of the wrong kind is named as such, for every command: "this is a sweep file;
simulate takes a scenario file", one line, exit code 2; a scenario whose base is not a
scenario file says so; and `validate` checks each kind of file with its own loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import load_scenario
from tests import builders
from tests.builders import SCENARIOS

from .cli import cli

#: a file of each kind: the shipped baseline, and study files as tests build them
TEXTS = {
    "sweep": builders.grid_sweep(),
    "sensitivity": builders.sensitivity_study(),
    "optimisation": builders.optimize_study(),
    "targets": builders.targets_file(),
}
STUDY_KINDS = sorted(TEXTS)
#: command -> (the kind it takes, its arguments around the file)
SCENARIO_COMMANDS = {
    "simulate": ("scenario", ["--quiet"]),
    "summary": ("scenario", ["--quiet"]),
    "attribution": ("scenario", ["--quiet"]),
    "viz": ("scenario", ["--port", "1"]),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """kind -> a file of that kind."""
    folder = tmp_path_factory.mktemp("kinds")
    out = {kind: builders.write(folder, text, f"{kind}.toml") for kind, text in TEXTS.items()}
    return {"scenario": SCENARIOS / "baseline.toml", **out}


def one_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} file"


@pytest.mark.parametrize("command", sorted(SCENARIO_COMMANDS))
@pytest.mark.parametrize("kind", STUDY_KINDS)
def test_a_scenario_command_names_a_study_file_for_what_it_is(files, command, kind):
    if (command, kind) == ("viz", "sweep"):
        pytest.skip("the live view opens a DATA-loop study, which is a sweep file")
    takes, extra = SCENARIO_COMMANDS[command]
    line = one_line(cli(command, str(files[kind]), *extra))
    assert f"this is {a(kind)}; {command} takes {a(takes)}" in line, line


@pytest.mark.parametrize("kind", ["scenario", "sensitivity", "optimisation", "targets"])
def test_sweep_names_a_file_of_another_kind_for_what_it_is(files, tmp_path, kind):
    out = tmp_path / "out"
    line = one_line(cli("sweep", str(files[kind]), "--out", str(out)))
    assert line.startswith(f"error: {files[kind]}: this is {a(kind)}; sweep takes a sweep file")
    assert not out.exists()


def test_validate_checks_each_kind_with_its_own_loader(files):
    kinds = ["scenario", *STUDY_KINDS]
    r = cli("validate", *(str(files[k]) for k in kinds))
    assert r.returncode == 0, r.stderr
    said = dict(zip(kinds, r.stdout.strip().splitlines(), strict=True))
    sc = load_scenario(files["scenario"])
    assert said["scenario"] == (
        f"ok: {files['scenario']}: scenario {sc.name!r}, {sc.buyers.count:,} buyers, "
        f"{len(sc.vendors)} vendors, {sc.weeks} weeks"
    )
    assert said["sweep"] == f"ok: {files['sweep']}: sweep tiny (8 runs)"
    assert said["sensitivity"] == f"ok: {files['sensitivity']}: sensitivity study"
    assert said["optimisation"] == f"ok: {files['optimisation']}: optimisation study"
    assert said["targets"] == f"ok: {files['targets']}: calibration targets (1 targets)"


def test_validate_knows_every_kind_of_file():
    from analysis.cli.validate import CHECKS
    from sim.filekinds import KINDS

    assert set(CHECKS) == set(KINDS)


@pytest.mark.parametrize("kind", STUDY_KINDS)
def test_a_base_of_another_kind_is_named(files, tmp_path, kind):
    f = builders.write(tmp_path, f'[scenario]\nname = "m"\nbase = "{files[kind]}"\n', "m.toml")
    line = one_line(cli("validate", str(f)))
    assert line.startswith(f"error: {f}: scenario.base: "), line
    assert f"is {a(kind)}; a base must be a scenario file" in line, line
