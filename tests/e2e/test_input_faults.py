"""Absurd input at the command line (issue 10): every case is one line on stderr naming
the file and the field, exit code 2, no traceback, in seconds.

Most cases call `run.main` in this process (fast); a few go through a fresh interpreter
as a user does (`cli`): devices and pipes, deep nesting, and the live view's port and
launcher. The pure functions behind them are tested in tests/sim/test_input_limits.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import run
from sim.model import BuyerJourneyModel
from sim.scenario import Scenario
from tests.builders import sweep_head

from ..conftest import ROOT, SCENARIOS
from .cli import cli

VENDOR = '[[vendors]]\nname = "A"\nweekly_budget = 100.0\nchannel_mix = { search = 1.0 }\n'
SMALL = "[scenario]\nweeks = 3\n[buyers]\ncount = 50\n[network]\nk = 4\n"


def main(capsys, *args: str) -> tuple[int, list[str], str]:
    """run.main in-process: (exit code, stderr lines, stdout)."""
    try:
        code = run.main(list(args))
    except SystemExit as exc:  # argparse errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines(), captured.out


def one_line(code: int, err: list[str], *fragments: str) -> str:
    assert code == 2, err
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith("error: ") and "Traceback" not in line
    assert line.isprintable(), repr(line)
    for fragment in fragments:
        assert fragment in line, line
    return line


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# ------------------------------------------------------------------ what is read
@pytest.mark.parametrize("command", ["validate", "simulate"])
def test_devices_pipes_and_folders_are_refused_unread(tmp_path: Path, command: str) -> None:
    """Reading /dev/zero or a pipe nobody writes to would never end: cli's timeout is the
    guard (that nothing is read is checked in-process, tests/sim/test_input_limits.py)."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    for target in ("/dev/zero", str(fifo), str(tmp_path)):
        r = cli(command, target)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert ("not a regular file" in r.stderr) or ("is a folder" in r.stderr)


def test_every_command_reading_a_file_refuses_a_device(capsys, tmp_path: Path) -> None:
    cases = [
        ("summary", "/dev/urandom"),
        ("attribution", "/dev/urandom", "--vendor", "A"),
        (
            "calibrate",
            "/dev/urandom",
            "--targets",
            str(SCENARIOS / "targets.toml"),
            "--out",
            str(tmp_path / "c"),
        ),
        (
            "calibrate",
            str(SCENARIOS / "baseline.toml"),
            "--targets",
            "/dev/zero",
            "--out",
            str(tmp_path / "c"),
        ),
        ("sweep", "/dev/zero", "--out", str(tmp_path / "o")),
        ("viz", "/dev/zero"),
    ]
    for args in cases:
        code, err, _ = main(capsys, *args)
        one_line(code, err, "not a regular file")


