"""Bounded work on absurd input (issue 10), in-process: what is read (regular files of
bounded size, no device or pipe, a BOM skipped, nesting bounded), every number bounded
so a run stays finite without RuntimeWarnings, names and messages safe for a terminal
line, graph files checked as a run reads them, and the limits of analysis.engine.limits (runs,
workers, the memory estimate). The command line's view of the same cases is
tests/e2e/test_input_faults.py."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from analysis.engine import limits
from sim.model import BuyerJourneyModel
from sim.network import MAX_GRAPH_BYTES, check_graph_file, read_graph_file
from sim.scenario import (
    MAX_NESTING,
    MAX_NUMBER,
    MAX_TOML_BYTES,
    ScenarioError,
    load_scenario,
    printable,
    read_toml,
    scenario_from_dict,
    shown,
)

from ..conftest import SCENARIOS

VENDOR = '[[vendors]]\nname = "A"\nweekly_budget = 100.0\nchannel_mix = { search = 1.0 }\n'


def write(tmp_path: Path, text: str | bytes, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


# ------------------------------------------------------------------ what is read
class WatchedOs:
    """The os module as sim.scenario.reading sees it, recording the flags of each open
    and refusing any read (a test that passes read nothing)."""

    def __init__(self) -> None:
        self.opened: list[int] = []

    def __getattr__(self, name: str):
        return getattr(os, name)

    def open(self, path, flags, *args):
        self.opened.append(flags)
        return os.open(path, flags, *args)

    def read(self, fd: int, n: int) -> bytes:
        raise AssertionError(f"read {n} bytes from a file that should be refused unread")


@pytest.fixture
def watched_os(monkeypatch) -> WatchedOs:
    watched = WatchedOs()
    monkeypatch.setattr("sim.scenario.reading.os", watched)
    return watched


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_without_reading(device: str, watched_os: WatchedOs) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_toml(device, "scenario")
    assert watched_os.opened  # opened (to look at it), never read


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path, watched_os: WatchedOs) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # nobody writes to it: a blocking open or a read would wait forever
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_toml(fifo, "scenario")
    assert watched_os.opened and all(flags & os.O_NONBLOCK for flags in watched_os.opened)


def test_a_folder_and_a_missing_file_say_so(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a folder"):
        read_toml(tmp_path, "scenario")
    with pytest.raises(ScenarioError, match="file not found"):
        read_toml(tmp_path / "gone.toml", "scenario")


def test_a_file_above_the_size_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(MAX_TOML_BYTES + 1)  # sparse: nothing is written or read
    with pytest.raises(ScenarioError, match=r"is 10\.0 MB; a scenario \.toml file may be at most"):
        read_toml(big, "scenario")


def test_a_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    text = (SCENARIOS / "baseline.toml").read_bytes()
    sc = load_scenario(write(tmp_path, b"\xef\xbb\xbf" + text))
    assert sc.name == "baseline"


@pytest.mark.parametrize("depth", [100_000, MAX_NESTING + 1])
def test_deep_nesting_is_one_error_not_a_recursion_error(tmp_path: Path, depth: int) -> None:
    p = write(tmp_path, "a = " + "[" * depth + "]" * depth + "\n")
    err = error_of(p)
    assert "nest more than 20 levels deep" in str(err) and "\n" not in str(err)
    deep_tables = write(tmp_path, "x = " + "{a = " * 200 + "1" + "}" * 200 + "\n", "t.toml")
    assert "nest more than" in str(error_of(deep_tables))


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize(
    "line, field, fragment",
    [
        ("weekly_budget = 1e308", "weekly_budget", "must be <= 1e+15"),
        ("fixed_costs = 1e16", "fixed_costs", "must be <= 1e+15"),
        ("social_selling = 1e308", "social_selling", "must be <= 1e+15"),
    ],
)
def test_money_is_bounded_with_the_bound_in_the_message(
    tmp_path: Path, line: str, field: str, fragment: str
) -> None:
    text = '[[vendors]]\nname = "A"\nchannel_mix = { search = 1.0 }\n' + line + "\n"
    err = error_of(write(tmp_path, text))
    assert err.field == f"vendors[0:A].{field}"
    assert fragment in err.problem and "spend, revenue and ROI stay finite" in err.problem


@pytest.mark.parametrize(
    "table, fragment",
    [
        ("[buyers]\nbudget = { individual = 1e308, manager = 1.0, director = 1.0, vp = 1.0, c_level = 1.0 }", "<= 1e+15"),
        ("[buyers]\nbudget = { individual = 1e-300, manager = 1.0, director = 1.0, vp = 1.0, c_level = 1.0 }", "at least 1e-06"),
        ("[buyers]\nneed_rate = { individual = 1e-300, manager = 0.01, director = 0.01, vp = 0.01, c_level = 0.01 }", "0 or at least 1e-09"),
        ("[choice]\nstatus_quo = -1e308", ">= -1e+15"),
        ("[choice]\npreference_weight = 1e308", "<= 1e+15"),
        ("[organic]\nquality_weight = 1000.0", "<= 100"),
        ("[accounts]\ngroup_size = { small = 60.0, mid_market = 2.0, enterprise = 2.0 }", "at most 50"),
        ("[memory]\nhalf_life_weeks = 1e-308", ">= 1e-06"),
        ("[channels.search]\nhalf_saturation = 1e-308", ">= 1e-06"),
        ("[scenario]\nseed = 100000000000000000000", "<= 9223372036854775807"),
    ],
)  # fmt: skip
def test_every_kind_of_number_is_bounded(tmp_path: Path, table: str, fragment: str) -> None:
    err = error_of(write(tmp_path, table + "\n" + VENDOR))
    assert fragment in str(err), str(err)


def test_a_run_at_the_bounds_stays_finite_without_runtime_warnings(baseline) -> None:
    """Every money figure at its bound (1e15) in a market of a billion buyers: spend,
    revenue and ROI stay finite and numpy never warns."""
    sc = baseline.with_changes(
        {
            "buyers.count": 300,
            "weeks": 8,
            "market.buyers": 1_000_000_000,
            "buyers.budget": dict.fromkeys(("individual", "manager", "director", "vp", "c_level"), MAX_NUMBER),
            **{f"vendors.{v.name}.weekly_budget": MAX_NUMBER for v in baseline.vendors},
            **{f"vendors.{v.name}.fixed_costs": MAX_NUMBER for v in baseline.vendors},
            **{f"vendors.{v.name}.referral_reward": MAX_NUMBER for v in baseline.vendors},
            "choice.preference_weight": MAX_NUMBER,
            "choice.referral_weight": MAX_NUMBER,
            "organic.quality_weight": 100.0,
            "organic.review_weight": 100.0,
        }
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vendors = BuyerJourneyModel(sc, seed=3).run().tables()["vendors"]
    for col in ("revenue", "marketing_spend", "roi", "conversions"):
        if col in vendors:
            assert np.isfinite(vendors[col].to_numpy(dtype=float)).all(), col


# ------------------------------------------------------------------ names and messages
def test_a_huge_vendor_name_gives_a_short_line(tmp_path: Path) -> None:
    name = "N" * 100_000
    err = error_of(write(tmp_path, f'[[vendors]]\nname = "{name}"\n'))
    assert len(str(err)) < 400
    assert "(100,000 characters)" in str(err) and "at most 60 characters" in str(err)


@pytest.mark.parametrize(
    "vendor", ["\\u001b[31mRed\\u001b[0m", "Two\\nLines", "Bell\\u0007"]
)  # TOML escapes: the parsed name holds the control character
def test_control_characters_in_names_are_refused_and_shown_escaped(
    tmp_path: Path, vendor: str
) -> None:
    err = error_of(write(tmp_path, f'[[vendors]]\nname = "{vendor}"\n'))
    msg = str(err)
    assert "control characters" in msg
    assert msg.isprintable(), repr(msg)  # no ESC, newline or bell reaches the terminal
    assert "\\x1b" in msg or "\\n" in msg or "\\x07" in msg


def test_a_scenario_name_with_an_escape_is_refused(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, '[scenario]\nname = "x\\u001b]0;pwned\\u0007"\n' + VENDOR))
    assert err.field == "scenario.name" and str(err).isprintable()


def test_an_unknown_key_in_the_scenario_table_is_named_with_its_table(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "[scenario]\nhorizon = 10\n" + VENDOR))
    assert err.field == "scenario.horizon" and "unknown key" in err.problem


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "weeks = 5\n[scenario]\nweeks = 6\n" + VENDOR))
    assert err.field == "scenario.weeks" and "both" in err.problem


def test_printable_and_shown_escape_and_cut() -> None:
    assert printable("a\x1b[31mb\nc") == "a\\x1b[31mb\\nc"
    assert printable("x" * 100, 10) == "xxxxxxx..."
    s = shown("y" * 1000)
    assert len(s) < 90 and s.endswith("(1,000 characters)")
    assert shown("\x1b") == "'\\x1b'"
    long_path = "/" + "d" * 5000 + "/s.toml"
    msg = str(ScenarioError(long_path, "f" * 5000, "p\x1b" * 5000))
    assert len(msg) < 1000 and msg.isprintable() and "s.toml" in msg


def test_many_repeated_vendor_names_are_listed_briefly(tmp_path: Path) -> None:
    body = "".join(
        f'[[vendors]]\nname = "V{i % 2500}"\nweekly_budget = 1.0\nchannel_mix = {{ search = 1.0 }}\n'
        for i in range(5000)
    )
    err = error_of(write(tmp_path, body))
    assert "repeated: 'V0', 'V1', 'V10', 'V100', 'V1000', ..." in str(err)
    assert len(str(err)) < 300  # five of the 2,500 repeated names, not all of them


# ------------------------------------------------------------------ graph files
def graph_scenario(tmp_path: Path, graph: str, count: int = 3, fmt: str = "auto"):
    return scenario_from_dict(
        {
            "buyers": {"count": count},
            "network": {"kind": "file", "path": graph, "format": fmt},
            "vendors": [{"name": "A"}],
        },
        str(tmp_path / "s.toml"),
        tmp_path,
    )


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("g.edgelist", b"", "has no nodes"),
        ("g.edgelist", b"# only a comment\n\n# another\n", "has no nodes"),
        ("g.edgelist", b"\x00\x01\x02binary\xff", "a binary file"),
        ("g.edgelist", b"\xff\xfe a b\n", "not a UTF-8 text edge list"),
        ("g.graphml", b"<graphml><graph><node id='a'", "cannot read as graphml"),
        ("g.graphml", b"a b\nb c\n", "not GraphML"),
        ("g.edgelist", b"alice smith bob jones\n", "line 1: 4 names"),
        ("g.edgelist", b"a b\nlonely\n", "line 2: 1 names"),
    ],
)
def test_bad_graph_files_are_one_line(tmp_path: Path, name, content, fragment) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        check_graph_file(graph_scenario(tmp_path, name))
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert info.value.field == "network.path"


def test_names_with_spaces_are_refused_with_the_way_out(tmp_path: Path) -> None:
    (tmp_path / "g.edgelist").write_text("alice smith bob\n")
    with pytest.raises(ScenarioError, match="write 'alice_smith', or give a GraphML file"):
        read_graph_file(tmp_path / "g.edgelist")


def test_a_graph_with_the_wrong_node_count_is_refused_before_a_run(tmp_path: Path) -> None:
    (tmp_path / "g.edgelist").write_text("a b\nb c\nc d\n")
    with pytest.raises(ScenarioError, match="4 nodes but buyers.count is 3; set buyers.count = 4"):
        check_graph_file(graph_scenario(tmp_path, "g.edgelist"))
    assert check_graph_file(graph_scenario(tmp_path, "g.edgelist", count=4)) == 4


def test_an_unreadable_graph_file_is_one_line(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "g.edgelist"
    p.write_text("a b\n")

    def refuse(*args, **kwargs):  # as chmod 000 does for a user other than root
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr("sim.scenario.reading.os.open", refuse)
    with pytest.raises(ScenarioError, match="permission denied; cannot read this file"):
        check_graph_file(graph_scenario(tmp_path, "g.edgelist"))


def test_graph_files_that_are_devices_pipes_or_too_large_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "g.edgelist"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_graph_file(fifo)
    big = tmp_path / "big.edgelist"
    with open(big, "wb") as f:
        f.truncate(MAX_GRAPH_BYTES + 1)
    with pytest.raises(ScenarioError, match="may be at most 128.0 MB"):
        read_graph_file(big)


# ------------------------------------------------------------------ limits
def test_the_memory_estimate_grows_with_buyers_vendors_and_links(baseline) -> None:
    est = limits.memory_estimate
    small = est(baseline)
    assert 200 * 2**20 < small < 300 * 2**20  # measured ~210 MB for the baseline
    million = est(baseline.with_changes({"buyers.count": 1_000_000}))
    # measured peak of `run.py simulate --buyers 1000000 --out`: 1,888 MB
    assert 1888 * 2**20 < million < 2.3 * 2**30
    assert est(baseline.with_changes({"network.k": 60})) > small
    more_vendors = baseline.with_changes(
        {
            "vendors": [
                dict(v.model_dump(), name=f"V{i}", installed_base=0.0)
                for i, v in enumerate(baseline.vendors * 10)
            ]
        }
    )
    assert est(more_vendors) > small


def test_check_memory_refuses_with_need_and_available(baseline, monkeypatch) -> None:
    monkeypatch.setenv("BJS_MAX_MEMORY", "1G")
    big = baseline.with_changes({"buyers.count": 5_000_000})
    with pytest.raises(ScenarioError) as info:
        limits.check_memory(big)
    msg = str(info.value)
    assert "5,000,000 buyers and 4 vendors needs about" in msg
    assert "1.0 GB is allowed by BJS_MAX_MEMORY" in msg and "lower buyers.count to about" in msg
    limits.check_memory(baseline)  # the baseline fits in 1 GB
    with pytest.raises(ScenarioError, match="x 8 runs at once"):
        limits.check_memory(baseline.with_changes({"buyers.count": 300_000}), runs_at_once=8)
    monkeypatch.setenv("BJS_MAX_MEMORY", "lots")
    with pytest.raises(ScenarioError, match="BJS_MAX_MEMORY: must be a size like 4G"):
        limits.check_memory(baseline)


def test_available_memory_reads_meminfo(monkeypatch) -> None:
    monkeypatch.delenv("BJS_MAX_MEMORY", raising=False)
    have = limits.available_memory()
    if not Path("/proc/meminfo").exists():
        assert have is None
        return
    assert have is not None and have[0] > 0 and have[1] == "available"
    assert limits.parse_size("512M") == 512 * 2**20 and limits.parse_size("x") is None


def test_runs_are_counted_before_anything_is_built() -> None:
    limits.check_runs("f", "sweep", 1000, 1000)  # a million is allowed
    with pytest.raises(ScenarioError, match=r"1,000,000,000,000 runs \(1,000,000,000,000 variants"):
        limits.check_runs("f", "sweep", 10**12, 1)


def test_replications_are_counted_before_any_seed_is_made(monkeypatch) -> None:
    from analysis.engine import design

    def no_seed(*_args):
        raise AssertionError("a seed was made before the replications were counted")

    monkeypatch.setattr(design, "replication_seed", no_seed)
    with pytest.raises(ScenarioError, match="1,000,000,000 runs"):
        design.replication_seeds(1, 10**9)


def test_workers_are_capped_at_a_multiple_of_the_cores() -> None:
    import argparse

    from analysis.cli.options import add_execution
    from analysis.engine.executors import default_workers

    parser = argparse.ArgumentParser()
    add_execution(parser, default=None)
    cap = limits.max_workers()
    assert cap == limits.WORKERS_PER_CORE * default_workers()
    assert parser.parse_args(["--workers", str(cap)]).workers == cap
    action = next(a for a in parser._actions if a.dest == "workers")
    with pytest.raises(argparse.ArgumentTypeError, match=f"must be 1-{cap}, found 1000000"):
        action.type("1000000")