def test_a_scenario_nested_100000_deep_is_one_line(tmp_path: Path) -> None:
    deep = write(tmp_path / "deep.toml", "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    r = cli("validate", str(deep))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr[:300]
    assert "nest more than 20 levels deep" in r.stderr


def test_a_byte_order_mark_is_accepted(capsys, tmp_path: Path) -> None:
    bom = write(tmp_path / "bom.toml", b"\xef\xbb\xbf" + (SCENARIOS / "baseline.toml").read_bytes())
    code, err, out = main(capsys, "validate", str(bom))
    assert code == 0, err
    assert "ok: " in out and "'baseline'" in out


# ------------------------------------------------------------------ sizes
def nothing_applied(*_args, **_kw):
    raise AssertionError("a value was applied to the scenario before the design was counted")


def nothing_built(*_args, **_kw):
    raise AssertionError("a model was built before its memory was checked")


GRID = "".join(
    f"[axes.a{i}]\npath = 'choice.status_quo'\nvalues = {list(range(10))}\n" for i in range(12)
)


@pytest.mark.parametrize(
    "body, count",
    [
        ("", "1,000,000,000,000 runs"),  # 12 axes of 10 values
        ("replications = 1000000000\n", "2,000,000,000 runs"),
        ("samples = 1000000000\n", "1,000,000,000 runs"),
    ],
    ids=["grid 10^12", "replications 10^9", "samples 10^9"],
)
@pytest.mark.parametrize("command", ["validate", "sweep"])
def test_huge_designs_are_counted_before_they_are_built(
    capsys, monkeypatch, tmp_path: Path, body: str, count: str, command: str
) -> None:
    """Counted from the file's lists, before any value is applied to the scenario (so
    before any variant or run exists)."""
    head = sweep_head(body, name="big")
    if "samples" in body:
        axes = "[axes.q]\npath = 'choice.status_quo'\nlow = 0.0\nhigh = 2.0\n"
    elif "replications" in body:
        axes = "[axes.q]\npath = 'choice.status_quo'\nvalues = [1.0, 2.0]\n"
    else:
        axes = GRID
    f = write(tmp_path / "big.toml", head + axes)
    extra = ("--out", str(tmp_path / "out")) if command == "sweep" else ()
    monkeypatch.setattr(Scenario, "with_changes", nothing_applied)
    code, err, _ = main(capsys, command, str(f), *extra)
    one_line(code, err, count, "at most 1,000,000 runs")
    assert not (tmp_path / "out").exists()


def test_an_axis_of_a_million_values_is_refused_before_they_are_checked(
    capsys, monkeypatch, tmp_path: Path
) -> None:
    values = ", ".join(str(i / 10) for i in range(200_000))
    f = write(
        tmp_path / "wide.toml",
        sweep_head(f"[axes.q]\npath = 'choice.status_quo'\nvalues = [{values}]\n", name="w"),
    )
    monkeypatch.setattr(Scenario, "with_changes", nothing_applied)
    code, err, _ = main(capsys, "validate", str(f))
    one_line(code, err, "axes.q", "200,000 values; an axis may list at most 10,000")


def test_a_million_workers_are_refused(capsys, tmp_path: Path) -> None:
    code, err, _ = main(
        capsys, "sweep", str(SCENARIOS / "sweep_channel_mix.toml"), "--out", str(tmp_path), "--workers", "1000000"
    )  # fmt: skip
    one_line(code, err, "--workers must be 1-", "found 1000000", "per core")


@pytest.mark.parametrize("command", ["validate", "simulate", "summary"])
def test_five_million_buyers_are_refused_when_memory_is_short(
    capsys, tmp_path: Path, monkeypatch, command: str
) -> None:
    monkeypatch.setenv("BJS_MAX_MEMORY", "2G")
    f = write(tmp_path / "big.toml", "[buyers]\ncount = 5000000\n" + VENDOR)
    monkeypatch.setattr(BuyerJourneyModel, "__init__", nothing_built)
    code, err, _ = main(capsys, command, str(f))
    one_line(code, err, "buyers.count", "5,000,000 buyers", "needs about", "2.0 GB is allowed")


def test_buyers_flag_and_sweep_axes_are_checked_for_memory(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("BJS_MAX_MEMORY", "2G")
    code, err, _ = main(capsys, "simulate", "--buyers", "5000000", "--quiet")
    one_line(code, err, "--buyers", "5,000,000 buyers")
    f = write(
        tmp_path / "s.toml",
        sweep_head("[axes.n]\npath = 'buyers.count'\nvalues = [1000, 5000000]\n", name="m"),
    )
    code, err, _ = main(capsys, "sweep", str(f), "--out", str(tmp_path / "o"))
    one_line(code, err, "5,000,000 buyers")


@pytest.mark.parametrize("command", ["validate", "simulate"])
def test_a_budget_of_1e308_is_refused_with_the_bound(capsys, tmp_path: Path, command: str) -> None:
    f = write(
        tmp_path / "b.toml",
        '[[vendors]]\nname = "A"\nweekly_budget = 1e308\nchannel_mix = { search = 1.0 }\n',
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        code, err, _ = main(capsys, command, str(f))
    one_line(code, err, "vendors[0:A].weekly_budget", "must be <= 1e+15", "found 1e+308")


# ------------------------------------------------------------------ graph files
GRAPHS = {
    "empty": ("g.edgelist", b"", "has no nodes"),
    "comments only": ("g.edgelist", b"# nobody\n", "has no nodes"),
    "binary": ("g.edgelist", bytes(range(256)), "a binary file"),
    "wrong node count": ("g.edgelist", b"a b\nb c\n", "3 nodes but buyers.count is 50"),
    "malformed GraphML": ("g.graphml", b"<graphml><graph", "cannot read as graphml"),
    "edge list named .graphml": ("g.graphml", b"0 1\n1 2\n", "not GraphML"),
    "names with spaces": ("g.edgelist", b"alice smith bob jones\n", "cannot contain a space"),
}


@pytest.mark.parametrize("command", ["validate", "simulate"])
@pytest.mark.parametrize("case", GRAPHS, ids=list(GRAPHS))
def test_graph_files_simulate_rejects_fail_validate_too(
    capsys, tmp_path: Path, case: str, command: str
) -> None:
    name, content, fragment = GRAPHS[case]
    write(tmp_path / name, content)
    f = write(
        tmp_path / "s.toml",
        SMALL.replace("[network]\nk = 4\n", "")
        + f'[network]\nkind = "file"\npath = "{name}"\n'
        + VENDOR,
    )
    code, err, _ = main(capsys, command, str(f), *(["--quiet"] if command == "simulate" else []))
    one_line(code, err, fragment)


def test_a_good_graph_file_validates(capsys, tmp_path: Path) -> None:
    write(tmp_path / "g.edgelist", b"".join(f"{i} {i + 1}\n".encode() for i in range(49)))
    f = write(
        tmp_path / "s.toml",
        '[buyers]\ncount = 50\n[network]\nkind = "file"\npath = "g.edgelist"\n' + VENDOR,
    )
    code, err, out = main(capsys, "validate", str(f))
    assert code == 0, err
    assert "50 buyers" in out


# ------------------------------------------------------------------ messages
def test_a_100000_character_vendor_name_gives_a_short_line(capsys, tmp_path: Path) -> None:
    f = write(tmp_path / "n.toml", f'[[vendors]]\nname = "{"N" * 100_000}"\n')
    code, err, _ = main(capsys, "validate", str(f))
    line = one_line(code, err, "at most 60 characters", "(100,000 characters)")
    assert len(line) < 500


def test_ansi_escapes_in_names_never_reach_the_terminal(capsys, tmp_path: Path) -> None:
    f = write(tmp_path / "a.toml", '[[vendors]]\nname = "\\u001b[2J\\u001b[31mEvil"\n')
    code, err, _ = main(capsys, "simulate", str(f))
    line = one_line(code, err, "control characters", "\\x1b[2J")
    assert "\x1b" not in line


def test_an_unknown_scenario_key_names_its_table(capsys, tmp_path: Path) -> None:
    f = write(tmp_path / "h.toml", "[scenario]\nhorizon = 52\n" + VENDOR)
    code, err, _ = main(capsys, "validate", str(f))
    one_line(code, err, ": scenario.horizon: unknown key")


def test_a_scenario_given_to_sweep_is_not_a_sweep_file(capsys, tmp_path: Path) -> None:
    code, err, _ = main(
        capsys, "sweep", str(SCENARIOS / "baseline.toml"), "--out", str(tmp_path / "o")
    )
    one_line(code, err, "this is a scenario file; sweep takes a sweep file")
    assert not (tmp_path / "o").exists()


def test_a_thousand_vendors_print_no_pandas_warnings(tmp_path: Path) -> None:
    from sim.model import BuyerJourneyModel
    from sim.scenario import load_scenario

    body = "".join(
        f'[[vendors]]\nname = "V{i}"\nweekly_budget = 10.0\nchannel_mix = {{ search = 1.0 }}\n'
        for i in range(1000)
    )
    sc = load_scenario(write(tmp_path / "v.toml", SMALL + body))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        BuyerJourneyModel(sc, seed=1).run().tables()
    assert [str(w.message)[:80] for w in seen] == []


# ------------------------------------------------------------------ the live view
def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_viz_on_a_port_in_use_is_one_line_before_any_url() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = cli("viz", "--port", str(port))  # a server started anyway would hit cli's timeout
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""  # no URL of someone else's server
    assert r.stderr.strip().splitlines() == [
        f"error: --port {port}: port {port} on 127.0.0.1 is in use (another server is "
        f"listening there); choose another, e.g. --port {port + 1}"
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
def test_killing_the_viz_launcher_with_9_stops_the_server() -> None:
    if not (Path(sys.executable).parent / "solara").exists():
        pytest.skip("solara is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "viz", "--port", str(port), "--buyers", "200"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 90
        while not _listening(port) and time.time() < deadline:
            time.sleep(0.2)
        assert _listening(port), "the server did not start"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.time() + 10
    while _listening(port) and time.time() < deadline:
        time.sleep(0.2)
    assert not _listening(port), "the server outlived its launcher"


def test_a_sweep_counts_its_workers_against_memory(capsys, tmp_path: Path, monkeypatch) -> None:
    """Local workers run side by side: a run that fits once may not fit twice."""
    monkeypatch.setenv("BJS_MAX_MEMORY", "300M")
    sweep = str(SCENARIOS / "sweep_channel_mix.toml")
    code, err, _ = main(capsys, "sweep", sweep, "--out", str(tmp_path / "o"), "--workers", "2")
    one_line(code, err, "x 2 runs at once", "use fewer workers")


def test_attribution_reps_are_bounded(capsys) -> None:
    code, err, _ = main(
        capsys, "attribution", str(SCENARIOS / "baseline.toml"), "--vendor", "AnalystLed",
        "--reps", "1000000000",
    )  # fmt: skip
    one_line(code, err, "--reps must be 1-10000", "found 1000000000")


@pytest.mark.parametrize(
    ("command", "file"),
    [
        ("sensitivity", "sensitivity_baseline.toml"),
        ("optimize", "optimize_one_channel.toml"),
        ("dataloop", "data_loop.toml"),
    ],
)
def test_a_stopped_long_command_is_its_line_and_code(
    capsys, monkeypatch, tmp_path: Path, command: str, file: str
) -> None:
    """Every long command that stops (Ctrl-C in the engine, a failed run it needs) ends
    the same way: run.py prints the one line and exits with the Stopped code."""
    import importlib

    from analysis.errors import Stopped

    where = {
        "sensitivity": ("analysis.studies.sensitivity.run", "run_study"),
        "optimize": ("analysis.studies.optimize.optimizer", "optimize"),
        "dataloop": ("analysis.studies.dataloop.run", "run_study"),
    }[command]

    def stops(*_args, **_kw):
        raise Stopped("interrupted: 3 of 9 runs are saved in DIR; run the same command again", 130)

    monkeypatch.setattr(importlib.import_module(where[0]), where[1], stops)
    code = run.main([command, str(SCENARIOS / file), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130
    assert err == ["interrupted: 3 of 9 runs are saved in DIR; run the same command again"]
